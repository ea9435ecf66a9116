import { ConfigurableModuleBuilder } from '@nestjs/common';
import { createExplainController } from './explain.controller';
import { DEFAULT_EXPLAIN_PATH } from './explain.constants';
import type { ExplainModuleExtras, ExplainModuleOptions } from './explain-options.interface';
import { resolveExplainPath } from './explain-options.validation';

export const {
  ConfigurableModuleClass: ExplainConfigurableModule,
  MODULE_OPTIONS_TOKEN: STEADY_EXPLAIN_RAW_OPTIONS,
  OPTIONS_TYPE: EXPLAIN_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: EXPLAIN_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<ExplainModuleOptions>({
  optionsInjectionToken: 'STEADY:EXPLAIN:RAW_OPTIONS',
})
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createExplainOptions')
  .setExtras<ExplainModuleExtras>({ path: DEFAULT_EXPLAIN_PATH }, (definition, extras) => {
    const path = resolveExplainPath(extras.path);
    return { ...definition, controllers: path === false ? [] : [createExplainController(path)] };
  })
  .build();
