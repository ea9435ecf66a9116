import {
  Inject,
  Module,
  type DynamicModule,
  Optional,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { STEADY_CORE_OPTIONS } from './core.constants';
import {
  SteadyCoreConfigurableModule,
  STEADY_CORE_OPTIONS_TYPE,
  STEADY_CORE_RAW_OPTIONS,
} from './core-module-definition';
import type { ResolvedSteadyCoreOptions, SteadyCoreModuleOptions } from './core-options.interface';
import { resolveCoreOptions } from './core-options.validation';
import { InFlightTracker } from './in-flight.tracker';
import { UtilisationMonitor } from './utilisation.monitor';

/**
 * The one utilisation signal: an {@link InFlightTracker} attached to the HTTP server and a
 * {@link UtilisationMonitor} on one timer. Import it once, in the root module; it is global, so every Steady
 * library (and the app) injects the same tracker and monitor.
 *
 * @example
 * @Module({ imports: [SteadyCoreModule.forRoot({ sampleIntervalMs: 100 })] })
 * export class AppModule {}
 *
 * @publicApi
 */
@Module({
  providers: [
    {
      provide: STEADY_CORE_OPTIONS,
      useFactory: (raw?: SteadyCoreModuleOptions) => resolveCoreOptions(raw ?? {}),
      inject: [{ token: STEADY_CORE_RAW_OPTIONS, optional: true }],
    },
    InFlightTracker,
    UtilisationMonitor,
  ],
  exports: [STEADY_CORE_OPTIONS, InFlightTracker, UtilisationMonitor],
})
export class SteadyCoreModule
  extends SteadyCoreConfigurableModule
  implements OnModuleInit, OnApplicationShutdown
{
  /** Registers the core signal; every option has a default, so `forRoot()` is enough. */
  static override forRoot(options: typeof STEADY_CORE_OPTIONS_TYPE = {}): DynamicModule {
    return super.forRoot(options);
  }

  constructor(
    @Inject(STEADY_CORE_OPTIONS) private readonly options: ResolvedSteadyCoreOptions,
    private readonly tracker: InFlightTracker,
    @Optional() private readonly adapterHost?: HttpAdapterHost,
  ) {
    super();
  }

  onModuleInit(): void {
    if (!this.options.autoAttach) return;
    const server: unknown = this.adapterHost?.httpAdapter?.getHttpServer();
    if (server && typeof (server as { listeners?: unknown }).listeners === 'function') {
      this.tracker.attach(server as Parameters<InFlightTracker['attach']>[0]);
    }
  }

  onApplicationShutdown(): void {
    this.tracker.detachAll();
  }
}
