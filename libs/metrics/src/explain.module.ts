import { Module, type DynamicModule } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { STEADY_EXPLAIN_OPTIONS } from './explain.constants';
import {
  EXPLAIN_OPTIONS_TYPE,
  ExplainConfigurableModule,
  STEADY_EXPLAIN_RAW_OPTIONS,
} from './explain-module-definition';
import type { ExplainModuleOptions } from './explain-options.interface';
import { resolveExplainOptions } from './explain-options.validation';
import { ExplainService } from './explain.service';
import { HttpMetricsInterceptor } from './http-metrics.interceptor';

/**
 * The on-call view: `GET /ops/explain` reads the live signals of every Steady module present and says in plain
 * words what is going on (JSON, or a small HTML page for browsers), with the numbers behind each statement and
 * a scale-up advisor. Also records per-route latency and request-size histograms. Needs `MetricsModule`; reads
 * `SteadyCoreModule`'s samples when it is imported.
 *
 * @example
 * @Module({
 *   imports: [
 *     SteadyCoreModule.forRoot(),
 *     MetricsModule.forRoot(),
 *     ExplainModule.forRoot({ downstreams: [{ name: 'spam scanner', metric: 'steady_sample_spam_scan_duration_seconds' }] }),
 *   ],
 * })
 * export class AppModule {}
 *
 * @publicApi
 */
@Module({
  providers: [
    {
      provide: STEADY_EXPLAIN_OPTIONS,
      useFactory: (raw?: ExplainModuleOptions) => resolveExplainOptions(raw ?? {}),
      inject: [{ token: STEADY_EXPLAIN_RAW_OPTIONS, optional: true }],
    },
    ExplainService,
    HttpMetricsInterceptor,
    { provide: APP_INTERCEPTOR, useExisting: HttpMetricsInterceptor },
  ],
  exports: [STEADY_EXPLAIN_OPTIONS, ExplainService],
})
export class ExplainModule extends ExplainConfigurableModule {
  /** Every option has a default, so `forRoot()` is enough. */
  static override forRoot(options: typeof EXPLAIN_OPTIONS_TYPE = {}): DynamicModule {
    return super.forRoot(options);
  }
}
