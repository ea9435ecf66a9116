import type { ServerSample } from './ws-protocol';

const MIB = 1024 * 1024;

/** Least-squares slope of `v` over `t` (units of v per unit of t); 0 with fewer than 2 points. */
export function slope(points: ReadonlyArray<{ t: number; v: number }>): number {
  const n = points.length;
  if (n < 2) return 0;
  let st = 0;
  let sv = 0;
  for (const p of points) {
    st += p.t;
    sv += p.v;
  }
  const mt = st / n;
  const mv = sv / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.t - mt) * (p.v - mv);
    den += (p.t - mt) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

export interface MemoryVerdict {
  /** RSS at the end of the warm-up, MiB */
  rssBaselineMiB: number;
  /** highest RSS after the warm-up minus the baseline, MiB */
  rssGrowthMiB: number;
  /** RSS slope over the last `slopeWindowMs` of producing, MiB/s */
  rssSlopeMiBps: number;
  rssEndMiB: number;
  /** highest Σ bufferedAmount, MiB */
  maxBufferedMiB: number;
}

/**
 * Reads the server's samples: growth after the warm-up (max RSS − RSS at the end of the warm-up) and the slope
 * over the last `slopeWindowMs` before `durationMs` — the slope, not only the final value, as the field note says.
 */
export function memoryVerdict(
  samples: readonly ServerSample[],
  warmupMs: number,
  durationMs: number,
  slopeWindowMs = 5_000,
): MemoryVerdict {
  const during = samples.filter((s) => s.t <= durationMs + 300);
  const after = during.filter((s) => s.t >= warmupMs);
  const base = after[0] ?? during.at(-1);
  if (!base) {
    return {
      rssBaselineMiB: NaN,
      rssGrowthMiB: NaN,
      rssSlopeMiBps: NaN,
      rssEndMiB: NaN,
      maxBufferedMiB: NaN,
    };
  }
  const maxRss = Math.max(...after.map((s) => s.rss), base.rss);
  const tail = during
    .filter((s) => s.t >= durationMs - slopeWindowMs)
    .map((s) => ({ t: s.t / 1000, v: s.rss / MIB }));
  return {
    rssBaselineMiB: round(base.rss / MIB),
    rssGrowthMiB: round((maxRss - base.rss) / MIB),
    rssSlopeMiBps: round(slope(tail)),
    rssEndMiB: round((during.at(-1)?.rss ?? NaN) / MIB),
    maxBufferedMiB: round(Math.max(0, ...samples.map((s) => s.buffered)) / MIB),
  };
}

export interface Gate {
  id: string;
  criterion: string;
  measured: string;
  pass: boolean | null;
}

export function round(x: number, digits = 2): number {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
