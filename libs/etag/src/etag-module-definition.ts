import { ConfigurableModuleBuilder } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import type { EtagModuleExtras, EtagModuleOptions } from './etag-options.interface';
import { EtagInterceptor } from './etag.interceptor';

export const {
  ConfigurableModuleClass: EtagConfigurableModule,
  MODULE_OPTIONS_TOKEN: STEADY_ETAG_RAW_OPTIONS,
  OPTIONS_TYPE: ETAG_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: ETAG_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<EtagModuleOptions>({
  optionsInjectionToken: 'STEADY:ETAG:RAW_OPTIONS',
})
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createEtagOptions')
  .setExtras<EtagModuleExtras>({ isGlobal: true, global: true }, (definition, extras) => ({
    ...definition,
    global: extras.isGlobal,
    providers: [
      ...(definition.providers ?? []),
      ...(extras.global === false
        ? []
        : [{ provide: APP_INTERCEPTOR, useExisting: EtagInterceptor }]),
    ],
  }))
  .build();
