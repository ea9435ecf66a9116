import { counterDelta, histogramDelta, quantile, shareAbove } from './explain-query';
import type { ExplainFinding } from './explain-report.interface';
import type { ExplainSnapshot, MetricFamily } from './explain-snapshot.interface';
import {
  counterFamily,
  gaugeFamily,
  histogramFamily,
  histogramSeries,
  scenario,
  times,
} from './explain-test.snapshots';
import { EXPLAIN_METRICS as M, explain, type ExplainThresholds } from './explain.rules';
import { REQUEST_DURATION_BUCKETS, REQUEST_SIZE_BUCKETS } from './http-metrics.interceptor';

const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

function rule(
  snaps: ExplainSnapshot[],
  id: string,
  t: Partial<ExplainThresholds> = {},
  downstreams = [],
) {
  const f = explain(snaps, t, downstreams).findings.find((x) => x.rule === id);
  if (!f) throw new Error(`no finding ${id}`);
  return f;
}

function expectNumbersIn(f: ExplainFinding, ...numbers: (string | number)[]) {
  for (const n of numbers) expect(f.text).toContain(String(n));
}

/** Shedding present with maxInFlight 80: the counters count up to what is passed. */
function shedding(
  shed: number,
  admitted: number,
  reason = 'in_flight',
  shadow = false,
): Record<string, MetricFamily> {
  return {
    [M.shedEnabled]: gaugeFamily([{}, 1]),
    [M.shedShadow]: gaugeFamily([{}, shadow ? 1 : 0]),
    [M.shedMaxInFlight]: gaugeFamily([{}, 80]),
    [M.shedRequests]: shadow
      ? counterFamily()
      : counterFamily([{ reason, priority: 'normal' }, shed]),
    [M.shedWouldShed]: shadow
      ? counterFamily([{ reason, priority: 'normal' }, shed])
      : counterFamily(),
    [M.shedAdmitted]: counterFamily([{}, admitted]),
    [M.shedSignalLevel]: gaugeFamily(),
  };
}

/** The spam scanner's latency histogram: `calls` per second, `latency` each, cumulative up to t. */
function scanner(t: number, slowFrom: number, fast = 0.02, slow = 2): Record<string, MetricFamily> {
  const obs = [
    ...times(Math.round(Math.min(t, slowFrom) * 10), fast),
    ...times(Math.round(Math.max(t - slowFrom, 0) * 10), slow),
  ];
  return {
    steady_sample_spam_scan_duration_seconds: histogramFamily(
      histogramSeries({ outcome: 'ok' }, SECONDS, obs),
    ),
  };
}

describe('explain query helpers', () => {
  it('counts counter growth per series, from 0 for new series and after a reset', () => {
    const a: ExplainSnapshot = {
      at: 0,
      spanMs: 0,
      metrics: { x_total: counterFamily([{ r: 'a' }, 5], [{ r: 'b' }, 10]) },
    };
    const b: ExplainSnapshot = {
      at: 1,
      spanMs: 0,
      metrics: { x_total: counterFamily([{ r: 'a' }, 7], [{ r: 'b' }, 3], [{ r: 'c' }, 4]) },
    };
    expect(counterDelta(a, b, 'x_total')).toBe(2 + 3 + 4);
    expect(counterDelta(a, b, 'x_total', { r: 'a' })).toBe(2);
    expect(counterDelta(a, b, 'missing_total')).toBeUndefined();
  });

  it('estimates quantiles and shares from histogram growth', () => {
    const a: ExplainSnapshot = {
      at: 0,
      spanMs: 0,
      metrics: { h: histogramFamily(histogramSeries({}, [1, 2, 4], [0.5, 0.5])) },
    };
    const b: ExplainSnapshot = {
      at: 1,
      spanMs: 0,
      metrics: { h: histogramFamily(histogramSeries({}, [1, 2, 4], [0.5, 0.5, 3, 3, 3, 3])) },
    };
    const d = histogramDelta(a, b, 'h')!;
    expect(d.count).toBe(4);
    expect(d.sum).toBe(12);
    expect(quantile(d, 0.5)).toBe(3); // all four in (2, 4]: linear inside the bucket
    expect(shareAbove(d, 2)).toBe(1);
    expect(shareAbove(d, 4)).toBe(0);
  });
});

