import { ConfigurableModuleBuilder } from '@nestjs/common';
import { createMetricsController } from './metrics.controller';
import { DEFAULT_METRICS_PATH } from './metrics.constants';
import type { MetricsModuleExtras, MetricsModuleOptions } from './metrics-options.interface';
import { resolveMetricsPath } from './metrics-options.validation';

export const {
  ConfigurableModuleClass: MetricsConfigurableModule,
  MODULE_OPTIONS_TOKEN: STEADY_METRICS_RAW_OPTIONS,
  OPTIONS_TYPE: METRICS_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: METRICS_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<MetricsModuleOptions>({
  optionsInjectionToken: 'STEADY:METRICS:RAW_OPTIONS',
})
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createMetricsOptions')
  .setExtras<MetricsModuleExtras>(
    { isGlobal: true, path: DEFAULT_METRICS_PATH },
    (definition, extras) => {
      const path = resolveMetricsPath(extras.path);
      return {
        ...definition,
        global: extras.isGlobal,
        controllers: path === false ? [] : [createMetricsController(path)],
      };
    },
  )
  .build();
