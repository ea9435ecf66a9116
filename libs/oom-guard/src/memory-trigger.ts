import { MEMORY_KINDS } from './oom-guard.constants';
import type {
  MemoryKind,
  MemoryReading,
  OomLevel,
  ResolvedOomGuardOptions,
} from './oom-guard-options.interface';

/** A level change of one kind, as {@link MemoryTrigger.evaluate} reports it. @publicApi */
export interface OomLevelChange {
  readonly kind: MemoryKind;
  readonly from: OomLevel;
  readonly to: OomLevel;
  readonly ratio: number;
  readonly threshold: number;
  readonly reading: MemoryReading;
  /** Clock time of the first reading of the run at or above the action threshold (the monitor path confirms later). */
  readonly firstAboveAt: number | undefined;
}

const RANK: Record<OomLevel, number> = { ok: 0, warning: 1, action: 2 };

/**
 * The trigger logic, pure (no timers, no I/O): per kind, `ok → warning` at the warning threshold and back below
 * `warning − hysteresis`; `→ action` at the action threshold — at once for a post-major-GC reading (old-gen use is
 * then live data) and for the cgroup ratio, after `confirmMs` above it for an old-gen reading taken between GCs
 * (which counts garbage). `action` is final. The cgroup kind is only judged when a cgroup limit exists.
 *
 * @publicApi
 */
export class MemoryTrigger {
  private readonly levels: Record<MemoryKind, OomLevel> = { old_gen: 'ok', cgroup: 'ok' };
  private readonly aboveSince: Partial<Record<MemoryKind, number>> = {};

  constructor(
    protected readonly options: Pick<
      ResolvedOomGuardOptions,
      'thresholds' | 'hysteresis' | 'confirmMs'
    >,
  ) {}

  /** The level of each kind. */
  level(kind: MemoryKind): OomLevel {
    return this.levels[kind];
  }

  /** The highest level over the kinds. */
  get overall(): OomLevel {
    return RANK[this.levels.old_gen] >= RANK[this.levels.cgroup]
      ? this.levels.old_gen
      : this.levels.cgroup;
  }

  /** Feeds one reading; returns the level changes it caused (none most of the time). */
  evaluate(reading: MemoryReading): OomLevelChange[] {
    const changes: OomLevelChange[] = [];
    for (const kind of MEMORY_KINDS) {
      if (kind === 'cgroup' && reading.cgroupLimit === undefined) continue;
      const from = this.levels[kind];
      if (from === 'action') continue;
      const ratio = reading.ratios[kind];
      const { warning, action } = this.options.thresholds[kind];
      let to: OomLevel = from;
      let firstAboveAt: number | undefined;
      if (ratio >= action) {
        const atOnce = kind === 'cgroup' || reading.source !== 'monitor';
        const since = (this.aboveSince[kind] ??= reading.at);
        firstAboveAt = since;
        to = atOnce || reading.at - since >= this.options.confirmMs ? 'action' : 'warning';
      } else {
        delete this.aboveSince[kind];
        if (ratio >= warning) to = 'warning';
        else if (from === 'warning' && ratio >= warning - this.options.hysteresis) to = 'warning';
        else to = 'ok';
      }
      if (to !== from) {
        this.levels[kind] = to;
        changes.push({
          kind,
          from,
          to,
          ratio,
          threshold: to === 'action' ? action : warning,
          reading,
          firstAboveAt,
        });
      }
    }
    return changes;
  }
}
