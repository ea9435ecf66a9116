import { Module, type DynamicModule } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { DefaultOverflowPolicy } from './default-overflow.policy';
import { OverflowPolicy } from './overflow-policy.interface';
import { STEADY_WS_BACKPRESSURE_OPTIONS } from './ws-backpressure.constants';
import {
  STEADY_WS_BACKPRESSURE_RAW_OPTIONS,
  WS_BACKPRESSURE_OPTIONS_TYPE,
  WsBackpressureConfigurableModule,
} from './ws-backpressure-module-definition';
import type {
  ResolvedWsBackpressureOptions,
  WsBackpressureModuleOptions,
} from './ws-backpressure-options.interface';
import { resolveWsBackpressureOptions } from './ws-backpressure-options.validation';
import { WsBackpressureHealthIndicator } from './ws-backpressure.health';
import { WsBackpressureService } from './ws-backpressure.service';

/**
 * Water marks, overflow policies and eviction for every WebSocket client, so no slow client grows a buffer
 * without bound. Global by default. Pair it with the adapter:
 *
 * @example
 * @Module({ imports: [WsBackpressureModule.forRoot({ highWaterMark: 1024 * 1024 })] })
 * export class AppModule {}
 *
 * const app = await NestFactory.create(AppModule);
 * app.useWebSocketAdapter(new BackpressuredWsAdapter(app));
 *
 * @publicApi
 */
@Module({
  providers: [
    {
      provide: STEADY_WS_BACKPRESSURE_OPTIONS,
      useFactory: (raw?: WsBackpressureModuleOptions) => resolveWsBackpressureOptions(raw ?? {}),
      inject: [{ token: STEADY_WS_BACKPRESSURE_RAW_OPTIONS, optional: true }],
    },
    {
      provide: OverflowPolicy,
      useFactory: (options: ResolvedWsBackpressureOptions) =>
        options.overflowPolicy ?? new DefaultOverflowPolicy(),
      inject: [STEADY_WS_BACKPRESSURE_OPTIONS],
    },
    WsBackpressureService,
    HealthIndicatorService,
    WsBackpressureHealthIndicator,
  ],
  exports: [
    STEADY_WS_BACKPRESSURE_OPTIONS,
    OverflowPolicy,
    WsBackpressureService,
    WsBackpressureHealthIndicator,
  ],
})
export class WsBackpressureModule extends WsBackpressureConfigurableModule {
  /** Every option has a default, so `forRoot()` is enough. */
  static override forRoot(options: typeof WS_BACKPRESSURE_OPTIONS_TYPE = {}): DynamicModule {
    return super.forRoot(options);
  }
}
