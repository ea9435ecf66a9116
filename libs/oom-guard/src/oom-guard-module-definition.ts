import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { OomGuardModuleOptions } from './oom-guard-options.interface';

export const {
  ConfigurableModuleClass: OomGuardConfigurableModule,
  MODULE_OPTIONS_TOKEN: STEADY_OOM_GUARD_RAW_OPTIONS,
  OPTIONS_TYPE: OOM_GUARD_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: OOM_GUARD_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<OomGuardModuleOptions>({
  optionsInjectionToken: 'STEADY:OOM_GUARD:RAW_OPTIONS',
})
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createOomGuardOptions')
  .setExtras({ isGlobal: true }, (definition, extras) => ({
    ...definition,
    global: extras.isGlobal,
  }))
  .build();
