export { HealthModule } from './health.module';
export { HEALTH_OPTIONS_TYPE, HEALTH_ASYNC_OPTIONS_TYPE } from './health-module-definition';
export { DrainService } from './drain.service';
export { DrainHealthIndicator } from './drain.health';
export { HealthCheckRegistry } from './health-check.registry';
export { HaproxyAgentServer } from './haproxy-agent.server';
export { enableDrainHooks, type DrainHooksOptions } from './enable-drain-hooks';
export { ReadinessController } from './readiness.controller';
export { LivenessController } from './liveness.controller';
export { DrainAdminController, type DrainAdminResponse } from './drain-admin.controller';
export { resolveHealthOptions, resolveHealthPaths } from './health-options.validation';
export {
  STEADY_HEALTH_OPTIONS,
  DRAIN_STATES,
  DRAIN_SOURCES,
  DEFAULT_READINESS_PATH,
  DEFAULT_LIVENESS_PATH,
} from './health.constants';
export type {
  DrainState,
  DrainSource,
  DrainRequest,
  DrainTrigger,
  DrainStatus,
  DrainPhase,
  DrainedHook,
  DrainableApplication,
} from './drain-state.interface';
export type {
  HealthModuleOptions,
  HealthModuleExtras,
  LoadBalancerOptions,
  AgentCheckOptions,
  DrainAdminOptions,
  ResolvedHealthOptions,
  ResolvedHealthPaths,
} from './health-options.interface';
