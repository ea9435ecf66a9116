import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { WsBackpressureModuleOptions } from './ws-backpressure-options.interface';

export const {
  ConfigurableModuleClass: WsBackpressureConfigurableModule,
  MODULE_OPTIONS_TOKEN: STEADY_WS_BACKPRESSURE_RAW_OPTIONS,
  OPTIONS_TYPE: WS_BACKPRESSURE_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: WS_BACKPRESSURE_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<WsBackpressureModuleOptions>({
  optionsInjectionToken: 'STEADY:WS_BACKPRESSURE:RAW_OPTIONS',
})
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createWsBackpressureOptions')
  .setExtras({ isGlobal: true }, (definition, extras) => ({
    ...definition,
    global: extras.isGlobal,
  }))
  .build();
