import type { MEMORY_KINDS, OOM_LEVELS, OOM_STEPS } from './oom-guard.constants';

/** `old_gen`: V8 old generation vs its real limit; `cgroup`: RSS vs the container memory limit. @publicApi */
export type MemoryKind = (typeof MEMORY_KINDS)[number];
/** @publicApi */
export type OomLevel = (typeof OOM_LEVELS)[number];
/** @publicApi */
export type OomStep = (typeof OOM_STEPS)[number];

/** Thresholds of one kind, as ratios in (0, 1); `warning < action < critical`. @publicApi */
export interface OomThresholds {
  warning?: number;
  action?: number;
  /**
   * During the action: memory still climbing to this level (the balancer has not taken the instance out, traffic
   * reaches it directly) cuts the drain short — no snapshot, the report, exit — an exit 70 with evidence instead of a
   * 134 without. Judged on every reading (GC and monitor). Default `action + (1 − action) / 2` (0.85 / 0.90).
   */
  critical?: number;
}

/** Heap snapshot before exit. @publicApi */
export interface OomSnapshotOptions {
  /** Take a snapshot (when headroom and time allow). Default `true`. */
  enabled?: boolean;
  /**
   * Write it only if the memory left (`process.availableMemory()`, else cgroup limit − RSS, else free memory) is at
   * least `headroomFactor × heap used`: a snapshot costs several times the heap in native memory. Default `6`; 1..100.
   */
  headroomFactor?: number;
  /**
   * Expected snapshot cost in ms per MiB of heap used (measured ~80–95 on a 2-core machine, many small objects). The
   * snapshot is skipped when the estimate does not fit before the hard deadline. Default `100`; 1..10000.
   */
  msPerMiB?: number;
}

/** Opt-in native last resorts, for deaths the guard cannot act before. @publicApi */
export interface OomFallbackOptions {
  /** `process.report.reportOnFatalError = true` into `directory` (that report contains env values). Default `false`. */
  reportOnFatalError?: boolean;
  /**
   * `v8.setHeapSnapshotNearHeapLimit(1)`: V8 writes a snapshot near the heap limit (into the cwd or
   * `--diagnostic-dir`), while the instance is still in rotation, then aborts. Default `false`.
   */
  nearHeapLimitSnapshot?: boolean;
}

/** What the app's last-words hook receives. @publicApi */
export interface OomLastWords {
  readonly reason: string;
  readonly kind: MemoryKind | 'manual';
  readonly reading: MemoryReading | undefined;
  readonly snapshotPath: string | undefined;
  readonly reportPath: string | undefined;
  readonly exitCode: number;
}

/**
 * Options of {@link OomGuardModule}. Every option has a default.
 *
 * @publicApi
 */
export interface OomGuardModuleOptions {
  /** Old generation used (after a major GC) / (`heap_size_limit` − young reserve). Default `{ warning: 0.6, action: 0.7 }`. */
  oldGen?: OomThresholds;
  /** RSS / cgroup memory limit (or, without a limit, RSS / (RSS + available memory)). Default `{ warning: 0.7, action: 0.8 }`. */
  cgroup?: OomThresholds;
  /** A level is left once the ratio is this far below its threshold. Default `0.05`; 0..0.5. */
  hysteresis?: number;
  /**
   * A monitor sample (taken between GCs, so old-gen use includes garbage) triggers the action only after the ratio
   * stayed at or above the action threshold this long; a post-major-GC reading triggers at once. Default `1000`; 0..60000 ms.
   */
  confirmMs?: number;
  /** Where snapshots and reports go: an existing, writable directory. Default `os.tmpdir()`. */
  directory?: string;
  snapshot?: OomSnapshotOptions | false;
  /** Write a diagnostic report (environment variables redacted). Default `true`. */
  report?: boolean;
  /** Exit code after the action. Default `70`; 1..255. */
  exitCode?: number;
  /** Bound on the drain (load balancer, in-flight, Nest shutdown), in ms. Default `30000`; 1..600000. */
  drainTimeoutMs?: number;
  /** From the trigger: exit whatever step is running (a blocking snapshot delays it). Default `60000`; 1000..3600000 ms. */
  hardDeadlineMs?: number;
  /** The app's last words (flush logs, alert), after the report, before exit. */
  lastWords?: (info: OomLastWords) => void | Promise<void>;
  /** Bound on `lastWords`, in ms. Default `2000`; 1..60000. */
  lastWordsTimeoutMs?: number;
  /** V8 young-generation reserve subtracted from `heap_size_limit`. Default 48 MiB (Node 20, 64-bit). */
  youngGenerationReserveBytes?: number;
  /** cgroup filesystem root (tests point it at fixture directories). Default `/sys/fs/cgroup`. */
  cgroupRoot?: string;
  /** `/proc/self/cgroup` (tests point it at a fixture). */
  procSelfCgroup?: string;
  /** Clock in ms (monotonic), injectable for tests. Default `performance.now`. */
  clock?: () => number;
  /** Sample on every major GC (a `PerformanceObserver`). Default `true`. */
  observeGc?: boolean;
  fallbacks?: OomFallbackOptions;
  /** Log and count, but never act (try thresholds in production first). Default `false`. */
  dryRun?: boolean;
}

/** Options after defaults and validation. */
export interface ResolvedOomGuardOptions {
  thresholds: Record<MemoryKind, { warning: number; action: number; critical: number }>;
  hysteresis: number;
  confirmMs: number;
  directory: string;
  snapshot: { enabled: boolean; headroomFactor: number; msPerMiB: number };
  report: boolean;
  exitCode: number;
  drainTimeoutMs: number;
  hardDeadlineMs: number;
  lastWords: ((info: OomLastWords) => void | Promise<void>) | undefined;
  lastWordsTimeoutMs: number;
  youngGenerationReserveBytes: number;
  cgroupRoot: string;
  procSelfCgroup: string;
  clock: () => number;
  observeGc: boolean;
  fallbacks: { reportOnFatalError: boolean; nearHeapLimitSnapshot: boolean };
  dryRun: boolean;
}

/** One memory reading. @publicApi */
export interface MemoryReading {
  /** Where it came from: a major GC (post-GC old-gen use), the core monitor's timer, or an explicit call. */
  readonly source: 'gc' | 'monitor' | 'manual';
  /** Clock time (ms) of the reading. */
  readonly at: number;
  /** Old generation used, bytes (old, code, large-object spaces). */
  readonly oldGenUsed: number;
  /** `heap_size_limit` − young reserve, bytes. */
  readonly oldGenLimit: number;
  readonly heapUsed: number;
  readonly rss: number;
  /** cgroup memory limit, bytes; `undefined` when there is none. */
  readonly cgroupLimit: number | undefined;
  /** `process.availableMemory()` where present. */
  readonly available: number | undefined;
  readonly ratios: Readonly<Record<MemoryKind, number>>;
}
