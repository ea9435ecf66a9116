/** Pure statistics helpers: medians and spreads across runs, percentiles of small samples. */

export interface Spread {
  median: number;
  min: number;
  max: number;
  /** Raw per-run values in run order. */
  values: number[];
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Nearest-rank percentile (p in 0..100) of a sample, the same definition HDR histograms use:
 * the smallest value such that at least p% of the sample is <= it.
 */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be within 0..100, got ${p}`);
  const sorted = [...values].sort((a, b) => a - b);
  if (p === 0) return sorted[0];
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

export function spread(values: readonly number[]): Spread {
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length === 0) {
    return { median: Number.NaN, min: Number.NaN, max: Number.NaN, values: [...values] };
  }
  return {
    median: median(finite),
    min: Math.min(...finite),
    max: Math.max(...finite),
    values: [...values],
  };
}

/** Applies `spread` to every metric of a list of per-run metric records. */
export function aggregate<K extends string>(
  runs: ReadonlyArray<Record<K, number>>,
  keys: readonly K[],
): Record<K, Spread> {
  const out = {} as Record<K, Spread>;
  for (const key of keys) out[key] = spread(runs.map((r) => r[key]));
  return out;
}

/** Rounds to `digits` decimals, keeping NaN as NaN (JSON turns it into null). */
export function round(value: number, digits = 2): number {
  if (!Number.isFinite(value)) return value;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
