import { Module, type DynamicModule } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { HealthIndicatorService } from '@nestjs/terminus';
import { STEADY_LOAD_SHEDDING_OPTIONS } from './load-shedding.constants';
import {
  LOAD_SHEDDING_OPTIONS_TYPE,
  LoadSheddingConfigurableModule,
  STEADY_LOAD_SHEDDING_RAW_OPTIONS,
} from './load-shedding-module-definition';
import type { LoadSheddingModuleOptions } from './load-shedding-options.interface';
import { resolveLoadSheddingOptions } from './load-shedding-options.validation';
import { LoadSheddingHealthIndicator } from './load-shedding.health';
import { LoadSheddingService } from './load-shedding.service';
import { ShedAdmissionHook } from './shed-admission.hook';
import { ShedRouteRegistry } from './shed-route.registry';
import { ShedSignal } from './shed-signal.interface';
import { ShedGuard } from './shed.guard';

/**
 * Sheds load on utilisation — in-flight vs a limit, the event loop, the heap, your own signals — so a slow
 * downstream never cascades. Needs `SteadyCoreModule` (the signal). Global by default.
 *
 * @example
 * @Module({
 *   imports: [
 *     SteadyCoreModule.forRoot(),
 *     LoadSheddingModule.forRoot({ maxInFlight: 60 }),
 *   ],
 * })
 * export class AppModule {}
 *
 * @publicApi
 */
@Module({
  imports: [DiscoveryModule],
  providers: [
    {
      provide: STEADY_LOAD_SHEDDING_OPTIONS,
      useFactory: (raw?: LoadSheddingModuleOptions, injected?: ShedSignal | ShedSignal[]) =>
        resolveLoadSheddingOptions(raw ?? {}, injected === undefined ? [] : [injected].flat()),
      inject: [
        { token: STEADY_LOAD_SHEDDING_RAW_OPTIONS, optional: true },
        { token: ShedSignal, optional: true },
      ],
    },
    LoadSheddingService,
    ShedRouteRegistry,
    ShedAdmissionHook,
    ShedGuard,
    HealthIndicatorService,
    LoadSheddingHealthIndicator,
  ],
  exports: [
    STEADY_LOAD_SHEDDING_OPTIONS,
    LoadSheddingService,
    ShedGuard,
    LoadSheddingHealthIndicator,
  ],
})
export class LoadSheddingModule extends LoadSheddingConfigurableModule {
  /** Every option has a default, so `forRoot()` is enough. */
  static override forRoot(options: typeof LOAD_SHEDDING_OPTIONS_TYPE = {}): DynamicModule {
    return super.forRoot(options);
  }
}
