import { Registry } from 'prom-client';
import { steadyMetricName } from './metric-name.validation';
import { resolveMetricsOptions, resolveMetricsPath } from './metrics-options.validation';
import { MetricsService } from './metrics.service';

function service(options = {}) {
  return new MetricsService(resolveMetricsOptions({ defaultMetrics: false, ...options }));
}

describe('steadyMetricName', () => {
  it('prefixes valid names', () => {
    expect(steadyMetricName('counter', 'shed_requests_total', ['reason'])).toBe(
      'steady_shed_requests_total',
    );
    expect(steadyMetricName('histogram', 'drain_duration_seconds')).toBe(
      'steady_drain_duration_seconds',
    );
  });

  it.each([
    ['counter', 'shed_requests', /a counter ends in "_total"/],
    ['gauge', 'in_flight_total', /only counters end in "_total"/],
    ['gauge', 'steady_in_flight', /leave out the "steady_" prefix/],
    ['gauge', 'InFlight', /lower snake case/],
    ['gauge', 'in__flight', /lower snake case/],
    ['histogram', 'latency_ms', /base units/],
    ['gauge', 'heap_percent', /base units/],
  ] as const)('rejects a %s named %s', (kind, name, message) => {
    expect(() => steadyMetricName(kind, name)).toThrow(message);
  });

  it('rejects bad and reserved labels', () => {
    expect(() => steadyMetricName('gauge', 'x_bytes', ['Bad-Label'])).toThrow(/label "Bad-Label"/);
    expect(() => steadyMetricName('histogram', 'x_seconds', ['le'])).toThrow(/reserved/);
    expect(() => steadyMetricName('gauge', 'x_bytes', ['a', 'a'])).toThrow(/twice/);
  });
});

describe('metrics options', () => {
  it('validates the path extra', () => {
    expect(resolveMetricsPath(undefined)).toBe('/metrics');
    expect(resolveMetricsPath(false)).toBe(false);
    expect(resolveMetricsPath('/ops/metrics')).toBe('/ops/metrics');
    expect(() => resolveMetricsPath('metrics')).toThrow(
      '@steady/metrics: invalid option "path": expected a URL path starting with "/" (or false), got "metrics"',
    );
  });

  it('rejects unknown keys, bad labels and a non-registry', () => {
    expect(() => resolveMetricsOptions({ defaultMetric: true } as never)).toThrow(
      /invalid option "defaultMetric"/,
    );
    expect(() => resolveMetricsOptions({ defaultLabels: { 'bad-name': 'x' } })).toThrow(
      /defaultLabels/,
    );
    expect(() => resolveMetricsOptions({ defaultLabels: { svc: 3 as never } })).toThrow(
      /defaultLabels.svc/,
    );
    expect(() => resolveMetricsOptions({ registry: {} as never })).toThrow(
      /a prom-client Registry/,
    );
  });
});

describe('MetricsService', () => {
  it('registers counters, gauges and histograms under steady_ in Prometheus text', async () => {
    const m = service();
    m.counter({ name: 'mails_total', help: 'Mails', labelNames: ['result'] }).inc(
      { result: 'ok' },
      2,
    );
    m.gauge({ name: 'queue_depth_messages', help: 'Queue' }).set(undefined, 7);
    m.histogram({ name: 'scan_duration_seconds', help: 'Scan', buckets: [0.1, 1] }).observe(
      undefined,
      0.5,
    );
    const { contentType, body } = await m.render();
    expect(contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(body).toContain('# HELP steady_mails_total Mails');
    expect(body).toContain('steady_mails_total{result="ok"} 2');
    expect(body).toContain('steady_queue_depth_messages 7');
    expect(body).toContain('steady_scan_duration_seconds_bucket{le="0.1"} 0');
    expect(body).toContain('steady_scan_duration_seconds_bucket{le="1"} 1');
  });

  it('returns the same metric when registered twice alike, and refuses a conflicting registration', () => {
    const m = service();
    const a = m.counter({ name: 'x_total', help: 'x', labelNames: ['a', 'b'] });
    expect(m.counter({ name: 'x_total', help: 'x', labelNames: ['b', 'a'] })).toBe(a);
    expect(() => m.counter({ name: 'x_total', help: 'x', labelNames: ['a'] })).toThrow(
      /already registered/,
    );
    expect(() => m.gauge({ name: 'y_bytes', help: '' })).toThrow(/needs a help text/);
  });

  it('reads live values through collect callbacks at scrape time', async () => {
    const m = service();
    let depth = 1;
    m.gauge({ name: 'depth_messages', help: 'd', collect: (g) => g.set(undefined, depth) });
    expect((await m.render()).body).toContain('steady_depth_messages 1');
    depth = 5;
    expect((await m.render()).body).toContain('steady_depth_messages 5');
  });

  it('adds default labels and Node default metrics when asked', async () => {
    const m = service({ defaultMetrics: true, defaultLabels: { service: 'mail' } });
    const { body } = await m.render();
    expect(body).toMatch(/process_cpu_user_seconds_total\{service="mail"\} /);
    expect(body).toMatch(/nodejs_heap_size_used_bytes\{service="mail"\} /);
    m.onModuleDestroy();
  });

  it('uses a registry passed in and removes only its own metrics on destroy', async () => {
    const registry = new Registry();
    registry.registerMetric(
      new (await import('prom-client')).Gauge({ name: 'app_owned', help: 'a', registers: [] }),
    );
    const m = service({ registry });
    m.gauge({ name: 'mine_bytes', help: 'm' });
    expect(registry.getSingleMetric('steady_mine_bytes')).toBeDefined();
    m.onModuleDestroy();
    expect(registry.getSingleMetric('steady_mine_bytes')).toBeUndefined();
    expect(registry.getSingleMetric('app_owned')).toBeDefined();
  });
});
