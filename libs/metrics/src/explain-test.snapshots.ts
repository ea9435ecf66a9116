import type {
  CoreWindowStats,
  ExplainSnapshot,
  HistogramSeries,
  MetricFamily,
  SeriesLabels,
} from './explain-snapshot.interface';

/**
 * Builders of explain snapshots for tests: a calm core reading, counters, gauges and histograms built from
 * observations (used by the explain specs).
 */
export const CALM_CORE: CoreWindowStats = Object.freeze({
  samples: 20,
  inFlightMean: 2,
  inFlightMax: 4,
  inFlightLast: 2,
  eluMean: 0.1,
  eluMax: 0.2,
  cpuMean: 0.1,
  loopDelayP99Ms: 12,
  arrivalRate: 20,
  rejectionRate: 0,
  completionRate: 20,
  heapRatio: 0.3,
  heapUsedBytes: 300e6,
  heapLimitBytes: 1e9,
  rssBytes: 500e6,
});

export function counterFamily(...series: [SeriesLabels, number][]): MetricFamily {
  return { type: 'counter', series: series.map(([labels, value]) => ({ labels, value })) };
}

export function gaugeFamily(...series: [SeriesLabels, number][]): MetricFamily {
  return { type: 'gauge', series: series.map(([labels, value]) => ({ labels, value })) };
}

/** A histogram series from raw observations (cumulative buckets, `+Inf` last). */
export function histogramSeries(
  labels: SeriesLabels,
  bounds: readonly number[],
  observations: readonly number[],
): HistogramSeries {
  const buckets: [number | string, number][] = bounds.map((b) => [
    b,
    observations.filter((o) => o <= b).length,
  ]);
  buckets.push(['+Inf', observations.length]);
  return {
    labels,
    count: observations.length,
    sum: observations.reduce((a, b) => a + b, 0),
    buckets,
  };
}

export function histogramFamily(...series: HistogramSeries[]): MetricFamily {
  return { type: 'histogram', series };
}

/** `n` copies of `x`. */
export function times(n: number, x: number): number[] {
  return Array.from({ length: n }, () => x);
}

/**
 * A window of snapshots every `stepMs` from 0 to `durationMs`; `build(tSeconds)` gives each one's core reading
 * and metrics (cumulative counters: pass what they count up to at that time).
 */
export function scenario(
  durationMs: number,
  stepMs: number,
  build: (t: number) => {
    core?: Partial<CoreWindowStats> | null;
    metrics?: Record<string, MetricFamily>;
  },
  start = 1_700_000_000_000,
): ExplainSnapshot[] {
  const out: ExplainSnapshot[] = [];
  for (let ms = 0; ms <= durationMs; ms += stepMs) {
    const { core, metrics } = build(ms / 1000);
    out.push({
      at: start + ms,
      spanMs: stepMs,
      ...(core === null ? {} : { core: { ...CALM_CORE, ...core } }),
      metrics: metrics ?? {},
    });
  }
  return out;
}
