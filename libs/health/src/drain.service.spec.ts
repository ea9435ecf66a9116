import { Logger } from '@nestjs/common';
import type {
  CounterDefinition,
  GaugeDefinition,
  MetricLabels,
  MetricsSink,
  SteadyCounter,
  SteadyGauge,
} from '@steady/core';
import { InFlightTracker } from '@steady/core';
import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DrainStatus, DrainTrigger } from './drain-state.interface';
import { DrainService } from './drain.service';
import type { HealthModuleOptions } from './health-options.interface';
import { resolveHealthOptions } from './health-options.validation';

/** A Node HTTP server as far as the drain can tell; `closeAllConnections` kills the exchanges in flight. */
class FakeServer extends EventEmitter {
  listening = true;
  calls: string[] = [];
  readonly open = new Set<ServerResponse>();
  /** Connections without a counted request (e.g. one whose request is still arriving). */
  pendingConnections = 0;
  private onAllClosed: (() => void) | undefined;
  close(cb?: () => void): void {
    this.calls.push('close');
    this.listening = false;
    this.onAllClosed = cb;
    this.maybeClosed();
  }
  endPendingConnection(): void {
    this.pendingConnections--;
    this.maybeClosed();
  }
  closeIdleConnections(): void {
    this.calls.push('closeIdle');
  }
  closeAllConnections(): void {
    this.calls.push('closeAll');
    for (const res of this.open) res.emit('close');
    this.pendingConnections = 0;
    this.maybeClosed();
  }
  maybeClosed(): void {
    if (this.open.size === 0 && this.pendingConnections === 0) this.onAllClosed?.();
  }
}

class TestDrain extends DrainService {
  readonly terminated: DrainTrigger[] = [];
  protected override terminate(trigger: DrainTrigger): void {
    this.terminated.push(trigger);
  }
}

interface Exchange {
  req: IncomingMessage;
  res: ServerResponse & { headers: Record<string, string> };
  finish(): void;
}

function setup(options: HealthModuleOptions = {}) {
  const tracker = new InFlightTracker();
  const server = new FakeServer();
  const drain = new TestDrain(
    resolveHealthOptions({
      lb: { fall: 2, intervalMs: 100, marginMs: 100 },
      deadlineMs: 1_000,
      shutdownTimeoutMs: 500,
      ...options,
    }),
    tracker,
    { httpAdapter: { getHttpServer: () => server } } as never,
  );
  const states: string[] = [];
  drain.onStateChange((s) => states.push(s.state));
  const exchange = (): Exchange => {
    const req = Object.assign(new EventEmitter(), {
      method: 'GET',
      url: '/slow',
      httpVersionMajor: 1,
    }) as unknown as IncomingMessage;
    const headers: Record<string, string> = {};
    const res = Object.assign(new EventEmitter(), {
      headers,
      headersSent: false,
      writableFinished: false,
      setHeader: (name: string, value: string) => (headers[name] = value),
    }) as unknown as Exchange['res'];
    tracker.track(req, res);
    server.open.add(res);
    return {
      req,
      res,
      finish: () => {
        (res as { writableFinished: boolean }).writableFinished = true;
        server.open.delete(res);
        res.emit('close');
        server.maybeClosed();
      },
    };
  };
  /** A Nest app whose close() runs the shutdown hooks of the drain like Nest 12 does. */
  const closes: (string | undefined)[] = [];
  const app = {
    close: async (signal?: string) => {
      closes.push(signal);
      await drain.beforeApplicationShutdown(signal);
      drain.onApplicationShutdown();
    },
  };
  return { tracker, server, drain, states, exchange, app, closes };
}

