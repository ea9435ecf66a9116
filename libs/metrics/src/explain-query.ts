import type {
  CoreWindowStats,
  ExplainSnapshot,
  HistogramSeries,
  SeriesLabels,
  ValueSeries,
} from './explain-snapshot.interface';

/** Label filter: every listed label must equal the value (or be one of the values). */
export type LabelMatch = Readonly<Record<string, string | readonly string[]>>;

/** A merged histogram (several series added up, or the growth between two snapshots). */
export interface HistogramDelta {
  count: number;
  sum: number;
  /** `[upperBound, cumulativeCount]`, ascending, last bound `Infinity`. */
  buckets: [number, number][];
}

function matches(labels: SeriesLabels, match?: LabelMatch): boolean {
  if (!match) return true;
  for (const [k, want] of Object.entries(match)) {
    const got = labels[k];
    if (got === undefined) return false;
    if (typeof want === 'string' ? got !== want : !want.includes(got)) return false;
  }
  return true;
}

function bound(le: number | string): number {
  return typeof le === 'number' ? le : le === '+Inf' ? Infinity : Number(le);
}

/** Whether the snapshot has the metric (a module that registers it is present). */
export function has(s: ExplainSnapshot | undefined, name: string): boolean {
  return s !== undefined && s.metrics[name] !== undefined;
}

/** The counter/gauge series of a metric (empty when absent). */
export function seriesOf(s: ExplainSnapshot, name: string, match?: LabelMatch): ValueSeries[] {
  const f = s.metrics[name];
  if (!f || f.type === 'histogram') return [];
  return f.series.filter((x) => matches(x.labels, match));
}

/** Sum of the matching counter/gauge series, or `undefined` when the metric is absent or nothing matches. */
export function value(s: ExplainSnapshot, name: string, match?: LabelMatch): number | undefined {
  const list = seriesOf(s, name, match);
  if (list.length === 0) return undefined;
  return list.reduce((a, x) => a + x.value, 0);
}

/** Values of one label over the matching series, e.g. the `reason`s a counter has. */
export function labelValues(s: ExplainSnapshot, name: string, label: string): string[] {
  const f = s.metrics[name];
  if (!f) return [];
  const out = new Set<string>();
  for (const x of f.series as readonly { labels: SeriesLabels }[]) {
    const v = x.labels[label];
    if (v !== undefined) out.add(v);
  }
  return [...out];
}

/**
 * Growth of a counter from `a` to `b`, summed over matching series. A series missing in `a` counts from 0; a
 * series that went down (a restart) counts from 0 too. `undefined` when the metric is absent from `b`.
 */
export function counterDelta(
  a: ExplainSnapshot,
  b: ExplainSnapshot,
  name: string,
  match?: LabelMatch,
): number | undefined {
  if (!has(b, name)) return undefined;
  const before = new Map(seriesOf(a, name, match).map((x) => [key(x.labels), x.value]));
  let total = 0;
  for (const x of seriesOf(b, name, match)) {
    const prev = before.get(key(x.labels)) ?? 0;
    total += x.value >= prev ? x.value - prev : x.value;
  }
  return total;
}

/** Growth of a counter from `a` to `b`, per value of `label`. */
export function counterDeltaBy(
  a: ExplainSnapshot,
  b: ExplainSnapshot,
  name: string,
  label: string,
  match?: LabelMatch,
): Map<string, number> {
  const out = new Map<string, number>();
  for (const v of labelValues(b, name, label)) {
    const d = counterDelta(a, b, name, { ...match, [label]: v }) ?? 0;
    out.set(v, d);
  }
  return out;
}

function histSeries(s: ExplainSnapshot, name: string, match?: LabelMatch): HistogramSeries[] {
  const f = s.metrics[name];
  if (!f || f.type !== 'histogram') return [];
  return f.series.filter((x) => matches(x.labels, match));
}

function merge(list: readonly HistogramSeries[]): HistogramDelta {
  const byBound = new Map<number, number>();
  let count = 0;
  let sum = 0;
  for (const h of list) {
    count += h.count;
    sum += h.sum;
    for (const [le, n] of h.buckets) byBound.set(bound(le), (byBound.get(bound(le)) ?? 0) + n);
  }
  const buckets = [...byBound].sort((x, y) => x[0] - y[0]);
  return { count, sum, buckets };
}

/** Matching histogram series added up, as of one snapshot (cumulative since start). */
export function histogram(
  s: ExplainSnapshot,
  name: string,
  match?: LabelMatch,
): HistogramDelta | undefined {
  if (!has(s, name)) return undefined;
  return merge(histSeries(s, name, match));
}

