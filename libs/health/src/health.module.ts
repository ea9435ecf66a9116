import { Module, type DynamicModule } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { DrainHealthIndicator } from './drain.health';
import { DrainService } from './drain.service';
import { HaproxyAgentServer } from './haproxy-agent.server';
import { HealthCheckRegistry } from './health-check.registry';
import { STEADY_HEALTH_OPTIONS, STEADY_HEALTH_PATHS } from './health.constants';
import {
  HEALTH_OPTIONS_TYPE,
  HealthConfigurableModule,
  STEADY_HEALTH_RAW_OPTIONS,
} from './health-module-definition';
import type { HealthModuleOptions, ResolvedHealthPaths } from './health-options.interface';
import { resolveHealthOptions } from './health-options.validation';

/**
 * Readiness and liveness endpoints on `@nestjs/terminus`, and a drain that takes the instance out of the load
 * balancer without losing a request. Needs `SteadyCoreModule` (the in-flight count the drain waits for). Global by
 * default, so any module (the OOM guard, your code) can inject {@link DrainService}.
 *
 * @example
 * @Module({
 *   imports: [
 *     SteadyCoreModule.forRoot(),
 *     HealthModule.forRoot({ lb: { fall: 2, intervalMs: 1000 } }),
 *   ],
 * })
 * export class AppModule {}
 *
 * // main.ts: drain on SIGTERM/SIGINT instead of app.enableShutdownHooks()
 * enableDrainHooks(app);
 *
 * @publicApi
 */
@Module({
  // Terminus logs every failed check as an error; during a drain that is expected, so the readiness
  // endpoint and the drain log instead (on changes only).
  imports: [TerminusModule.forRoot({ logger: false })],
  providers: [
    {
      provide: STEADY_HEALTH_OPTIONS,
      useFactory: (raw: HealthModuleOptions | undefined, paths: ResolvedHealthPaths) =>
        resolveHealthOptions(raw ?? {}, paths),
      inject: [{ token: STEADY_HEALTH_RAW_OPTIONS, optional: true }, STEADY_HEALTH_PATHS],
    },
    DrainService,
    DrainHealthIndicator,
    HealthCheckRegistry,
    HaproxyAgentServer,
  ],
  exports: [
    STEADY_HEALTH_OPTIONS,
    DrainService,
    DrainHealthIndicator,
    HealthCheckRegistry,
    HaproxyAgentServer,
  ],
})
export class HealthModule extends HealthConfigurableModule {
  /** Every option has a default, so `forRoot()` is enough. */
  static override forRoot(options: typeof HEALTH_OPTIONS_TYPE = {}): DynamicModule {
    return super.forRoot(options);
  }
}
