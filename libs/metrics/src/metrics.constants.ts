/** Injection token of the resolved {@link MetricsModuleOptions}. @publicApi */
export const STEADY_METRICS_OPTIONS = 'STEADY:METRICS:MODULE_OPTIONS';

/** Prefix of every metric a Steady library registers. @publicApi */
export const STEADY_METRIC_PREFIX = 'steady_';

export const METRICS_MODULE_NAME = '@steady/metrics';
export const DEFAULT_METRICS_PATH = '/metrics';
