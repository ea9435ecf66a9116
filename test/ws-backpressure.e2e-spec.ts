import { type INestApplication } from '@nestjs/common';
import { WsAdapter } from '@nestjs/platform-ws';
import {
  MessageBody,
  SubscribeMessage,
  WebSocketGateway,
  WebSocketServer,
  type OnGatewayConnection,
  type OnGatewayDisconnect,
} from '@nestjs/websockets';
import {
  BackpressuredWsAdapter,
  WsBackpressureModule,
  WsBackpressureService,
  type BackpressuredGatewayOptions,
  type EvictionEvent,
  type WritabilityChange,
  type WsBackpressureModuleOptions,
} from '@steady/ws-backpressure';
import type { IncomingMessage } from 'node:http';
import WebSocket, { type WebSocketServer as WsServer } from 'ws';
import { ADAPTERS, createTestApp, type AdapterName, type TestApp } from './support/nest-app';
import { connectWs, rawUpgrade, until, type RawClient } from './support/ws';

const KIB = 1024;
const HIGH = 256 * KIB;
const LOW = 64 * KIB;
const TIMEOUT_MS = 600;
const MESSAGE_BYTES = 4 * KIB;

@WebSocketGateway<BackpressuredGatewayOptions>({ path: '/feed' })
class FeedGateway implements OnGatewayConnection, OnGatewayDisconnect {
  @WebSocketServer() server!: WsServer;
  readonly names = new Map<WebSocket, string>();
  readonly byName = new Map<string, WebSocket>();
  readonly closedAt = new Map<string, number>();

  handleConnection(client: WebSocket, req: IncomingMessage): void {
    const name = new URL(req.url ?? '/', 'http://x').searchParams.get('name') ?? 'anon';
    this.names.set(client, name);
    this.byName.set(name, client);
  }

  handleDisconnect(client: WebSocket): void {
    const name = this.names.get(client);
    if (name !== undefined) this.closedAt.set(name, performance.now());
  }

  @SubscribeMessage('echo')
  echo(@MessageBody() data: unknown) {
    return { event: 'echo', data };
  }
}

function feedApp(options: WsBackpressureModuleOptions) {
  return {
    imports: [
      WsBackpressureModule.forRoot({
        highWaterMark: HIGH,
        lowWaterMark: LOW,
        slowConsumerTimeoutMs: TIMEOUT_MS,
        heartbeatIntervalMs: false,
        globalMaxBufferedBytes: false,
        ...options,
      }),
    ],
    providers: [FeedGateway],
  };
}

async function start(
  adapter: AdapterName,
  options: WsBackpressureModuleOptions,
  plain = false,
): Promise<TestApp> {
  return createTestApp(adapter, feedApp(options), {
    configure: (app: INestApplication) => {
      app.useWebSocketAdapter(plain ? new WsAdapter(app) : new BackpressuredWsAdapter(app));
    },
  });
}

/** Broadcasts `{ event: 'tick', data: { seq, pad } }` to every open client, `perTick` messages a millisecond. */
function startProducer(server: WsServer, perTick: number, bytes = MESSAGE_BYTES) {
  const pad = 'x'.repeat(bytes - 48);
  let seq = 0;
  let timer: NodeJS.Timeout | undefined;
  const tick = () => {
    for (let i = 0; i < perTick; i++) {
      const message = `{"event":"tick","data":{"seq":${seq++},"pad":"${pad}"}}`;
      for (const client of server.clients) {
        if (client.readyState === WebSocket.OPEN) client.send(message);
      }
    }
    timer = setTimeout(tick, 1);
  };
  tick();
  return {
    get sent() {
      return seq;
    },
    stop() {
      clearTimeout(timer);
    },
  };
}

/** A fast consumer: a real ws client that records every tick's seq and counts gaps. */
async function fastClient(port: number, name: string) {
  const ws = await connectWs(port, `/feed?name=${name}`);
  const state = { ws, received: 0, gaps: 0, last: -1 };
  ws.on('message', (data: WebSocket.RawData) => {
    const m = /"seq":(\d+)/.exec(data.toString('latin1', 0, 64));
    if (!m) return;
    const seq = Number(m[1]);
    if (seq !== state.last + 1) state.gaps++;
    state.last = seq;
    state.received++;
  });
  return state;
}

