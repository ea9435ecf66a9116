import { getHeapSpaceStatistics, getHeapStatistics } from 'node:v8';
import { readCgroupMemory, type CgroupMemory } from './cgroup-memory';
import type { MemoryReading, ResolvedOomGuardOptions } from './oom-guard-options.interface';

/** Spaces that are not the old generation (their reserve is subtracted from `heap_size_limit`). */
const YOUNG_SPACES = new Set(['new_space', 'new_large_object_space']);

type ReaderOptions = Pick<
  ResolvedOomGuardOptions,
  'youngGenerationReserveBytes' | 'cgroupRoot' | 'procSelfCgroup' | 'clock'
>;

/**
 * Reads what the OOM guard compares with its thresholds: the V8 old generation vs its real limit
 * (`heap_size_limit` minus the young-generation reserve, which `used / heap_size_limit` wrongly counts as room),
 * RSS vs the cgroup limit, and `process.availableMemory()` where Node has it. Cheap (no allocation of note, one
 * `getHeapSpaceStatistics()` call); the cgroup limit is read at construction and by {@link refreshCgroup}.
 *
 * @publicApi
 */
export class MemoryReader {
  private cgroupState: CgroupMemory;

  constructor(protected readonly options: ReaderOptions) {
    this.cgroupState = this.readCgroup();
  }

  /** The cgroup figures read last. */
  get cgroup(): CgroupMemory {
    return this.cgroupState;
  }

  /** Re-reads the cgroup limit and usage. */
  refreshCgroup(): CgroupMemory {
    this.cgroupState = this.readCgroup();
    return this.cgroupState;
  }

  /** One reading now; `rss` may be passed in when the caller has just read it (the monitor sample). */
  read(source: MemoryReading['source'], rss?: number): MemoryReading {
    const heap = this.heap();
    const oldGenLimit = Math.max(
      1,
      heap.limit - Math.min(this.options.youngGenerationReserveBytes, heap.limit / 2),
    );
    const processRss = rss ?? process.memoryUsage.rss();
    const available = this.available();
    const cgroupLimit = this.cgroupState.limit;
    const cgroupRatio =
      cgroupLimit !== undefined
        ? processRss / cgroupLimit
        : available !== undefined
          ? processRss / (processRss + available)
          : 0;
    return {
      source,
      at: this.options.clock(),
      oldGenUsed: heap.oldGenUsed,
      oldGenLimit,
      heapUsed: heap.used,
      rss: processRss,
      cgroupLimit,
      available,
      ratios: { old_gen: heap.oldGenUsed / oldGenLimit, cgroup: cgroupRatio },
    };
  }

  /** V8 figures; `protected` so a subclass (or a test) can substitute them. */
  protected heap(): { oldGenUsed: number; used: number; limit: number } {
    let oldGenUsed = 0;
    for (const s of getHeapSpaceStatistics()) {
      if (!YOUNG_SPACES.has(s.space_name)) oldGenUsed += s.space_used_size;
    }
    const h = getHeapStatistics();
    return { oldGenUsed, used: h.used_heap_size, limit: h.heap_size_limit };
  }

  /** `process.availableMemory()` (Node ≥ 20.13), else `undefined`. */
  protected available(): number | undefined {
    const fn = (process as { availableMemory?: () => number }).availableMemory;
    if (typeof fn !== 'function') return undefined;
    const n = fn.call(process);
    return Number.isFinite(n) && n > 0 ? n : undefined;
  }

  protected readCgroup(): CgroupMemory {
    return readCgroupMemory(this.options.cgroupRoot, this.options.procSelfCgroup);
  }
}