describe('DrainService (fake clock)', () => {
  beforeAll(() => Logger.overrideLogger(false));
  afterAll(() => Logger.overrideLogger(['fatal', 'error', 'warn', 'log']));
  beforeEach(() => {
    vi.useFakeTimers({
      toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date', 'performance'],
    });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('flips at once, waits fall × interval + margin, closes, waits for in-flight, hands over, exits', async () => {
    const { drain, server, tracker, states, exchange, app, closes } = setup();
    drain.attachApplication(app);
    const order: string[] = [];
    drain.onDrained((s) => {
      order.push(`drained with ${s.inFlight} in flight`);
    });
    app.close = ((close) => async (signal?: string) => {
      order.push('app.close');
      await close(signal);
    })(app.close);
    const slow = exchange();
    expect(drain.isServing).toBe(true);

    const done = drain.drain('deploy', { exitCode: 3 });
    expect(drain.state).toBe('draining'); // synchronously: readiness is DOWN before drain() returns
    expect(drain.status()).toMatchObject({ state: 'draining', source: 'api', reason: 'deploy' });
    await vi.advanceTimersByTimeAsync(299);
    expect(server.calls).toEqual([]); // still accepting while the balancer notices
    expect(tracker.closingConnections).toBe(false);

    await vi.advanceTimersByTimeAsync(1);
    expect(drain.state).toBe('closing');
    expect(server.calls).toEqual(['close', 'closeIdle']);
    expect(slow.res.headers).toEqual({ connection: 'close' });
    expect(tracker.closingConnections).toBe(true);

    await vi.advanceTimersByTimeAsync(150);
    expect(drain.state).toBe('closing');
    slow.finish();
    const status = await done;
    expect(states).toEqual(['draining', 'closing', 'exited']);
    expect(order).toEqual(['drained with 0 in flight', 'app.close']);
    expect(closes).toEqual([undefined]);
    expect(server.calls).toEqual(['close', 'closeIdle', 'closeIdle']);
    expect(status.durations).toMatchObject({ lbWait: 300, inFlightWait: 150, total: 450 });
    expect(status.forcedRequests).toBe(0);
    expect(drain.terminated.map((t) => t.exit)).toEqual([3]);
  });

  it('ends the wait marginMs after lb.probes refused readiness probes', async () => {
    const { drain, server } = setup({
      lb: { fall: 3, intervalMs: 1000, marginMs: 100, probes: 2 },
      deadlineMs: 10_000,
    });
    drain.recordRefusedProbe(); // while serving: not counted
    const done = drain.drain('test');
    await vi.advanceTimersByTimeAsync(50);
    drain.recordRefusedProbe();
    await vi.advanceTimersByTimeAsync(30);
    drain.recordRefusedProbe();
    await vi.advanceTimersByTimeAsync(99);
    expect(server.calls).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(server.calls[0]).toBe('close');
    const status = await done;
    expect(status.refusedProbes).toBe(2);
    expect(status.durations.lbWait).toBe(180);
  });

  it('without probes the timed wait is the upper bound', async () => {
    const { drain, server } = setup({
      lb: { fall: 2, intervalMs: 100, marginMs: 100, probes: 5 },
    });
    void drain.drain('test');
    drain.recordRefusedProbe();
    await vi.advanceTimersByTimeAsync(299);
    expect(server.calls).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(server.calls[0]).toBe('close');
  });

  it('is idempotent: drain twice, the admin endpoint and app.close() all join one sequence', async () => {
    const metrics = fakeSink();
    const { drain, app, closes, states } = setup();
    Object.assign(drain, { metrics });
    drain.onModuleInit();
    drain.attachApplication(app);
    const first = drain.drain('one');
    const second = drain.drain('two');
    expect(second).toBe(first);
    expect(drain.start({ source: 'admin', reason: 'three' })).toBe(first);
    // someone calls app.close() mid-drain: Nest's hooks wait for the drain instead of cutting it short
    let externalClosed = false;
    void app.close('SIGTERM').then(() => (externalClosed = true));
    await vi.advanceTimersByTimeAsync(299);
    expect(drain.state).toBe('draining');
    expect(externalClosed).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    const status = await first;
    expect(status.reason).toBe('one');
    expect(states).toEqual(['draining', 'closing', 'exited']);
    expect(externalClosed).toBe(true);
    expect(closes).toEqual(['SIGTERM', undefined]); // the drain's own hand-over starts no second sequence
    expect(metrics.read('drain_triggers_total')).toEqual({
      'source=api,result=started': 1,
      'source=api,result=ignored': 1,
      'source=admin,result=ignored': 1,
      'source=app_close,result=ignored': 1,
    });
  });

  it('destroys the connections still open at the hard deadline, then goes on', async () => {
    const { drain, server, exchange, app } = setup({ deadlineMs: 1_000 });
    drain.attachApplication(app);
    const stuck = exchange();
    const done = drain.drain('deadline', { exitCode: 1 });
    await vi.advanceTimersByTimeAsync(999);
    expect(drain.state).toBe('closing');
    expect(server.calls).not.toContain('closeAll');
    await vi.advanceTimersByTimeAsync(1);
    expect(server.calls).toContain('closeAll');
    const status = await done;
    expect(stuck.res.listenerCount('close')).toBe(0);
    expect(status).toMatchObject({ state: 'exited', forcedRequests: 1, inFlight: 0 });
    expect(status.durations.total).toBe(1_000);
    expect(drain.terminated.map((t) => t.exit)).toEqual([1]);
  });

  it('after in-flight reaches 0, waits for the last connection to end (or the deadline)', async () => {
    const { drain, server } = setup({ deadlineMs: 1_000 });
    server.pendingConnections = 2; // accepted before the close, their requests not parsed yet
    const done = drain.drain('connections');
    await vi.advanceTimersByTimeAsync(500);
    expect(drain.state).toBe('closing');
    server.endPendingConnection();
    await vi.advanceTimersByTimeAsync(100);
    expect(drain.state).toBe('closing');
    server.endPendingConnection();
    expect((await done).durations.inFlightWait).toBe(300);
    expect(server.calls).not.toContain('closeAll');

    const late = setup({ deadlineMs: 1_000 });
    late.server.pendingConnections = 1; // never sends anything
    const status = await Promise.all([
      late.drain.drain('slowloris'),
      vi.advanceTimersByTimeAsync(1_000),
    ]).then(([s]) => s);
    expect(late.server.calls).toContain('closeAll');
    expect(status).toMatchObject({ state: 'exited', forcedRequests: 0 });
    expect(status.durations.total).toBe(1_000);
  });

  it('app.close() called directly drains the HTTP server without the balancer wait', async () => {
    const { drain, server, exchange, app, closes } = setup();
    drain.attachApplication(app);
    const inFlight = exchange();
    let closed = false;
    void app.close().then(() => (closed = true));
    await vi.advanceTimersByTimeAsync(0);
    expect(drain.status()).toMatchObject({ state: 'closing', source: 'app_close' });
    expect(server.calls).toEqual(['close', 'closeIdle']);
    await vi.advanceTimersByTimeAsync(200);
    expect(closed).toBe(false); // the in-flight request is not cut by Nest disposing the server
    inFlight.finish();
    await vi.advanceTimersByTimeAsync(0);
    expect(closed).toBe(true);
    expect(closes).toEqual([undefined]); // no second app.close()
    expect(drain.state).toBe('exited');
    expect(drain.terminated.map((t) => t.exit)).toEqual([false]);
  });

  it('bounds the onDrained hooks and the Nest shutdown by shutdownTimeoutMs', async () => {
    const { drain } = setup({ shutdownTimeoutMs: 500 });
    const seen: string[] = [];
    drain.onDrained(() => {
      throw new Error('hook bug'); // logged, the next hook still runs
    });
    drain.onDrained(() => {
      seen.push('second hook');
    });
    drain.attachApplication({ close: () => new Promise<void>(() => undefined) }); // a hook that never ends
    const done = drain.drain('stuck', { exitCode: 0 });
    await vi.advanceTimersByTimeAsync(300);
    expect(seen).toEqual(['second hook']);
    await vi.advanceTimersByTimeAsync(499);
    expect(drain.state).toBe('closing');
    await vi.advanceTimersByTimeAsync(1);
    expect((await done).durations.shutdown).toBe(500);
    expect(drain.terminated.map((t) => t.exit)).toEqual([0]);
  });

  it('drains on signals, once, hands the signal to Nest and re-raises it', async () => {
    const { drain, app, closes } = setup();
    drain.attachApplication(app);
    const before = process.listenerCount('SIGWINCH');
    drain.listenToSignals(['SIGWINCH']);
    drain.listenToSignals(['SIGWINCH']); // idempotent
    expect(process.listenerCount('SIGWINCH')).toBe(before + 1);
    process.emit('SIGWINCH', 'SIGWINCH');
    process.emit('SIGWINCH', 'SIGWINCH');
    expect(drain.status()).toMatchObject({
      state: 'draining',
      source: 'signal',
      reason: 'SIGWINCH',
    });
    await vi.advanceTimersByTimeAsync(300);
    expect(drain.state).toBe('exited');
    expect(closes).toEqual(['SIGWINCH']);
    expect(drain.terminated).toMatchObject([{ exit: 'reraise', signal: 'SIGWINCH' }]);
    expect(process.listenerCount('SIGWINCH')).toBe(before); // removed at shutdown
  });

  it('exposes state, durations and in-flight per phase through the metrics sink', async () => {
    const metrics = fakeSink();
    const { drain, exchange } = setup();
    Object.assign(drain, { metrics });
    drain.onModuleInit();
    expect(metrics.read('drain_state')).toEqual({
      'state=serving': 1,
      'state=draining': 0,
      'state=closing': 0,
      'state=exited': 0,
    });
    expect(metrics.read('drain_lb_wait_seconds')).toEqual({ '': 0.3 });
    const x = exchange();
    const done = drain.drain('metrics');
    exchange();
    await vi.advanceTimersByTimeAsync(300);
    x.finish();
    await vi.advanceTimersByTimeAsync(700);
    const status: DrainStatus = await done;
    expect(status.forcedRequests).toBe(1);
    expect(metrics.read('drain_state')).toMatchObject({ 'state=exited': 1, 'state=serving': 0 });
    expect(metrics.read('drain_in_flight_requests')).toEqual({
      'phase=draining': 1,
      'phase=closing': 2,
      'phase=shutdown': 0,
    });
    expect(metrics.read('drain_duration_seconds')).toMatchObject({
      'phase=lb_wait': 0.3,
      'phase=in_flight_wait': 0.7,
      'phase=total': 1,
    });
    expect(metrics.read('drain_forced_requests_total')).toEqual({ '': 1 });
    expect(metrics.read('drain_triggers_total')).toEqual({ 'source=api,result=started': 1 });
  });
});

/** A MetricsSink that keeps the last value per series and runs `collect` on read. */
function fakeSink(): MetricsSink & { read(name: string): Record<string, number> } {
  const series = new Map<string, Record<string, number>>();
  const collectors = new Map<string, () => void>();
  const key = (labels?: MetricLabels) =>
    labels
      ? Object.entries(labels)
          .map(([k, v]) => `${k}=${v}`)
          .join(',')
      : '';
  const values = (name: string) => {
    if (!series.has(name)) series.set(name, {});
    return series.get(name)!;
  };
  return {
    counter(d: CounterDefinition): SteadyCounter {
      const c: SteadyCounter = {
        inc: (labels, value = 1) => {
          const v = values(d.name);
          v[key(labels)] = (v[key(labels)] ?? 0) + value;
        },
      };
      if (d.collect) collectors.set(d.name, () => d.collect!(c));
      return c;
    },
    gauge(d: GaugeDefinition): SteadyGauge {
      const g: SteadyGauge = {
        set: (labels, value) => (values(d.name)[key(labels)] = value),
        inc: () => undefined,
        dec: () => undefined,
      };
      if (d.collect) collectors.set(d.name, () => d.collect!(g));
      return g;
    },
    histogram: () => ({ observe: () => undefined }),
    read(name: string) {
      collectors.get(name)?.();
      return { ...values(name) };
    },
  };
}
