import { Module, type DynamicModule } from '@nestjs/common';
import { MetricsSink } from '@steady/core';
import { CoreMetricsCollector } from './core-metrics.collector';
import { STEADY_METRICS_OPTIONS } from './metrics.constants';
import {
  METRICS_OPTIONS_TYPE,
  MetricsConfigurableModule,
  STEADY_METRICS_RAW_OPTIONS,
} from './metrics-module-definition';
import type { MetricsModuleOptions } from './metrics-options.interface';
import { resolveMetricsOptions } from './metrics-options.validation';
import { MetricsService } from './metrics.service';

/**
 * Prometheus metrics for the app and every Steady library: one prom-client `Registry`, served at `GET /metrics`
 * (configurable) on Express and Fastify, Node's default metrics, the `@steady/core` signal, and the
 * {@link MetricsSink} through which the other libraries register `steady_*` metrics. Global by default.
 *
 * @example
 * @Module({
 *   imports: [
 *     SteadyCoreModule.forRoot(),
 *     MetricsModule.forRoot({ defaultLabels: { service: 'mail' } }),
 *   ],
 * })
 * export class AppModule {}
 *
 * @publicApi
 */
@Module({
  providers: [
    {
      provide: STEADY_METRICS_OPTIONS,
      useFactory: (raw?: MetricsModuleOptions) => resolveMetricsOptions(raw ?? {}),
      inject: [{ token: STEADY_METRICS_RAW_OPTIONS, optional: true }],
    },
    MetricsService,
    { provide: MetricsSink, useExisting: MetricsService },
    CoreMetricsCollector,
  ],
  exports: [STEADY_METRICS_OPTIONS, MetricsService, MetricsSink],
})
export class MetricsModule extends MetricsConfigurableModule {
  /** Every option has a default, so `forRoot()` is enough. */
  static override forRoot(options: typeof METRICS_OPTIONS_TYPE = {}): DynamicModule {
    return super.forRoot(options);
  }
}
