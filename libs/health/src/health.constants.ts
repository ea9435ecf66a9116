/** Injection token of the resolved {@link HealthModuleOptions}. @publicApi */
export const STEADY_HEALTH_OPTIONS = 'STEADY:HEALTH:MODULE_OPTIONS';
/** Injection token of the resolved endpoint paths (the module-definition extras). */
export const STEADY_HEALTH_PATHS = 'STEADY:HEALTH:PATHS';

export const HEALTH_MODULE_NAME = '@steady/health';

export const DEFAULT_READINESS_PATH = '/health/ready';
export const DEFAULT_LIVENESS_PATH = '/health/live';

/** The drain states, in order. A drain only ever moves forward. @publicApi */
export const DRAIN_STATES = ['serving', 'draining', 'closing', 'exited'] as const;

/** What can start a drain (the `source` label of `steady_drain_triggers_total`). @publicApi */
export const DRAIN_SOURCES = ['signal', 'api', 'admin', 'app_close'] as const;