describe('explain rules', () => {
  describe('slow-downstream', () => {
    const incident = (slowFrom: number, inFlight: number, elu: number) =>
      scenario(60_000, 2000, (t) => ({
        core:
          t > slowFrom
            ? { inFlightMean: inFlight, inFlightMax: inFlight + 5, eluMean: elu, cpuMean: elu }
            : {},
        metrics: { ...shedding(0, t * 20), ...scanner(t, slowFrom) },
      }));
    const downstreams = [
      { name: 'spam scanner', metric: 'steady_sample_spam_scan_duration_seconds' },
    ];

    it('fires when in flight is high, the loop idles and the downstream got slow, with the numbers', () => {
      const f = rule(incident(30, 68, 0.12), 'slow-downstream', {}, downstreams as never);
      expect(f.status).toBe('firing');
      expect(f.severity).toBe('critical');
      expect(f.title).toBe('Saturated: the spam scanner is slow');
      expectNumbersIn(
        f,
        '68 of 80 requests in flight',
        '85 %',
        'only 12 % busy',
        'spam scanner takes 2 s',
        'up from 20 ms',
      );
      expect(f.numbers.in_flight_utilisation_ratio).toBe(0.85);
      expect(f.advice).toMatch(/not a capacity problem/);
    });

    it('says when no measured downstream explains it', () => {
      const snaps = scenario(60_000, 2000, () => ({ core: { inFlightMean: 90, eluMean: 0.1 } }));
      const f = rule(snaps, 'slow-downstream');
      expect(f.status).toBe('firing');
      expect(f.title).toBe('Saturated while the CPU idles');
      expect(f.text).toContain('No downstream latency is measured here');
      expect(f.text).toContain('90 of 100'); // explain's own maxInFlight without load shedding
    });

    it('stays quiet when in flight is low, or when the loop is busy (CPU-bound instead)', () => {
      expect(rule(incident(20, 10, 0.12), 'slow-downstream', {}, downstreams as never).status).toBe(
        'quiet',
      );
      const busy = rule(incident(20, 70, 0.95), 'slow-downstream', {}, downstreams as never);
      expect(busy.status).toBe('quiet');
      expect(busy.text).toContain('see CPU-bound');
    });

    it('is absent without the core signal', () => {
      const f = rule(
        scenario(10_000, 2000, () => ({ core: null })),
        'slow-downstream',
      );
      expect(f.status).toBe('absent');
      expect(f.text).toContain('@steady/core is not present');
    });
  });

  describe('cpu-bound', () => {
    it('fires on a busy loop and names the route that takes the time', () => {
      const snaps = scenario(60_000, 2000, (t) => ({
        core: t > 20 ? { eluMean: 0.97, eluMax: 1, cpuMean: 1.01, loopDelayP99Ms: 180 } : {},
        metrics: {
          [M.requestDuration]: histogramFamily(
            histogramSeries(
              { method: 'POST', route: '/mails', status_class: '2xx' },
              REQUEST_DURATION_BUCKETS,
              times(t * 10, 0.3),
            ),
            histogramSeries(
              { method: 'GET', route: '/health', status_class: '2xx' },
              REQUEST_DURATION_BUCKETS,
              times(t, 0.001),
            ),
          ),
        },
      }));
      const f = rule(snaps, 'cpu-bound');
      expect(f.status).toBe('firing');
      expect(f.severity).toBe('critical');
      expectNumbersIn(f, '97 % busy', '1.01 core', 'p99 180 ms', 'POST /mails');
    });

    it('fires as "blocked" on loop delay alone, and stays quiet when calm', () => {
      const blocked = scenario(60_000, 2000, () => ({
        core: { eluMean: 0.4, cpuMean: 0.4, loopDelayP99Ms: 450 },
      }));
      expect(rule(blocked, 'cpu-bound').title).toBe('The event loop is blocked');
      const calm = rule(
        scenario(60_000, 2000, () => ({})),
        'cpu-bound',
      );
      expect(calm.status).toBe('quiet');
      expect(calm.text).toContain('10 % busy');
    });
  });

  describe('volume-spike', () => {
    const spike = (inFlight: number) =>
      scenario(90_000, 2000, (t) => ({
        core: t > 60 ? { arrivalRate: 240, inFlightMean: inFlight } : { arrivalRate: 60 },
        metrics: {
          [M.requestSize]: histogramFamily(
            histogramSeries(
              { method: 'POST', route: '/mails' },
              REQUEST_SIZE_BUCKETS,
              times(t * 20, 900),
            ),
          ),
        },
      }));

    it('fires on many small requests and says they do not occupy the server (the seed: small mails)', () => {
      const f = rule(spike(3), 'volume-spike');
      expect(f.status).toBe('firing');
      expect(f.severity).toBe('info');
      expect(f.title).toBe('Volume spike, absorbed');
      expectNumbersIn(f, '240/s', '4× the 60/s', '900 B', 'do not occupy', '3 of 100');
    });

    it('warns when the spike fills the server', () => {
      const f = rule(spike(85), 'volume-spike');
      expect(f.title).toBe('Volume spike filling the server');
      expect(f.advice).toMatch(/what shedding is for/);
    });

    it('stays quiet at a steady rate and with too little history', () => {
      expect(
        rule(
          scenario(90_000, 2000, () => ({ core: { arrivalRate: 200 } })),
          'volume-spike',
        ).status,
      ).toBe('quiet');
      const short = rule(
        scenario(10_000, 2000, () => ({ core: { arrivalRate: 200 } })),
        'volume-spike',
      );
      expect(short.status).toBe('quiet');
      expect(short.text).toContain('not enough history');
    });
  });

  describe('large-payloads', () => {
    const sizes = (large: boolean) =>
      scenario(60_000, 2000, (t) => ({
        core: large && t > 30 ? { inFlightMean: 60, inFlightMax: 70 } : {},
        metrics: {
          [M.requestSize]: histogramFamily(
            histogramSeries({ method: 'POST', route: '/mails' }, REQUEST_SIZE_BUCKETS, [
              ...times(t * 2, 2000),
              ...times(large ? Math.max(t - 30, 0) * 2 : 0, 3_000_000),
            ]),
          ),
        },
      }));

    it('fires when the size distribution shifts to large bodies, with share, mean and the earlier mean', () => {
      const f = rule(sizes(true), 'large-payloads');
      expect(f.status).toBe('firing');
      expectNumbersIn(
        f,
        '50 %',
        '120 requests with a body',
        '1 MiB or more',
        'before: mean 1.95 KiB',
      );
      expect(f.numbers.large_share_ratio).toBe(0.5);
    });

    it('fires on a few large bodies among many small ones when they carry most of the bytes', () => {
      const snaps = scenario(60_000, 2000, (t) => ({
        metrics: {
          [M.requestSize]: histogramFamily(
            histogramSeries({ method: 'POST', route: '/mails' }, REQUEST_SIZE_BUCKETS, [
              ...times(t * 20, 900),
              ...times(t > 40 ? 6 : 0, 1_500_000),
            ]),
          ),
        },
      }));
      const f = rule(snaps, 'large-payloads');
      expect(f.status, f.text).toBe('firing');
      expect(f.text).toMatch(
        /1 % of the \d+ requests with a body were 1 MiB or more, carrying at least \d+ % of the bytes/,
      );
    });

    it('stays quiet on small bodies, and is absent when the size histogram is off', () => {
      expect(rule(sizes(false), 'large-payloads').status).toBe('quiet');
      expect(
        rule(
          scenario(10_000, 2000, () => ({})),
          'large-payloads',
        ).status,
      ).toBe('absent');
    });
  });

  describe('shedding', () => {
    it('fires with the count, the share and why', () => {
      const snaps = scenario(60_000, 2000, (t) => ({
        core: { inFlightMean: 68 },
        metrics: shedding(t > 30 ? (t - 30) * 40 : 0, t * 60),
      }));
      const f = rule(snaps, 'shedding');
      expect(f.status).toBe('firing');
      expect(f.title).toBe('Shedding is active');
      expectNumbersIn(
        f,
        '1200 requests were answered 429',
        '40/s',
        '40 %',
        'in flight near maxInFlight 80',
        'normal 1200',
      );
    });

    it('reports shadow mode as "would shed"', () => {
      const snaps = scenario(60_000, 2000, (t) => ({
        metrics: shedding(t * 2, t * 60, 'event_loop', true),
      }));
      const f = rule(snaps, 'shedding');
      expect(f.title).toBe('Shadow mode would shed');
      expect(f.text).toContain('the event loop overloaded');
    });

    it('is quiet when nothing is shed, absent without load shedding', () => {
      const quiet = rule(
        scenario(60_000, 2000, (t) => ({ metrics: shedding(0, t * 60) })),
        'shedding',
      );
      expect(quiet.status).toBe('quiet');
      expect(quiet.text).toContain('rejected nothing');
      const absent = rule(
        scenario(60_000, 2000, () => ({})),
        'shedding',
      );
      expect(absent.status).toBe('absent');
      expect(absent.text).toContain('@steady/load-shedding is not present');
    });
  });

  describe('draining', () => {
    const drain = (state: string, source = 'signal') =>
      scenario(20_000, 2000, () => ({
        metrics: {
          [M.drainState]: gaugeFamily(
            ...['serving', 'draining', 'closing', 'exited'].map(
              (s) => [{ state: s }, s === state ? 1 : 0] as [Record<string, string>, number],
            ),
          ),
          [M.drainTriggers]: counterFamily(
            ...(state === 'serving'
              ? []
              : [[{ source, result: 'started' }, 1] as [Record<string, string>, number]]),
          ),
          [M.drainDuration]: gaugeFamily(
            ...(state === 'serving'
              ? []
              : [[{ phase: 'total' }, 4.2] as [Record<string, string>, number]]),
          ),
          [M.drainInFlight]: gaugeFamily(
            ...(state === 'serving'
              ? []
              : [[{ phase: 'draining' }, 14] as [Record<string, string>, number]]),
          ),
        },
      }));

    it('fires while draining and says who asked', () => {
      const f = rule(drain('draining'), 'draining');
      expect(f.status).toBe('firing');
      expectNumbersIn(f, 'draining since 4.2 s', 'a signal (SIGTERM', '14 requests were in flight');
      expect(rule(drain('closing', 'admin'), 'draining').text).toContain('the admin endpoint');
    });

    it('is quiet while serving and absent without @steady/health', () => {
      expect(rule(drain('serving'), 'draining').status).toBe('quiet');
      expect(
        rule(
          scenario(10_000, 2000, () => ({})),
          'draining',
        ).status,
      ).toBe('absent');
    });
  });

  describe('memory (reads @steady/oom-guard by the contract names)', () => {
    const oom = (ratioAt: (t: number) => number, level = 0) =>
      scenario(120_000, 5000, (t) => ({
        metrics: {
          [M.oomRatio]: gaugeFamily([{ kind: 'old_gen' }, ratioAt(t)], [{ kind: 'cgroup' }, 0.3]),
          [M.oomThreshold]: gaugeFamily(
            [{ kind: 'old_gen', level: 'warning' }, 0.8],
            [{ kind: 'old_gen', level: 'action' }, 0.9],
            [{ kind: 'cgroup', level: 'warning' }, 0.85],
            [{ kind: 'cgroup', level: 'action' }, 0.95],
          ),
          [M.oomLevel]: gaugeFamily([{}, level]),
          [M.oomTriggers]: counterFamily(),
        },
      }));

    it('fires when memory reaches the action threshold within the ETA at its trend', () => {
      // +0.1 percentage point per second: from 0.5 + 0.12 = 0.62 at 120 s, 0.28 to go = 280 s
      const f = rule(
        oom((t) => 0.5 + t * 0.001),
        'memory',
      );
      expect(f.status).toBe('firing');
      expect(f.title).toBe('Memory trending toward the OOM guard');
      expectNumbersIn(f, 'old_gen 62 %', 'action at 90 %', 'reaches the action threshold in 280 s');
      expect(f.numbers.old_gen_eta_seconds).toBe(280);
    });

    it('fires critical at level 2, stays quiet when flat, and is absent without the guard', () => {
      expect(
        rule(
          oom(() => 0.92, 2),
          'memory',
        ).severity,
      ).toBe('critical');
      const flat = rule(
        oom(() => 0.5),
        'memory',
      );
      expect(flat.status).toBe('quiet');
      expect(flat.text).toContain('old_gen 50 %');
      const none = rule(
        scenario(10_000, 2000, () => ({})),
        'memory',
      );
      expect(none.status).toBe('absent');
      expect(none.text).toContain('@steady/oom-guard is not present');
      expect(none.text).toContain('heap is 30 % of its limit');
    });
  });

  describe('ws-slow-consumers', () => {
    const ws = (unwritable: (t: number) => number, evicted = 0) =>
      scenario(60_000, 2000, (t) => ({
        metrics: {
          [M.wsClients]: gaugeFamily([{}, 12]),
          [M.wsUnwritable]: gaugeFamily([{}, unwritable(t)]),
          [M.wsBuffered]: gaugeFamily([{}, unwritable(t) * 1024 * 1024]),
          [M.wsEvicted]: counterFamily([{ reason: 'slow_consumer' }, t > 50 ? evicted : 0]),
          [M.wsDropped]: counterFamily(),
        },
      }));

    it('fires on clients staying above the high water mark, with evictions', () => {
      const f = rule(
        ws((t) => (t > 30 ? 8 : 0), 3),
        'ws-slow-consumers',
      );
      expect(f.status).toBe('firing');
      expectNumbersIn(f, '8 of 12 WebSocket clients', '8 MiB buffered', '3 slow_consumer');
    });

    it('stays quiet on brief blips and is absent without the module', () => {
      expect(
        rule(
          ws((t) => (t === 40 ? 1 : 0)),
          'ws-slow-consumers',
        ).status,
      ).toBe('quiet');
      expect(
        rule(
          scenario(10_000, 2000, () => ({})),
          'ws-slow-consumers',
        ).status,
      ).toBe('absent');
    });
  });

  describe('cache-hit-ratio (reads @steady/http-client by the contract names)', () => {
    const client = (collapseAt: number, storeErrors = 0) =>
      scenario(90_000, 3000, (t) => {
        const before = Math.min(t, collapseAt);
        const after = Math.max(t - collapseAt, 0);
        return {
          metrics: {
            [M.clientRequests]: counterFamily(
              [{ client: 'addressbook', cache: 'hit' }, before * 9 + after * 1],
              [{ client: 'addressbook', cache: 'miss' }, before * 1 + after * 9],
              [{ client: 'addressbook', cache: 'bypass' }, t * 5],
            ),
            [M.clientStoreErrors]: counterFamily([
              { client: 'addressbook', op: 'get' },
              after > 0 ? storeErrors : 0,
            ]),
            [M.clientOrigin]: histogramFamily(
              histogramSeries({ client: 'addressbook' }, SECONDS, times(Math.round(t), 0.08)),
            ),
          },
        };
      });

    it('fires when the hit ratio collapses, and names a failing store as the cause', () => {
      const f = rule(client(60, 42), 'cache-hit-ratio');
      expect(f.status).toBe('firing');
      expectNumbersIn(
        f,
        '"addressbook": 10 % hits',
        'down from 90 %',
        '42 store errors',
        'origin round trips 80 ms',
      );
      expect(rule(client(60), 'cache-hit-ratio').text).toContain('entries are missing');
    });

    it('stays quiet at a steady ratio, and is absent without the client', () => {
      const steady = rule(client(1000), 'cache-hit-ratio');
      expect(steady.status).toBe('quiet');
      expect(steady.text).toContain('"addressbook" 90 % hits');
      const none = rule(
        scenario(10_000, 2000, () => ({})),
        'cache-hit-ratio',
      );
      expect(none.status).toBe('absent');
      expect(none.text).toContain('@steady/http-client is not present');
    });
  });

  describe('scale-up advisor', () => {
    it('says "scale up" when the average over the window is high and the loop is working', () => {
      const snaps = scenario(300_000, 5000, () => ({
        core: { eluMean: 0.82, eluMax: 0.95, cpuMean: 0.8, inFlightMean: 40 },
      }));
      const r = explain(snaps);
      expect(r.advisor.status).toBe('firing');
      expect(r.advisor.title).toBe('Scale up');
      expect(r.advisor.text).toContain('Average utilisation 82 %');
      expect(r.advisor.advice).toContain('1.64×');
    });

    it('says shedding handles short spikes', () => {
      const snaps = scenario(300_000, 5000, (t) => ({
        core:
          t % 60 < 5 ? { inFlightMean: 70, inFlightMax: 78, eluMean: 0.5 } : { inFlightMean: 10 },
        metrics: shedding(Math.floor(t / 60) * 30, t * 50),
      }));
      const r = explain(snaps);
      expect(r.advisor.title).toBe('Spikes: shedding is handling them');
      expect(r.advisor.text).toMatch(/Peaks reach 98 % but the average is \d+ %/);
    });

    it('says not to scale for a slow downstream, waits for enough history, and is quiet when calm', () => {
      const waiting = scenario(300_000, 5000, () => ({ core: { inFlightMean: 80, eluMean: 0.1 } }));
      expect(explain(waiting).advisor.title).toBe(
        'Do not scale up for this: requests are waiting, not working',
      );
      // said at once: no history is needed to know more instances would only wait too
      const waitingEarly = scenario(20_000, 2000, () => ({
        core: { inFlightMean: 80, eluMean: 0.1 },
      }));
      expect(explain(waitingEarly).advisor.title).toBe(
        'Do not scale up for this: requests are waiting, not working',
      );
      const early = scenario(20_000, 2000, () => ({ core: { eluMean: 0.95, cpuMean: 0.95 } }));
      expect(explain(early).advisor.title).toBe('Busy, too early to advise scaling');
      const calm = explain(scenario(300_000, 5000, () => ({})));
      expect(calm.advisor.status).toBe('quiet');
      expect(calm.advisor.title).toBe('Capacity is fine');
    });
  });

  it('orders firing findings by severity and makes the headline from the worst', () => {
    const snaps = scenario(60_000, 2000, (t) => ({
      core: { inFlightMean: 70, eluMean: 0.1 },
      metrics: shedding(t * 10, t * 60),
    }));
    const r = explain(snaps);
    expect(r.findings[0]!.rule).toBe('slow-downstream');
    expect(r.headline.startsWith('Saturated while the CPU idles.')).toBe(true);
    expect(r.modules).toMatchObject({
      core: true,
      'load-shedding': true,
      'http-client': false,
      'oom-guard': false,
    });
    const statuses = r.findings.map((f) => f.status);
    expect(statuses.indexOf('absent')).toBeGreaterThan(statuses.lastIndexOf('firing'));
    expect(explain(scenario(60_000, 2000, () => ({}))).headline).toBe('All quiet: no rule fires.');
  });
});

