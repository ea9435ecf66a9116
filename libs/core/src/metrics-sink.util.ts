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