/** What a histogram recorded between `a` and `b` (matching series added up). */
export function histogramDelta(
  a: ExplainSnapshot,
  b: ExplainSnapshot,
  name: string,
  match?: LabelMatch,
): HistogramDelta | undefined {
  const hb = histogram(b, name, match);
  if (!hb) return undefined;
  const ha = histogram(a, name, match) ?? { count: 0, sum: 0, buckets: [] };
  if (ha.count > hb.count) return hb; // restarted
  const before = new Map(ha.buckets);
  return {
    count: hb.count - ha.count,
    sum: hb.sum - ha.sum,
    buckets: hb.buckets.map(([le, n]) => [le, n - (before.get(le) ?? 0)] as [number, number]),
  };
}

/** Growth of a histogram between two snapshots, per value of `label`. */
export function histogramDeltaBy(
  a: ExplainSnapshot,
  b: ExplainSnapshot,
  name: string,
  label: string,
): Map<string, HistogramDelta> {
  const out = new Map<string, HistogramDelta>();
  for (const v of labelValues(b, name, label)) {
    const d = histogramDelta(a, b, name, { [label]: v });
    if (d) out.set(v, d);
  }
  return out;
}

/** Mean of a histogram delta, or `undefined` when it is empty. */
export function mean(h: HistogramDelta | undefined): number | undefined {
  return h && h.count > 0 ? h.sum / h.count : undefined;
}

/**
 * Quantile estimate by linear interpolation inside the bucket (as Prometheus' `histogram_quantile`); the
 * `+Inf` bucket answers the highest finite bound.
 */
export function quantile(h: HistogramDelta | undefined, q: number): number | undefined {
  if (!h || h.count <= 0) return undefined;
  const rank = q * h.count;
  let prevBound = 0;
  let prevCount = 0;
  for (const [le, n] of h.buckets) {
    if (n >= rank) {
      if (le === Infinity) return prevBound;
      const inBucket = n - prevCount;
      return inBucket <= 0 ? le : prevBound + ((le - prevBound) * (rank - prevCount)) / inBucket;
    }
    prevBound = le === Infinity ? prevBound : le;
    prevCount = n;
  }
  return prevBound;
}

/** Fraction of observations above `threshold` (rounded to the nearest bucket bound at or below it). */
export function shareAbove(h: HistogramDelta | undefined, threshold: number): number | undefined {
  if (!h || h.count <= 0) return undefined;
  let atOrBelow = 0;
  for (const [le, n] of h.buckets) {
    if (le <= threshold) atOrBelow = n;
    else break;
  }
  return (h.count - atOrBelow) / h.count;
}

/** Aggregates the core stats of several snapshots (span-weighted means, maxima of maxima, last of lasts). */
export function combineCore(list: readonly ExplainSnapshot[]): CoreWindowStats | undefined {
  const withCore = list.filter((s) => s.core !== undefined && s.core.samples > 0);
  if (withCore.length === 0) return undefined;
  let w = 0;
  const acc = { inFlight: 0, elu: 0, cpu: 0, arrival: 0, rejection: 0, completion: 0 };
  let inFlightMax = 0;
  let eluMax = 0;
  let delay = 0;
  let samples = 0;
  for (const s of withCore) {
    const c = s.core!;
    const weight = Math.max(s.spanMs, 1);
    w += weight;
    samples += c.samples;
    acc.inFlight += c.inFlightMean * weight;
    acc.elu += c.eluMean * weight;
    acc.cpu += c.cpuMean * weight;
    acc.arrival += c.arrivalRate * weight;
    acc.rejection += c.rejectionRate * weight;
    acc.completion += c.completionRate * weight;
    inFlightMax = Math.max(inFlightMax, c.inFlightMax);
    eluMax = Math.max(eluMax, c.eluMax);
    delay = Math.max(delay, c.loopDelayP99Ms);
  }
  const last = withCore[withCore.length - 1]!.core!;
  return {
    samples,
    inFlightMean: acc.inFlight / w,
    inFlightMax,
    inFlightLast: last.inFlightLast,
    eluMean: acc.elu / w,
    eluMax,
    cpuMean: acc.cpu / w,
    loopDelayP99Ms: delay,
    arrivalRate: acc.arrival / w,
    rejectionRate: acc.rejection / w,
    completionRate: acc.completion / w,
    heapRatio: last.heapRatio,
    heapUsedBytes: last.heapUsedBytes,
    heapLimitBytes: last.heapLimitBytes,
    rssBytes: last.rssBytes,
  };
}

/** Least-squares slope of `y` per second over the snapshots that have it. */
export function slopePerSecond(points: readonly (readonly [number, number])[]): number | undefined {
  if (points.length < 3) return undefined;
  const n = points.length;
  const t0 = points[0]![0];
  let sx = 0;
  let sy = 0;
  let sxx = 0;
  let sxy = 0;
  for (const [at, y] of points) {
    const x = (at - t0) / 1000;
    sx += x;
    sy += y;
    sxx += x * x;
    sxy += x * y;
  }
  const den = n * sxx - sx * sx;
  if (den <= 0) return undefined;
  return (n * sxy - sx * sy) / den;
}

function key(labels: SeriesLabels): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(',');
}