describe('cpu-starved', () => {
  it('fires when the loop is busy without the CPU time for it, and keeps cpu-bound quiet', () => {
    const snaps = scenario(60_000, 2000, () => ({
      core: { eluMean: 0.6, cpuMean: 0.08, loopDelayP99Ms: 160 },
    }));
    const r = explain(snaps);
    const starved = r.findings.find((f) => f.rule === 'cpu-starved')!;
    expect(starved.status).toBe('firing');
    expect(starved.text).toContain('only 0.08 core');
    expect(r.findings.find((f) => f.rule === 'cpu-bound')!.status).toBe('quiet');
    const calm = explain(scenario(60_000, 2000, () => ({})));
    expect(calm.findings.find((f) => f.rule === 'cpu-starved')!.status).toBe('quiet');
  });
});

describe('pool-saturation', () => {
  const pool = {
    name: 'spam scanner',
    metric: 'steady_sample_spam_scan_duration_seconds',
    pool: {
      inUse: 'steady_sample_spam_scanner_pool_in_use',
      size: 'steady_sample_spam_scanner_pool_size',
      queued: 'steady_sample_spam_scanner_queue_depth',
    },
  };
  const window = (inUse: (t: number) => number, queued: (t: number) => number) =>
    scenario(60_000, 2000, (t) => ({
      core: t > 30 ? { inFlightMean: 80, eluMean: 0.1 } : {},
      metrics: {
        steady_sample_spam_scanner_pool_in_use: gaugeFamily([{}, inUse(t)]),
        steady_sample_spam_scanner_pool_size: gaugeFamily([{}, 8]),
        steady_sample_spam_scanner_queue_depth: gaugeFamily([{}, queued(t)]),
        ...scanner(t, 30),
      },
    }));

  it('fires when the pool stays full, and the slow-downstream text names it', () => {
    const snaps = window(
      (t) => (t > 30 ? 8 : 2),
      (t) => (t > 30 ? 120 : 0),
    );
    const r = explain(snaps, {}, [pool]);
    const f = r.findings.find((x) => x.rule === 'pool-saturation')!;
    expect(f.status).toBe('firing');
    expect(f.title).toBe('The spam scanner pool is full');
    expect(f.text).toContain('8 of 8 slots busy now, 100 % on average');
    expect(f.text).toContain('120 callers waiting');
    const slow = r.findings.find((x) => x.rule === 'slow-downstream')!;
    expect(slow.text).toContain('its pool has 8 of 8 slots busy and 120 callers waiting');
  });

  it('stays quiet with room in the pool, and is absent without a configured pool', () => {
    const f = explain(
      window(
        () => 3,
        () => 0,
      ),
      {},
      [pool],
    ).findings.find((x) => x.rule === 'pool-saturation')!;
    expect(f.status).toBe('quiet');
    expect(f.text).toContain('3 of 8 slots busy');
    const none = explain(
      window(
        () => 3,
        () => 0,
      ),
    ).findings.find((x) => x.rule === 'pool-saturation')!;
    expect(none.status).toBe('absent');
  });
});
