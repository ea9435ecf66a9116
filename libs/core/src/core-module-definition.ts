import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { SteadyCoreModuleOptions } from './core-options.interface';

export const {
  ConfigurableModuleClass: SteadyCoreConfigurableModule,
  MODULE_OPTIONS_TOKEN: STEADY_CORE_RAW_OPTIONS,
  OPTIONS_TYPE: STEADY_CORE_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: STEADY_CORE_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<SteadyCoreModuleOptions>({
  optionsInjectionToken: 'STEADY:CORE:RAW_OPTIONS',
})
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createSteadyCoreOptions')
  .setExtras({ isGlobal: true }, (definition, extras) => ({
    ...definition,
    global: extras.isGlobal,
  }))
  .build();
