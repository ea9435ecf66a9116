import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { LoadSheddingModuleOptions } from './load-shedding-options.interface';

export const {
  ConfigurableModuleClass: LoadSheddingConfigurableModule,
  MODULE_OPTIONS_TOKEN: STEADY_LOAD_SHEDDING_RAW_OPTIONS,
  OPTIONS_TYPE: LOAD_SHEDDING_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: LOAD_SHEDDING_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<LoadSheddingModuleOptions>({
  optionsInjectionToken: 'STEADY:LOAD_SHEDDING:RAW_OPTIONS',
})
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createLoadSheddingOptions')
  .setExtras({ isGlobal: true }, (definition, extras) => ({
    ...definition,
    global: extras.isGlobal,
  }))
  .build();
