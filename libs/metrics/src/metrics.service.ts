import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import type {
  CounterDefinition,
  GaugeDefinition,
  HistogramDefinition,
  MetricLabels,
  MetricsSink,
  SteadyCounter,
  SteadyGauge,
  SteadyHistogram,
} from '@steady/core';
import {
  Counter,
  Gauge,
  Histogram,
  Registry,
  collectDefaultMetrics,
  type Metric,
} from 'prom-client';
import { STEADY_METRICS_OPTIONS } from './metrics.constants';
import type { ResolvedMetricsOptions } from './metrics-options.interface';
import { steadyMetricName, type MetricKind } from './metric-name.validation';

type Labels = Partial<Record<string, string | number>>;

/**
 * Owns the Prometheus registry and is the {@link MetricsSink} every Steady library registers through:
 * names get the `steady_` prefix and are checked against the naming rule (docs/metrics.md). Registering the
 * same metric twice (same kind and labels) returns the first one, so providers can register in constructors.
 *
 * @example
 * const sent = metrics.counter({ name: 'mails_sent_total', help: 'Mails sent', labelNames: ['result'] });
 * sent.inc({ result: 'ok' });
 *
 * @publicApi
 */
@Injectable()
export class MetricsService implements MetricsSink, OnModuleDestroy {
  /** The prom-client registry behind `/metrics`; register your own prom-client metrics here. */
  readonly registry: Registry;
  private readonly kinds = new Map<string, { kind: MetricKind; labels: string; handle: unknown }>();

  constructor(@Inject(STEADY_METRICS_OPTIONS) protected readonly options: ResolvedMetricsOptions) {
    this.registry = options.registry ?? new Registry();
    if (Object.keys(options.defaultLabels).length > 0) {
      this.registry.setDefaultLabels(options.defaultLabels);
    }
    if (options.defaultMetrics) {
      collectDefaultMetrics({ register: this.registry, prefix: options.defaultMetricsPrefix });
    }
  }

  counter(definition: CounterDefinition): SteadyCounter {
    return this.register('counter', definition, (name, labelNames) => {
      const { collect } = definition;
      const metric: Counter<string> = new Counter({
        name,
        help: definition.help,
        labelNames,
        registers: [this.registry],
        ...(collect ? { collect: () => collect(handle) } : {}),
      });
      const handle: SteadyCounter = {
        inc: (labels?: MetricLabels, value = 1) =>
          labels ? metric.inc(labels as Labels, value) : metric.inc(value),
      };
      return handle;
    });
  }

  gauge(definition: GaugeDefinition): SteadyGauge {
    return this.register('gauge', definition, (name, labelNames) => {
      const { collect } = definition;
      const metric: Gauge<string> = new Gauge({
        name,
        help: definition.help,
        labelNames,
        registers: [this.registry],
        ...(collect ? { collect: () => collect(handle) } : {}),
      });
      const handle: SteadyGauge = {
        set: (labels, value) => (labels ? metric.set(labels as Labels, value) : metric.set(value)),
        inc: (labels?: MetricLabels, value = 1) =>
          labels ? metric.inc(labels as Labels, value) : metric.inc(value),
        dec: (labels?: MetricLabels, value = 1) =>
          labels ? metric.dec(labels as Labels, value) : metric.dec(value),
      };
      return handle;
    });
  }

  histogram(definition: HistogramDefinition): SteadyHistogram {
    return this.register('histogram', definition, (name, labelNames) => {
      const metric: Histogram<string> = new Histogram({
        name,
        help: definition.help,
        labelNames,
        registers: [this.registry],
        ...(definition.buckets ? { buckets: [...definition.buckets] } : {}),
      });
      return {
        observe: (labels, value) =>
          labels ? metric.observe(labels as Labels, value) : metric.observe(value),
      } satisfies SteadyHistogram;
    });
  }

  /** The exposition text and its content type, as served at `/metrics`. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  /** A registered metric by its full name (with the `steady_` prefix), for tests and the explain view. */
  getMetric(fullName: string): Metric | undefined {
    return this.registry.getSingleMetric(fullName);
  }

  onModuleDestroy(): void {
    // A registry passed in by the app outlives the module; only our own metrics are removed from it.
    if (this.options.registry) {
      for (const name of this.kinds.keys()) this.registry.removeSingleMetric(name);
    } else {
      this.registry.clear();
    }
    this.kinds.clear();
  }

  private register<H>(
    kind: MetricKind,
    definition: { name: string; help: string; labelNames?: readonly string[] },
    create: (name: string, labelNames: string[]) => H,
  ): H {
    const labelNames = [...(definition.labelNames ?? [])];
    const name = steadyMetricName(kind, definition.name, labelNames);
    if (typeof definition.help !== 'string' || definition.help.trim() === '') {
      throw new Error(`@steady/metrics: metric "${name}" needs a help text`);
    }
    const labels = [...labelNames].sort().join(',');
    const existing = this.kinds.get(name);
    if (existing) {
      if (existing.kind !== kind || existing.labels !== labels) {
        throw new Error(
          `@steady/metrics: metric "${name}" is already registered as a ${existing.kind} ` +
            `with labels [${existing.labels}]; cannot register it as a ${kind} with labels [${labels}]`,
        );
      }
      return existing.handle as H;
    }
    const handle = create(name, labelNames);
    this.kinds.set(name, { kind, labels, handle });
    return handle;
  }
}
