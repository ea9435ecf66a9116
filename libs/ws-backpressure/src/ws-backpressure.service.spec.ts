import { Logger } from '@nestjs/common';
import type {
  CounterDefinition,
  GaugeDefinition,
  MetricLabels,
  MetricsSink,
  SteadyCounter,
  SteadyGauge,
} from '@steady/core';
import { EventEmitter } from 'node:events';
import type { GuardTransport } from './client-guard';
import { DefaultOverflowPolicy } from './default-overflow.policy';
import type { GuardedWebSocket } from './guarded-web-socket';
import type { EvictionEvent } from './ws-backpressure-events.interface';
import type { WsBackpressureModuleOptions } from './ws-backpressure-options.interface';
import { resolveWsBackpressureOptions } from './ws-backpressure-options.validation';
import { WsBackpressureService } from './ws-backpressure.service';

const KIB = 1024;

/** A client whose kernel takes nothing: everything sent stays in bufferedAmount. */
class FakeClient extends EventEmitter implements GuardTransport {
  bufferedAmount = 0;
  readyState = 1;
  pings = 0;
  rawSend(data: unknown): void {
    this.bufferedAmount += Buffer.byteLength(data as string);
  }
  pause(): void {}
  resume(): void {}
  ping(): void {
    this.pings++;
  }
  terminate(): void {
    this.readyState = 3;
    this.emit('close');
  }
}

function setup(options: WsBackpressureModuleOptions = {}, metrics?: MetricsSink) {
  const resolved = resolveWsBackpressureOptions({
    heartbeatIntervalMs: false,
    slowConsumerTimeoutMs: false,
    ...options,
  });
  const service = new WsBackpressureService(resolved, new DefaultOverflowPolicy(), metrics);
  const config = service.resolveGateway('/t', undefined);
  const connect = () => {
    const client = new FakeClient();
    const guard = service.register(client as unknown as GuardedWebSocket, config, '/t');
    return { client, guard };
  };
  return { service, connect };
}

beforeEach(() => {
  vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
});
afterEach(() => vi.restoreAllMocks());

const tick = () => new Promise<void>((r) => process.nextTick(r));
const payload = (bytes: number) => 'x'.repeat(bytes);

describe('WsBackpressureService: the process-wide budget', () => {
  it('evicts the clients holding the most first, until the total fits', async () => {
    const { service, connect } = setup({ highWaterMark: MIB(), globalMaxBufferedBytes: 300 * KIB });
    const evictions: EvictionEvent[] = [];
    service.evictions$.subscribe((e) => evictions.push(e));
    const a = connect();
    const b = connect();
    const c = connect();
    c.guard.offer(payload(100 * KIB), undefined, undefined);
    a.guard.offer(payload(300 * KIB), undefined, undefined);
    b.guard.offer(payload(600 * KIB), undefined, undefined);
    await tick(); // the check runs on the next tick, once per burst
    expect(evictions.map((e) => [e.client, e.reason, e.code])).toEqual([
      [b.client, 'global_budget', 1013],
      [a.client, 'global_budget', 1013],
    ]);
    await tick(); // terminate() on the tick after the decision
    expect([a.client.readyState, b.client.readyState, c.client.readyState]).toEqual([3, 3, 1]);
    expect(service.stats()).toMatchObject({
      clients: 1,
      bufferedBytes: 100 * KIB,
      evictedTotal: 2,
    });
  });

  it('counts unwritable clients and forgets them when they close', async () => {
    const { service, connect } = setup({ highWaterMark: 64 * KIB, globalMaxBufferedBytes: false });
    const a = connect();
    a.guard.offer(payload(65 * KIB), undefined, undefined);
    expect(service.stats().unwritableClients).toBe(1);
    expect(service.isWritable(a.client as never)).toBe(false);
    a.client.terminate();
    expect(service.stats()).toMatchObject({ clients: 0, unwritableClients: 0, bufferedBytes: 0 });
  });

  it('broadcast serialises once and reports per-client outcomes', () => {
    const { service, connect } = setup({ highWaterMark: 64 * KIB, globalMaxBufferedBytes: false });
    const a = connect();
    const b = connect();
    b.guard.offer(payload(65 * KIB), undefined, undefined); // b is now unwritable
    const result = service.broadcast([a.client, b.client] as never, 'news', { n: 1 });
    expect(result).toEqual({ sent: 1, queued: 0, coalesced: 0, dropped: 1, evicted: 0, closed: 0 });
    expect(a.client.bufferedAmount).toBe(Buffer.byteLength('{"event":"news","data":{"n":1}}'));
  });
});

