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
export { ExplainModule } from './explain.module';
export { EXPLAIN_OPTIONS_TYPE, EXPLAIN_ASYNC_OPTIONS_TYPE } from './explain-module-definition';
export { ExplainService } from './explain.service';
export { ExplainController, prefersHtml } from './explain.controller';
export { STEADY_EXPLAIN_OPTIONS, DEFAULT_EXPLAIN_PATH } from './explain.constants';
export { resolveExplainOptions } from './explain-options.validation';
export type {
  ExplainModuleOptions,
  ExplainModuleExtras,
  ResolvedExplainOptions,
} from './explain-options.interface';
export {
  explain,
  explainContext,
  EXPLAIN_RULES,
  EXPLAIN_METRICS,
  DEFAULT_EXPLAIN_THRESHOLDS,
  slowDownstreamRule,
  cpuBoundRule,
  cpuStarvedRule,
  poolSaturationRule,
  volumeSpikeRule,
  largePayloadRule,
  sheddingRule,
  drainingRule,
  memoryRule,
  wsSlowConsumersRule,
  cacheHitRatioRule,
  scaleUpAdvisorRule,
  type ExplainRule,
  type ExplainContext,
  type ExplainThresholds,
  type ExplainDownstream,
} from './explain.rules';
export type {
  ExplainReport,
  ExplainFinding,
  FindingStatus,
  FindingSeverity,
} from './explain-report.interface';
export type {
  ExplainSnapshot,
  CoreWindowStats,
  MetricFamily,
  ValueSeries,
  HistogramSeries,
  SeriesLabels,
} from './explain-snapshot.interface';
export { readSteadyMetrics } from './explain-registry.reader';
export { renderExplainHtml } from './explain.html';
export {
  HttpMetricsInterceptor,
  REQUEST_DURATION_BUCKETS,
  REQUEST_SIZE_BUCKETS,
} from './http-metrics.interceptor';
