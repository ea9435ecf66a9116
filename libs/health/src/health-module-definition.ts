import { ConfigurableModuleBuilder, type Type } from '@nestjs/common';
import { createDrainAdminController } from './drain-admin.controller';
import {
  DEFAULT_LIVENESS_PATH,
  DEFAULT_READINESS_PATH,
  STEADY_HEALTH_PATHS,
} from './health.constants';
import type { HealthModuleExtras, HealthModuleOptions } from './health-options.interface';
import { resolveHealthPaths } from './health-options.validation';
import { createLivenessController } from './liveness.controller';
import { createReadinessController } from './readiness.controller';

export const {
  ConfigurableModuleClass: HealthConfigurableModule,
  MODULE_OPTIONS_TOKEN: STEADY_HEALTH_RAW_OPTIONS,
  OPTIONS_TYPE: HEALTH_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: HEALTH_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<HealthModuleOptions>({
  optionsInjectionToken: 'STEADY:HEALTH:RAW_OPTIONS',
})
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createHealthOptions')
  .setExtras<HealthModuleExtras>(
    {
      isGlobal: true,
      readinessPath: DEFAULT_READINESS_PATH,
      livenessPath: DEFAULT_LIVENESS_PATH,
      adminPath: false,
    },
    (definition, extras) => {
      const paths = resolveHealthPaths(extras);
      const controllers: Type<unknown>[] = [];
      if (paths.readinessPath !== false)
        controllers.push(createReadinessController(paths.readinessPath));
      if (paths.livenessPath !== false)
        controllers.push(createLivenessController(paths.livenessPath));
      if (paths.adminPath !== false) controllers.push(createDrainAdminController(paths.adminPath));
      return {
        ...definition,
        global: extras.isGlobal,
        controllers: [...(definition.controllers ?? []), ...controllers],
        providers: [
          ...(definition.providers ?? []),
          { provide: STEADY_HEALTH_PATHS, useValue: paths },
        ],
      };
    },
  )
  .build();