describe('WsBackpressureService: heartbeat', () => {
  beforeEach(() => vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] }));
  afterEach(() => vi.useRealTimers());

  it('pings every interval and evicts a client that did not answer since the last ping', async () => {
    const { service, connect } = setup();
    const a = connect();
    const b = connect();
    const evictions: EvictionEvent[] = [];
    service.evictions$.subscribe((e) => evictions.push(e));
    const stop = service.startHeartbeat(new Set([a.guard, b.guard]), 100);
    vi.advanceTimersByTime(100);
    expect([a.client.pings, b.client.pings]).toEqual([1, 1]);
    a.client.emit('pong');
    vi.advanceTimersByTime(100);
    expect(evictions.map((e) => [e.client, e.reason, e.code])).toEqual([
      [b.client, 'heartbeat', 1001],
    ]);
    expect(a.client.pings).toBe(2);
    a.client.emit('message', Buffer.from('{}')); // any message counts as alive too
    vi.advanceTimersByTime(100);
    expect(evictions).toHaveLength(1);
    stop();
    service.shutdown();
  });
});

describe('WsBackpressureService: metrics', () => {
  class FakeSink implements MetricsSink {
    readonly counters = new Map<string, CounterDefinition>();
    readonly gauges = new Map<string, GaugeDefinition>();
    counter(d: CounterDefinition): SteadyCounter {
      this.counters.set(d.name, d);
      return { inc: () => undefined };
    }
    gauge(d: GaugeDefinition): SteadyGauge {
      this.gauges.set(d.name, d);
      return { set: () => undefined, inc: () => undefined, dec: () => undefined };
    }
    histogram(): never {
      throw new Error('no histograms');
    }
    read(name: string): Array<[MetricLabels | undefined, number]> {
      const out: Array<[MetricLabels | undefined, number]> = [];
      const sink = {
        set: (l: MetricLabels | undefined, v: number) => out.push([l, v]),
        inc: (l?: MetricLabels, v = 1) => out.push([l, v]),
        dec: () => undefined,
      };
      (this.gauges.get(name) ?? this.counters.get(name))!.collect!(sink as never);
      return out;
    }
  }

  it('registers the steady_ws_* metrics and reads them at scrape time', () => {
    const sink = new FakeSink();
    const { service, connect } = setup(
      { highWaterMark: 64 * KIB, globalMaxBufferedBytes: false },
      sink,
    );
    service.onModuleInit();
    expect([...sink.gauges.keys()].sort()).toEqual([
      'ws_buffered_budget_bytes',
      'ws_buffered_bytes',
      'ws_clients',
      'ws_queued_bytes',
      'ws_unwritable_clients',
    ]);
    expect([...sink.counters.keys()].sort()).toEqual([
      'ws_coalesced_messages_total',
      'ws_dropped_messages_total',
      'ws_evicted_clients_total',
      'ws_protocol_errors_total',
      'ws_writability_changes_total',
    ]);
    const a = connect();
    a.guard.offer(payload(65 * KIB), undefined, undefined);
    a.guard.offer('late', undefined, undefined);
    expect(sink.read('ws_buffered_bytes')).toEqual([[undefined, 65 * KIB]]);
    expect(sink.read('ws_unwritable_clients')).toEqual([[undefined, 1]]);
    expect(sink.read('ws_dropped_messages_total')).toEqual([[{ reason: 'overflow' }, 1]]);
    expect(sink.read('ws_dropped_messages_total')).toEqual([]); // only the increase since the last scrape
    expect(sink.read('ws_writability_changes_total')).toEqual([[{ state: 'unwritable' }, 1]]);
    service.recordProtocolError(1009);
    expect(sink.read('ws_protocol_errors_total')).toEqual([[{ code: '1009' }, 1]]);
  });
});

function MIB(): number {
  return 1024 * KIB;
}
