import type { Registry } from 'prom-client';
import type {
  HistogramSeries,
  MetricFamily,
  SeriesLabels,
  ValueSeries,
} from './explain-snapshot.interface';
import { STEADY_METRIC_PREFIX } from './metrics.constants';

interface RawValue {
  labels: Record<string, string | number | undefined>;
  value: number;
  metricName?: string;
}
interface ReadableMetric {
  name: string;
  get(): Promise<{ type: string; values: RawValue[] }>;
}

/**
 * Reads every `steady_*` metric of a prom-client registry into plain families (runs their `collect` callbacks,
 * as a scrape does). Node's default metrics and the app's own are skipped: the explain rules do not read them,
 * and `process_*` collectors are the costly ones.
 */
export async function readSteadyMetrics(
  registry: Registry,
  prefix = STEADY_METRIC_PREFIX,
): Promise<Record<string, MetricFamily>> {
  const out: Record<string, MetricFamily> = {};
  for (const metric of registry.getMetricsAsArray() as unknown as ReadableMetric[]) {
    if (!metric.name.startsWith(prefix)) continue;
    const data = await metric.get();
    const type = String(data.type);
    if (type === 'counter' || type === 'gauge') {
      out[metric.name] = {
        type,
        series: data.values.map((v): ValueSeries => ({
          labels: stringLabels(v.labels),
          value: v.value,
        })),
      };
    } else if (type === 'histogram') {
      out[metric.name] = { type: 'histogram', series: histogramSeries(metric.name, data.values) };
    }
  }
  return out;
}

function stringLabels(labels: RawValue['labels'], skip?: string): SeriesLabels {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels ?? {})) {
    if (k === skip || v === undefined) continue;
    out[k] = String(v);
  }
  return out;
}

function histogramSeries(name: string, values: readonly RawValue[]): HistogramSeries[] {
  const byKey = new Map<
    string,
    { labels: SeriesLabels; count: number; sum: number; buckets: [number | string, number][] }
  >();
  const entry = (labels: SeriesLabels) => {
    const key = JSON.stringify(Object.entries(labels).sort());
    let e = byKey.get(key);
    if (!e) {
      e = { labels, count: 0, sum: 0, buckets: [] };
      byKey.set(key, e);
    }
    return e;
  };
  for (const v of values) {
    const labels = stringLabels(v.labels, 'le');
    const e = entry(labels);
    if (v.metricName === `${name}_bucket`) {
      const le = v.labels.le;
      e.buckets.push([le === '+Inf' || le === undefined ? '+Inf' : Number(le), v.value]);
    } else if (v.metricName === `${name}_sum`) e.sum = v.value;
    else if (v.metricName === `${name}_count`) e.count = v.value;
  }
  return [...byKey.values()];
}
