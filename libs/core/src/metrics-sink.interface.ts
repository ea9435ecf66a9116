/** Labels of one series. */
export type MetricLabels = Readonly<Record<string, string | number>>;

interface MetricDefinition {
  /**
   * Name without the `steady_` prefix, lower snake case, ending in its unit (`_seconds`, `_bytes`, `_ratio`)
   * and, for counters, in `_total`. The sink adds the prefix: `shed_requests_total` → `steady_shed_requests_total`.
   */
  name: string;
  help: string;
  labelNames?: readonly string[];
}

export interface CounterDefinition extends MetricDefinition {
  /** Called on every scrape; use it to mirror a monotonic count kept elsewhere (`counter.inc(delta)`). */
  collect?: (counter: SteadyCounter) => void;
}

export interface GaugeDefinition extends MetricDefinition {
  /** Called on every scrape, so the gauge reads a live value (`gauge.set(x)`) instead of being pushed. */
  collect?: (gauge: SteadyGauge) => void;
}

export interface HistogramDefinition extends MetricDefinition {
  /** Upper bounds, ascending. */
  buckets?: readonly number[];
}

export interface SteadyCounter {
  inc(labels?: MetricLabels, value?: number): void;
}

export interface SteadyGauge {
  set(labels: MetricLabels | undefined, value: number): void;
  inc(labels?: MetricLabels, value?: number): void;
  dec(labels?: MetricLabels, value?: number): void;
}

export interface SteadyHistogram {
  observe(labels: MetricLabels | undefined, value: number): void;
}

/**
 * Where a Steady library registers its metrics. `@steady/metrics` provides it (Prometheus, `steady_` prefix);
 * without it the token is absent, so libraries inject it with `@Optional()` and work unchanged.
 *
 * Registering the same name again with the same type and labels returns the existing metric.
 *
 * @example
 * constructor(@Optional() @Inject(MetricsSink) metrics?: MetricsSink) {
 *   this.shed = metrics?.counter({ name: 'shed_requests_total', help: 'Requests shed', labelNames: ['reason'] });
 * }
 *
 * @publicApi
 */
export interface MetricsSink {
  counter(definition: CounterDefinition): SteadyCounter;
  gauge(definition: GaugeDefinition): SteadyGauge;
  histogram(definition: HistogramDefinition): SteadyHistogram;
}

/** Injection token of {@link MetricsSink} (same name as the interface). @publicApi */
export const MetricsSink = Symbol.for('STEADY:METRICS_SINK');
