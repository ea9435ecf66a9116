/** Injection token of the resolved {@link SteadyCoreModuleOptions}. @publicApi */
export const STEADY_CORE_OPTIONS = 'STEADY:CORE:MODULE_OPTIONS';

/** Route metadata key set by {@link OpsEndpoint}. @publicApi */
export const STEADY_OPS_ENDPOINT = 'STEADY:OPS_ENDPOINT';

export const CORE_MODULE_NAME = '@steady/core';
