/** Injection token of the resolved {@link LoadSheddingModuleOptions}. @publicApi */
export const STEADY_LOAD_SHEDDING_OPTIONS = 'STEADY:LOAD_SHEDDING:MODULE_OPTIONS';
/** Route metadata set by `@Shed()`. */
export const STEADY_SHED_ROUTE = 'STEADY:LOAD_SHEDDING:ROUTE';
/** Route metadata set by `@SkipShed()`. */
export const STEADY_SKIP_SHED = 'STEADY:LOAD_SHEDDING:SKIP';

export const LOAD_SHEDDING_MODULE_NAME = '@steady/load-shedding';

/** Criticality classes, most important first. Critical traffic is shed last. @publicApi */
export const PRIORITIES = ['critical', 'normal', 'sheddable'] as const;
