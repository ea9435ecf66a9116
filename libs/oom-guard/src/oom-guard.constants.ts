/** Injection token of the resolved {@link OomGuardModuleOptions}. @publicApi */
export const STEADY_OOM_GUARD_OPTIONS = 'STEADY:OOM_GUARD:MODULE_OPTIONS';

export const OOM_GUARD_MODULE_NAME = '@steady/oom-guard';

/** Default exit code after a memory drain (BSD `EX_SOFTWARE`): distinct from V8's 134 and the kernel's 137. @publicApi */
export const DEFAULT_OOM_EXIT_CODE = 70;

/** What is compared with a threshold. @publicApi */
export const MEMORY_KINDS = ['old_gen', 'cgroup'] as const;

/** Levels, in order: `ok` (0), `warning` (1), `action` (2). @publicApi */
export const OOM_LEVELS = ['ok', 'warning', 'action'] as const;

/** V8's young-generation reserve on 64-bit Node 20 (3 × the 16 MiB max semi-space), included in `heap_size_limit`. */
export const DEFAULT_YOUNG_GENERATION_RESERVE_BYTES = 48 * 1024 * 1024;

/** Steps of the action, in order (the `step` label of `steady_oom_step_duration_seconds`). @publicApi */
export const OOM_STEPS = ['drain', 'snapshot', 'report', 'last_words'] as const;
