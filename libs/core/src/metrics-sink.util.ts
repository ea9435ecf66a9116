import type { MetricLabels, MetricsSink, SteadyCounter } from './metrics-sink.interface';

/**
 * Registers a counter that mirrors a count kept elsewhere (a plain `number` on a hot path, no prom-client call per
 * event): at each scrape it adds what the count grew by since the previous scrape. `read` returns the count, or
 * one `[labels, count]` pair per series. Does nothing without a sink.
 *
 * @example
 * mirrorCounter(metrics, { name: 'shed_admitted_requests_total', help: 'Requests admitted' }, () => this.admitted);
 *
 * @publicApi
 */
export function mirrorCounter(
  sink: MetricsSink | undefined,
  definition: { name: string; help: string; labelNames?: readonly string[] },
  read: () => number | Iterable<readonly [MetricLabels, number]>,
): SteadyCounter | undefined {
  if (!sink) return undefined;
  const last = new Map<string, number>();
  return sink.counter({
    ...definition,
    collect: (counter) => {
      const value = read();
      const series: Iterable<readonly [MetricLabels | undefined, number]> =
        typeof value === 'number' ? [[undefined, value]] : value;
      for (const [labels, n] of series) {
        const key = labels === undefined ? '' : JSON.stringify(labels);
        const delta = n - (last.get(key) ?? 0);
        if (delta > 0) counter.inc(labels, delta);
        last.set(key, Math.max(n, last.get(key) ?? 0));
      }
    },
  });
}

/**
 * Plain counts by a fixed set of labels, kept off the metrics library for a hot path and handed to
 * {@link mirrorCounter} at scrape time: `inc()` is one `Map` lookup on a key joined from the label values.
 *
 * @example
 * const shed = new LabelledCounts(['reason', 'priority'] as const);
 * shed.inc({ reason: 'in_flight', priority: 'normal' });
 * mirrorCounter(metrics, { name: 'shed_requests_total', help: '…', labelNames: shed.labelNames }, () => shed.series());
 *
 * @publicApi
 */
export class LabelledCounts<L extends string> {
  private readonly counts = new Map<string, { labels: Record<L, string>; n: number }>();

  constructor(readonly labelNames: readonly L[]) {}

  /** Adds `by` (default 1) to the series of `labels`. */
  inc(labels: Record<L, string>, by = 1): void {
    let key = '';
    for (const name of this.labelNames) key += `${labels[name]}\u0000`;
    const entry = this.counts.get(key);
    if (entry) entry.n += by;
    else this.counts.set(key, { labels: { ...labels }, n: by });
  }

  /** One `[labels, count]` pair per series counted so far (the shape `mirrorCounter` reads). */
  series(): Array<readonly [Record<L, string>, number]> {
    return [...this.counts.values()].map((e) => [e.labels, e.n] as const);
  }
}
