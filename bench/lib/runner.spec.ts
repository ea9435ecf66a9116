import { describe, expect, it } from 'vitest';
import type { GeneratorResult } from './load-generator';
import { detectPinning, pinnedCommand } from './pinning';
import { metricsOf, renderSummary, summarize, warningsFor, type RunRecord } from './runner';

function fakeResult(
  over: Partial<GeneratorResult> & { p99?: number; rate?: number },
): GeneratorResult {
  const { p99 = 5, rate = 1000, ...rest } = over;
  const open = (over.mode ?? 'open') === 'open';
  return {
    mode: 'open',
    config: {
      mode: open ? 'open' : 'closed',
      target: 'http://127.0.0.1:1',
      request: { method: 'GET', path: '/' },
      durationMs: 1000,
      deadlineMs: 1000,
      hardTimeoutMs: 7000,
      warmupMs: 0,
      rate: open ? rate : null,
      connections: open ? null : 32,
      maxOutstanding: 100,
      maxSockets: 64,
      maxRequests: 1e6,
      mix: null,
      steps: null,
      timelineBucketMs: null,
    },
    startedAt: '2026-01-01T00:00:00.000Z',
    elapsedMs: 1000,
    scheduled: 1000,
    sent: 1000,
    dropped: 0,
    ok: 1000,
    timeouts: 0,
    shed: 0,
    shed429: 0,
    shed503: 0,
    errors: 0,
    errorStatus: 0,
    errorNetwork: 0,
    inFlightAtEnd: 0,
    statusCounts: { '200': 1000 },
    sendRate: 1000,
    throughput: 1000,
    goodput: 1000,
    latencyMs: { count: 1000, min: 0.5, mean: 1, p50: 1, p90: 2, p99, max: p99 * 2 },
    shedLatencyMs: { count: 0, min: NaN, mean: NaN, p50: NaN, p90: NaN, p99: NaN, max: NaN },
    shedFromSendMs: { count: 0, min: NaN, mean: NaN, p50: NaN, p90: NaN, p99: NaN, max: NaN },
    byLabel: null,
    timeline: null,
    sendLagMs: open
      ? { count: 1000, min: 0, mean: 0.1, p50: 0.1, p90: 0.2, p99: 0.5, max: 1 }
      : null,
    cpu: { userMs: 100, systemMs: 10, pct: 11 },
    warmup: null,
    aborted: false,
    errorSamples: [],
    ...rest,
  };
}

function rec(run: number, variant: string, phase: string, result: GeneratorResult): RunRecord {
  return {
    run,
    variant,
    phase,
    server: { pid: 1, startupMs: 1, pinnedCpus: '0' },
    generatorPinnedCpus: '1',
    setup: {},
    cpu: { machine: 120, steal: 0, server: 90, generator: 20, runner: 1, other: 9 },
    quietWait: { busyPct: 3, quiet: true, waitedMs: 500 },
    metrics: metricsOf(result),
    result,
  };
}

describe('runner aggregation', () => {
  const records: RunRecord[] = [];
  for (const [run, p99s] of [
    [1, [5, 9]],
    [2, [7, 3]],
    [3, [6, 4]],
  ] as const) {
    records.push(rec(run, 'express', 'open', fakeResult({ p99: p99s[0] })));
    records.push(rec(run, 'fastify', 'open', fakeResult({ p99: p99s[1] })));
    records.push(
      rec(run, 'express', 'closed', fakeResult({ mode: 'closed', goodput: 5000 + run * 100 })),
    );
  }

  it('groups by phase then variant, in definition order, with median and spread', () => {
    const rows = summarize(records, ['closed', 'open'], ['express', 'fastify']);
    expect(rows.map((r) => `${r.phase}/${r.variant}`)).toEqual([
      'closed/express',
      'open/express',
      'open/fastify',
    ]);
    expect(rows[0]).toMatchObject({ mode: 'closed', offered: '32 conns', runs: 3 });
    expect(rows[0].metrics.goodput).toMatchObject({ median: 5200, min: 5100, max: 5300 });
    expect(rows[1].offered).toBe('1000/s');
    expect(rows[1].metrics.p99).toMatchObject({ median: 6, min: 5, max: 7, values: [5, 7, 6] });
    expect(rows[2].metrics.p99).toMatchObject({ median: 4, min: 3, max: 9 });
  });

  it('renders an aligned table with median (min-max) cells', () => {
    const rows = summarize(records, ['closed', 'open'], ['express', 'fastify']);
    const lines = renderSummary(rows).split('\n');
    expect(lines[0]).toMatch(/^phase\s+variant\s+offered\s+send\/s\s+goodput\/s\s+p50 ms/);
    expect(lines[2]).toContain('5200 (5100-5300)');
    expect(lines[3]).toContain('6.00 (5.00-7.00)');
    const widths = new Set(lines.map((l) => l.length));
    expect(Math.max(...widths)).toBe(lines[1].length); // the rule is the widest line
  });

  it('warns about drops, aborted runs, a lagging generator and a low send rate', () => {
    const bad = fakeResult({
      dropped: 3,
      aborted: true,
      sendRate: 900,
      sendLagMs: { count: 1, min: 0, mean: 0, p50: 0, p90: 0, p99: 12, max: 20 },
    });
    const w = warningsFor([rec(1, 'x', 'open', bad)]);
    expect(w).toHaveLength(4);
    expect(w.join('\n')).toMatch(/dropped/);
    expect(warningsFor(records)).toEqual([]);
  });
});

describe('pinning', () => {
  it('wraps with taskset only when cpus are given', () => {
    expect(pinnedCommand('1', 'node', ['a.js'])).toEqual({
      command: 'taskset',
      args: ['-c', '1', 'node', 'a.js'],
    });
    expect(pinnedCommand(null, 'node', ['a.js'])).toEqual({ command: 'node', args: ['a.js'] });
  });

  it('can be disabled, and says why', () => {
    expect(detectPinning({ BENCH_NO_PIN: '1' })).toEqual({
      applied: false,
      reason: 'disabled by BENCH_NO_PIN=1',
      serverCpus: null,
      generatorCpus: null,
    });
  });
});
