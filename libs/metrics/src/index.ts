export { MetricsModule } from './metrics.module';
export { METRICS_OPTIONS_TYPE, METRICS_ASYNC_OPTIONS_TYPE } from './metrics-module-definition';
export { MetricsService } from './metrics.service';
export { MetricsController } from './metrics.controller';
export { CoreMetricsCollector } from './core-metrics.collector';
export { STEADY_METRICS_OPTIONS, STEADY_METRIC_PREFIX } from './metrics.constants';
export type {
  MetricsModuleOptions,
  MetricsModuleExtras,
  ResolvedMetricsOptions,
} from './metrics-options.interface';
export { steadyMetricName, type MetricKind } from './metric-name.validation';
