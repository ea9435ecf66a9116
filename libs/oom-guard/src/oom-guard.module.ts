import { Module, type DynamicModule } from '@nestjs/common';
import { STEADY_OOM_GUARD_OPTIONS } from './oom-guard.constants';
import {
  OOM_GUARD_OPTIONS_TYPE,
  OomGuardConfigurableModule,
  STEADY_OOM_GUARD_RAW_OPTIONS,
} from './oom-guard-module-definition';
import type { OomGuardModuleOptions, ResolvedOomGuardOptions } from './oom-guard-options.interface';
import { MemoryReader } from './memory.reader';
import { resolveOomGuardOptions } from './oom-guard-options.validation';
import { OomGuardService } from './oom-guard.service';

/**
 * Leaves the load balancer, keeps the evidence and restarts before memory runs out. Needs `SteadyCoreModule` (the
 * monitor it samples on) and, to leave the load balancer first, `HealthModule` (the drain). Global by default.
 *
 * @example
 * @Module({
 *   imports: [
 *     SteadyCoreModule.forRoot(),
 *     HealthModule.forRoot({ lb: { fall: 3, intervalMs: 2000 } }),
 *     OomGuardModule.forRoot({ directory: '/var/lib/app/oom' }),
 *   ],
 * })
 * export class AppModule {}
 *
 * // main.ts: enableDrainHooks(app) so the drain can hand over to Nest's shutdown
 *
 * @publicApi
 */
@Module({
  providers: [
    {
      provide: STEADY_OOM_GUARD_OPTIONS,
      useFactory: (raw?: OomGuardModuleOptions) => resolveOomGuardOptions(raw ?? {}),
      inject: [{ token: STEADY_OOM_GUARD_RAW_OPTIONS, optional: true }],
    },
    {
      provide: MemoryReader,
      useFactory: (options: ResolvedOomGuardOptions) => new MemoryReader(options),
      inject: [STEADY_OOM_GUARD_OPTIONS],
    },
    OomGuardService,
  ],
  exports: [STEADY_OOM_GUARD_OPTIONS, OomGuardService, MemoryReader],
})
export class OomGuardModule extends OomGuardConfigurableModule {
  /** Every option has a default, so `forRoot()` is enough. */
  static override forRoot(options: typeof OOM_GUARD_OPTIONS_TYPE = {}): DynamicModule {
    return super.forRoot(options);
  }
}
