/** Labels of one series, as strings. */
export type SeriesLabels = Readonly<Record<string, string>>;

/** One counter or gauge series. */
export interface ValueSeries {
  readonly labels: SeriesLabels;
  readonly value: number;
}

/** One histogram series: cumulative bucket counts by upper bound (`Infinity` last), sum and count. */
export interface HistogramSeries {
  readonly labels: SeriesLabels;
  readonly count: number;
  readonly sum: number;
  /** `[upperBound, cumulativeCount]`, ascending; the last bound is `Infinity` (`"+Inf"` in JSON). */
  readonly buckets: readonly (readonly [number | string, number])[];
}

/** A metric family as read from the registry, by type. */
export type MetricFamily =
  | { readonly type: 'counter' | 'gauge'; readonly series: readonly ValueSeries[] }
  | { readonly type: 'histogram'; readonly series: readonly HistogramSeries[] };

/**
 * The `@steady/core` signal aggregated over the monitor samples a snapshot covers (the same numbers shedding and
 * the drain decide on), so averages and peaks between snapshots are not lost.
 */
export interface CoreWindowStats {
  /** Monitor samples aggregated. */
  readonly samples: number;
  readonly inFlightMean: number;
  readonly inFlightMax: number;
  readonly inFlightLast: number;
  readonly eluMean: number;
  readonly eluMax: number;
  /** CPU time as a fraction of one core, mean. */
  readonly cpuMean: number;
  /** Highest event-loop delay p99 seen, ms. */
  readonly loopDelayP99Ms: number;
  /** Requests arriving per second (admitted and rejected), mean. */
  readonly arrivalRate: number;
  /** Requests rejected by the admission hook per second, mean. */
  readonly rejectionRate: number;
  readonly completionRate: number;
  readonly heapRatio: number;
  readonly heapUsedBytes: number;
  readonly heapLimitBytes: number;
  readonly rssBytes: number;
}

/**
 * What the explain view keeps per point of its window: plain data, so a snapshot can be recorded as JSON and
 * replayed in a test. `metrics` holds every `steady_*` family of the registry, names in full.
 *
 * @publicApi
 */
export interface ExplainSnapshot {
  /** Wall-clock time (ms since the epoch). */
  readonly at: number;
  /** Milliseconds of monitor samples aggregated in `core`. */
  readonly spanMs: number;
  /** Absent when `SteadyCoreModule` is not imported. */
  readonly core?: CoreWindowStats;
  readonly metrics: Readonly<Record<string, MetricFamily>>;
}