/** Σ bufferedAmount over the server's clients, sampled every 20 ms. */
function sampleBuffered(server: WsServer) {
  const samples: number[] = [];
  const timer = setInterval(() => {
    let total = 0;
    for (const c of server.clients) total += c.bufferedAmount;
    samples.push(total);
  }, 20);
  return {
    samples,
    stop: () => clearInterval(timer),
    get max() {
      return samples.length ? Math.max(...samples) : 0;
    },
  };
}

/** The bound a guarded server keeps Σ bufferedAmount under: per slow client high + one tick, plus slack. */
function boundFor(slowClients: number, perTick: number): number {
  return slowClients * (HIGH + perTick * (MESSAGE_BYTES + 16)) + HIGH;
}

describe.each(ADAPTERS)('ws-backpressure: slow consumers (%s)', (adapter) => {
  let t: TestApp | undefined;
  const raws: RawClient[] = [];
  const wss: WebSocket[] = [];

  afterEach(async () => {
    for (const r of raws.splice(0)) r.destroy();
    for (const w of wss.splice(0)) w.terminate();
    await t?.close();
    t = undefined;
  });

  it('evicts stalled consumers within timeout + 250 ms, their close fires within 100 ms, fast ones lose nothing', async () => {
    t = await start(adapter, {});
    const gateway = t.app.get(FeedGateway);
    const service = t.app.get(WsBackpressureService);
    const unwritableAt = new Map<WebSocket, number>();
    const evictions: EvictionEvent[] = [];
    const changes: WritabilityChange[] = [];
    const subs = [
      service.writability$.subscribe((c) => {
        changes.push(c);
        if (!c.writable && !unwritableAt.has(c.client)) unwritableAt.set(c.client, c.at);
      }),
      service.evictions$.subscribe((e) => evictions.push(e)),
    ];

    const fast = [await fastClient(t.port, 'fast-0'), await fastClient(t.port, 'fast-1')];
    wss.push(...fast.map((f) => f.ws));
    for (let i = 0; i < 3; i++) {
      raws.push(await rawUpgrade(t.port, `/feed?name=slow-${i}`, { stall: true }));
    }
    await until(() => gateway.server.clients.size === 5, 2_000, '5 clients connected');

    const perTick = 4;
    const sampler = sampleBuffered(gateway.server);
    const producer = startProducer(gateway.server, perTick);
    try {
      await until(() => evictions.length >= 3, 10_000, 'all 3 slow consumers evicted');
      await new Promise((r) => setTimeout(r, 150)); // the fast ones keep receiving meanwhile
    } finally {
      producer.stop();
      sampler.stop();
    }
    await until(
      () => fast.every((f) => f.last === producer.sent - 1),
      10_000,
      'fast clients caught up',
    );
    for (const s of subs) s.unsubscribe();

    // slow ones: evicted for being slow, within timeout + 250 ms of turning unwritable; closed within 100 ms
    expect(evictions.map((e) => gateway.names.get(e.client)).sort()).toEqual([
      'slow-0',
      'slow-1',
      'slow-2',
    ]);
    for (const e of evictions) {
      const name = gateway.names.get(e.client)!;
      expect(e.reason).toBe('slow_consumer');
      expect(e.code).toBe(1008);
      const since = e.at - unwritableAt.get(e.client)!;
      expect(since).toBeGreaterThanOrEqual(TIMEOUT_MS - 1);
      expect(since).toBeLessThanOrEqual(TIMEOUT_MS + 250);
      await until(() => gateway.closedAt.has(name), 1_000, `${name} closed`);
      expect(gateway.closedAt.get(name)! - e.at).toBeLessThanOrEqual(100);
    }
    // fast ones: every message, in order, never unwritable
    for (const f of fast) {
      expect(f.gaps).toBe(0);
      expect(f.received).toBe(producer.sent);
      expect(f.ws.readyState).toBe(WebSocket.OPEN);
    }
    const fastSockets = new Set(fast.map((f) => gateway.byName.get(`fast-${fast.indexOf(f)}`)));
    expect(changes.filter((c) => fastSockets.has(c.client))).toEqual([]);
    expect(service.counts().dropped.overflow).toBeGreaterThan(0);
    // memory: Σ bufferedAmount stayed within the water marks
    expect(sampler.max).toBeLessThanOrEqual(boundFor(3, perTick));
    expect(service.stats()).toMatchObject({ clients: 2, unwritableClients: 0, bufferedBytes: 0 });
  }, 30_000);

  it('control: the plain WsAdapter lets the same stalled consumers grow the buffer without bound', async () => {
    t = await start(adapter, {}, true);
    const gateway = t.app.get(FeedGateway);
    const fast = await fastClient(t.port, 'fast-0');
    wss.push(fast.ws);
    for (let i = 0; i < 3; i++) {
      raws.push(await rawUpgrade(t.port, `/feed?name=slow-${i}`, { stall: true }));
    }
    await until(() => gateway.server.clients.size === 4, 2_000, '4 clients connected');
    const perTick = 4;
    const bound = boundFor(3, perTick);
    const sampler = sampleBuffered(gateway.server);
    const producer = startProducer(gateway.server, perTick);
    const total = () => [...gateway.server.clients].reduce((sum, c) => sum + c.bufferedAmount, 0);
    let atCrossing = 0;
    let later = 0;
    try {
      // the guarded run never passes `bound`; here Σ bufferedAmount passes 4× it…
      await until(() => sampler.max > 4 * bound, 10_000, 'buffer growth past 4x the bound');
      atCrossing = total();
      // …and keeps climbing: no plateau, no eviction
      await new Promise((r) => setTimeout(r, 500));
      later = total();
    } finally {
      producer.stop();
      sampler.stop();
    }
    expect(sampler.max).toBeGreaterThan(4 * bound);
    expect(later - atCrossing).toBeGreaterThan(bound);
    expect(gateway.closedAt.size).toBe(0); // nobody is evicted
    expect(gateway.server.clients.size).toBe(4);
  }, 30_000);

  it('hysteresis: at most 2 writability changes per high/low cycle', async () => {
    t = await start(adapter, { slowConsumerTimeoutMs: false });
    const gateway = t.app.get(FeedGateway);
    const service = t.app.get(WsBackpressureService);
    const raw = await rawUpgrade(t.port, '/feed?name=reader', { stall: true });
    raws.push(raw);
    await until(() => gateway.server.clients.size === 1, 2_000, 'client connected');
    const client = gateway.byName.get('reader')!;
    const changes: boolean[] = [];
    const sub = service.writability$.subscribe((c) => changes.push(c.writable));
    // a throttled reader: 64 KiB chunks at most every 10 ms (~6 MB/s), a little faster than the producer
    let reading = false;
    raw.socket.on('data', () => {
      raw.socket.pause();
      setTimeout(() => reading && raw.socket.resume(), 10);
    });
    const producer = startProducer(gateway.server, 1);
    const perCycle: number[] = [];
    try {
      for (let cycle = 0; cycle < 2; cycle++) {
        const before = changes.length;
        reading = false;
        raw.socket.pause();
        await until(
          () => changes.length > before && changes.at(-1) === false,
          10_000,
          'unwritable',
        );
        await new Promise((r) => setTimeout(r, 100));
        reading = true;
        raw.socket.resume();
        await until(() => changes.at(-1) === true, 15_000, 'writable again');
        await new Promise((r) => setTimeout(r, 200)); // keep producing while it reads: no flapping back
        perCycle.push(changes.length - before);
      }
    } finally {
      producer.stop();
      sub.unsubscribe();
    }
    expect(client.readyState).toBe(WebSocket.OPEN);
    for (const n of perCycle) expect(n).toBeLessThanOrEqual(2);
    expect(perCycle).toEqual([2, 2]);
  }, 60_000);

  it('evicts the clients holding the most first when the process-wide budget is exceeded', async () => {
    // queued bytes count toward the budget: each stalled client can hold up to high + 1 MiB queued
    t = await start(adapter, {
      slowConsumerTimeoutMs: false,
      overflow: 'queue',
      maxQueuedBytes: 1024 * KIB,
      maxQueuedMessages: 100_000,
      queueFull: 'drop',
      globalMaxBufferedBytes: 1536 * KIB,
    });
    const gateway = t.app.get(FeedGateway);
    const service = t.app.get(WsBackpressureService);
    const evictions: EvictionEvent[] = [];
    const sub = service.evictions$.subscribe((e) => evictions.push(e));
    raws.push(await rawUpgrade(t.port, '/feed?name=big', { stall: true }));
    raws.push(await rawUpgrade(t.port, '/feed?name=small', { stall: true }));
    const fast = await fastClient(t.port, 'fast-0');
    wss.push(fast.ws);
    await until(() => gateway.server.clients.size === 3, 2_000, '3 clients connected');
    const big = gateway.byName.get('big')!;
    const small = gateway.byName.get('small')!;
    // "big" gets 4 KiB messages, "small" 512 B ones, the fast client both
    const padBig = 'x'.repeat(4 * KIB);
    const padSmall = 'y'.repeat(512);
    let seq = 0;
    let timer: NodeJS.Timeout | undefined;
    const tick = () => {
      for (let i = 0; i < 4; i++) {
        seq++;
        if (big.readyState === WebSocket.OPEN) big.send(`{"event":"b","data":"${padBig}"}`);
        small.send(`{"event":"s","data":"${padSmall}"}`);
        fast.ws.readyState === WebSocket.OPEN &&
          gateway.byName.get('fast-0')!.send(`{"event":"tick","data":{"seq":${seq - 1}}}`);
      }
      timer = setTimeout(tick, 1);
    };
    tick();
    try {
      await until(() => evictions.length >= 1, 15_000, 'a budget eviction');
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      clearTimeout(timer);
      sub.unsubscribe();
    }
    expect(evictions[0]).toMatchObject({ reason: 'global_budget', code: 1013, client: big });
    expect(evictions.every((e) => e.client !== small)).toBe(true);
    expect(small.readyState).toBe(WebSocket.OPEN);
    expect(fast.ws.readyState).toBe(WebSocket.OPEN);
    const s = service.stats();
    expect(s.bufferedBytes + s.queuedBytes).toBeLessThanOrEqual(1536 * KIB);
  }, 30_000);

  it('heartbeat: terminates a peer that does not pong, keeps one that does', async () => {
    t = await start(adapter, { heartbeatIntervalMs: 100 });
    const gateway = t.app.get(FeedGateway);
    const service = t.app.get(WsBackpressureService);
    const evictions: EvictionEvent[] = [];
    const sub = service.evictions$.subscribe((e) => evictions.push(e));
    const started = performance.now();
    raws.push(await rawUpgrade(t.port, '/feed?name=dead', { stall: true }));
    const live = await connectWs(t.port, '/feed?name=live');
    wss.push(live);
    try {
      await until(() => gateway.closedAt.has('dead'), 3_000, 'dead peer terminated');
      expect(performance.now() - started).toBeLessThan(3 * 100 + 1_000);
      await new Promise((r) => setTimeout(r, 500)); // five more intervals
    } finally {
      sub.unsubscribe();
    }
    expect(evictions).toHaveLength(1);
    expect(evictions[0]).toMatchObject({ reason: 'heartbeat', code: 1001 });
    expect(gateway.names.get(evictions[0].client)).toBe('dead');
    expect(live.readyState).toBe(WebSocket.OPEN);
    live.send(JSON.stringify({ event: 'echo', data: 'still here' }));
    const reply = await new Promise<string>((resolve) =>
      live.once('message', (d: WebSocket.RawData) => resolve(d.toString())),
    );
    expect(JSON.parse(reply)).toEqual({ event: 'echo', data: 'still here' });
  }, 20_000);
});
