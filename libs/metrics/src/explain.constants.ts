/** Injection token of the resolved {@link ExplainModuleOptions}. @publicApi */
export const STEADY_EXPLAIN_OPTIONS = 'STEADY:EXPLAIN:MODULE_OPTIONS';
export const EXPLAIN_MODULE_NAME = '@steady/metrics (explain)';
export const DEFAULT_EXPLAIN_PATH = '/ops/explain';
