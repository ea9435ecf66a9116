import { InFlightTracker, UtilisationMonitor, resolveCoreOptions } from '@steady/core';
import { prefersHtml } from './explain.controller';
import { renderExplainHtml } from './explain.html';
import { resolveExplainOptions } from './explain-options.validation';
import { ExplainService } from './explain.service';
import { explain } from './explain.rules';
import { scenario } from './explain-test.snapshots';
import { resolveMetricsOptions } from './metrics-options.validation';
import { MetricsService } from './metrics.service';

function setup(options = {}) {
  const metrics = new MetricsService(resolveMetricsOptions({ defaultMetrics: false }));
  const tracker = new InFlightTracker();
  const monitor = new UtilisationMonitor(resolveCoreOptions({}), tracker);
  const service = new ExplainService(resolveExplainOptions(options), metrics, monitor);
  return { metrics, tracker, monitor, service };
}

describe('explain options', () => {
  it('has defaults and rejects bad values naming the option and the range', () => {
    const o = resolveExplainOptions();
    expect(o).toMatchObject({ snapshotIntervalMs: 2000, windowMs: 600_000, httpMetrics: true });
    expect(o.thresholds.scaleUpAverage).toBe(0.7);
    expect(() => resolveExplainOptions({ snapshotIntervalMs: 10 })).toThrow(
      /invalid option "snapshotIntervalMs": expected an integer >= 50/,
    );
    expect(() => resolveExplainOptions({ windowMs: 3000, snapshotIntervalMs: 2000 })).toThrow(
      /"windowMs": expected at least twice snapshotIntervalMs/,
    );
    expect(() => resolveExplainOptions({ thresholds: { scaleUpAverage: 1.5 } })).toThrow(
      /"thresholds.scaleUpAverage"/,
    );
    expect(() => resolveExplainOptions({ thresholds: { eluLow: 0.95 } })).toThrow(
      /"thresholds.eluLow": expected below thresholds.eluHigh/,
    );
    expect(() => resolveExplainOptions({ thresholds: { scaleUp: 1 } as never })).toThrow(
      /invalid option "scaleUp"/,
    );
    expect(() => resolveExplainOptions({ downstreams: [{ name: '', metric: 'x' }] })).toThrow(
      /downstreams\[0\].name/,
    );
    expect(() =>
      resolveExplainOptions({ downstreams: [{ name: 'db', metric: 'bad name' }] }),
    ).toThrow(/downstreams\[0\].metric/);
    expect(() => resolveExplainOptions({ snapshotInterval: 5 } as never)).toThrow(
      /snapshotInterval/,
    );
  });
});

describe('prefersHtml', () => {
  it.each([
    ['text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', true],
    ['application/json', false],
    ['*/*', false],
    [undefined, false],
    ['application/json, text/html;q=0.5', false],
    ['text/html;q=0.9, application/json;q=0.1', true],
    ['text/html;q=0', false],
  ])('%s -> %s', (accept, expected) => {
    expect(prefersHtml(accept)).toBe(expected);
  });
});

describe('renderExplainHtml', () => {
  it('renders the headline, every finding and escapes text', () => {
    const report = explain(
      scenario(60_000, 2000, () => ({ core: { inFlightMean: 90, eluMean: 0.1 } })),
    );
    const html = renderExplainHtml({ ...report, headline: '<script>alert(1)</script>' });
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).not.toContain('<script>');
    for (const f of report.findings) expect(html).toContain(`data-rule="${f.rule}"`);
    expect(html).toContain('Saturated while the CPU idles');
  });
});

describe('ExplainService', () => {
  it('takes snapshots on the monitor samples, every snapshotIntervalMs, with the core aggregated', async () => {
    const { metrics, monitor, service } = setup({ snapshotIntervalMs: 50, windowMs: 1000 });
    metrics.counter({ name: 'thing_total', help: 'a thing' }).inc(undefined, 3);
    service.onModuleInit();
    monitor.sampleNow();
    expect(service.snapshots()).toHaveLength(0); // less than 50 ms since start
    await new Promise((r) => setTimeout(r, 60));
    monitor.sampleNow();
    await new Promise((r) => setTimeout(r, 0));
    const [first] = service.snapshots();
    expect(first).toBeDefined();
    expect(first!.core?.samples).toBe(2);
    expect(first!.metrics.steady_thing_total).toEqual({
      type: 'counter',
      series: [{ labels: {}, value: 3 }],
    });
    service.onModuleDestroy();
  });

  it('reports on the window plus now, and reads histograms from the registry', async () => {
    const { metrics, service } = setup({ snapshotIntervalMs: 50, windowMs: 1000 });
    metrics
      .histogram({ name: 'downstream_seconds', help: 'd', labelNames: ['x'], buckets: [0.1, 1] })
      .observe({ x: 'a' }, 0.5);
    const r = await service.reportWithSnapshots();
    expect(r.findings.length).toBe(12);
    const h = r.snapshots.at(-1)!.metrics.steady_downstream_seconds;
    expect(h).toEqual({
      type: 'histogram',
      series: [
        {
          labels: { x: 'a' },
          count: 1,
          sum: 0.5,
          buckets: [
            [0.1, 0],
            [1, 1],
            ['+Inf', 1],
          ],
        },
      ],
    });
  });

  it('keeps only the window (plus one snapshot before it) and refuses snapshots out of order', () => {
    const { service } = setup({ snapshotIntervalMs: 100, windowMs: 1000 });
    for (const s of scenario(5000, 100, () => ({}))) service.record(s);
    const kept = service.snapshots();
    expect(kept.at(-1)!.at - kept[0]!.at).toBe(1000);
    expect(kept).toHaveLength(11);
    expect(() => service.record({ ...kept[0]!, at: kept[0]!.at - 1 })).toThrow(/time order/);
  });

  it('needs MetricsModule', () => {
    expect(() => new ExplainService(resolveExplainOptions(), undefined, undefined)).toThrow(
      /import MetricsModule.forRoot\(\)/,
    );
  });
});
