export { OomGuardModule } from './oom-guard.module';
export {
  OOM_GUARD_OPTIONS_TYPE,
  OOM_GUARD_ASYNC_OPTIONS_TYPE,
} from './oom-guard-module-definition';
export { OomGuardService, type OomGuardStatus, type OomCause } from './oom-guard.service';
export { MemoryReader } from './memory.reader';
export { MemoryTrigger, type OomLevelChange } from './memory-trigger';
export { readCgroupMemory, type CgroupMemory } from './cgroup-memory';
export {
  snapshotDecision,
  snapshotHeadroom,
  writeSnapshotAtomically,
  writeRedactedReport,
  redactReport,
  type SnapshotOutcome,
} from './oom-evidence';
export { resolveOomGuardOptions } from './oom-guard-options.validation';
export {
  STEADY_OOM_GUARD_OPTIONS,
  DEFAULT_OOM_EXIT_CODE,
  MEMORY_KINDS,
  OOM_LEVELS,
  OOM_STEPS,
} from './oom-guard.constants';
export type {
  OomGuardModuleOptions,
  OomThresholds,
  OomSnapshotOptions,
  OomFallbackOptions,
  OomLastWords,
  MemoryKind,
  MemoryReading,
  OomLevel,
  OomStep,
  ResolvedOomGuardOptions,
} from './oom-guard-options.interface';
