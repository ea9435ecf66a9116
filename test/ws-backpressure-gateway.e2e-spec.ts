import { Controller, Get, type INestApplication } from '@nestjs/common';
import {
  ConnectedSocket,
  MessageBody,
  SubscribeMessage,
  WebSocketGateway,
  WebSocketServer,
  type OnGatewayConnection,
} from '@nestjs/websockets';
import { MetricsModule } from '@steady/metrics';
import {
  BackpressuredWsAdapter,
  GuardedWebSocket,
  WsBackpressureHealthIndicator,
  WsBackpressureModule,
  WsBackpressureService,
  WsMessageDroppedError,
  type BackpressuredGatewayOptions,
  type EvictionEvent,
  type WsBackpressureModuleOptions,
} from '@steady/ws-backpressure';
import type { IncomingMessage } from 'node:http';
import { defer, finalize, interval, map, timer } from 'rxjs';
import request from 'supertest';
import WebSocket, { type WebSocketServer as WsServer } from 'ws';
import { ADAPTERS, createTestApp, type AdapterName, type TestApp } from './support/nest-app';
import {
  clientFrame,
  closeCode,
  connectWs,
  nextJson,
  rawUpgrade,
  readCloseFrame,
  readTextFrames,
  until,
  type RawClient,
} from './support/ws';

const KIB = 1024;

class NamedSocket extends GuardedWebSocket {
  name = '';
}

@WebSocketGateway<BackpressuredGatewayOptions>({ path: '/api', WebSocket: NamedSocket })
class ApiGateway implements OnGatewayConnection {
  @WebSocketServer() server!: WsServer;
  active = 0;
  maxActive = 0;
  streams = 0;
  readonly byName = new Map<string, NamedSocket>();

  handleConnection(client: NamedSocket, req: IncomingMessage): void {
    client.name = new URL(req.url ?? '/', 'http://x').searchParams.get('name') ?? 'anon';
    this.byName.set(client.name, client);
  }

  @SubscribeMessage('echo')
  echo(@MessageBody() data: unknown) {
    return { event: 'echo', data };
  }

  @SubscribeMessage('whoami')
  whoami(@ConnectedSocket() client: NamedSocket) {
    return { event: 'whoami', data: { name: client.name, guarded: client instanceof NamedSocket } };
  }

  /** A handler whose result is an Observable that takes 40 ms. */
  @SubscribeMessage('work')
  work(@MessageBody() n: number) {
    return defer(() => {
      this.active++;
      this.maxActive = Math.max(this.maxActive, this.active);
      return timer(40).pipe(
        map(() => ({ event: 'done', data: n })),
        finalize(() => this.active--),
      );
    });
  }

  /** An endless stream of 4 KiB messages, one a millisecond. */
  @SubscribeMessage('stream')
  stream() {
    const pad = 'z'.repeat(4 * KIB);
    return defer(() => {
      this.streams++;
      return interval(1).pipe(
        map((i) => ({ event: 'tick', data: { i, pad } })),
        finalize(() => this.streams--),
      );
    });
  }
}

@Controller('health')
class HealthController {
  constructor(private readonly ws: WsBackpressureHealthIndicator) {}

  @Get('ws')
  check() {
    return this.ws.checkBufferedBytes('ws_backpressure', 64 * KIB);
  }
}

async function start(
  adapter: AdapterName,
  options: WsBackpressureModuleOptions = {},
): Promise<TestApp> {
  return createTestApp(
    adapter,
    {
      imports: [
        MetricsModule.forRoot({ defaultMetrics: false }),
        WsBackpressureModule.forRoot({
          highWaterMark: 256 * KIB,
          lowWaterMark: 64 * KIB,
          slowConsumerTimeoutMs: 500,
          heartbeatIntervalMs: false,
          handlerConcurrency: 2,
          ...options,
        }),
      ],
      controllers: [HealthController],
      providers: [ApiGateway],
    },
    {
      configure: (app: INestApplication) => {
        app.useWebSocketAdapter(new BackpressuredWsAdapter(app));
      },
    },
  );
}

/** Fills a stalled client's kernel and ws buffers until it turns unwritable (bounded). */
function fillUntilUnwritable(client: GuardedWebSocket): void {
  const filler = JSON.stringify({ event: 'filler', data: 'f'.repeat(16 * KIB) });
  // the kernel takes ~4 MiB first; then bufferedAmount rises past the high water mark
  for (let i = 0; i < 4000 && client.isWritable; i++) client.send(filler);
  if (client.isWritable) throw new Error('client did not turn unwritable');
}

describe.each(ADAPTERS)('ws-backpressure: gateway behaviour (%s)', (adapter) => {
  let t: TestApp | undefined;
  const raws: RawClient[] = [];
  const wss: WebSocket[] = [];

  afterEach(async () => {
    for (const r of raws.splice(0)) r.destroy();
    for (const w of wss.splice(0)) w.terminate();
    await t?.close();
    t = undefined;
  });

  async function client(name: string): Promise<WebSocket> {
    const ws = await connectWs(t!.port, `/api?name=${name}`);
    wss.push(ws);
    return ws;
  }

  async function echoWorks(): Promise<void> {
    const ws = await client(`probe-${wss.length}`);
    ws.send(JSON.stringify({ event: 'echo', data: 'ok' }));
    expect(await nextJson(ws, (m) => m.event === 'echo')).toEqual({ event: 'echo', data: 'ok' });
  }

  it('uses the WebSocket subclass given to the gateway; Nest replies go through it', async () => {
    t = await start(adapter);
    const ws = await client('alice');
    ws.send(JSON.stringify({ event: 'whoami' }));
    expect(await nextJson(ws)).toEqual({
      event: 'whoami',
      data: { name: 'alice', guarded: true },
    });
    const service = t.app.get(WsBackpressureService);
    const socket = t.app.get(ApiGateway).byName.get('alice')!;
    expect(service.isWritable(socket)).toBe(true);
    expect(service.bytesBeforeUnwritable(socket)).toBe(256 * KIB);
    expect(socket.bytesBeforeWritable()).toBe(0);
  });

  it.each([
    ['an oversized message (64 KiB + 1)', 1009],
    ['invalid JSON', 1007],
    ['JSON without a string event', 1007],
  ])('closes a client that sends %s with %i and keeps serving', async (what, code) => {
    t = await start(adapter);
    const ws = await client('bad');
    const closed = closeCode(ws);
    if (code === 1009) {
      ws.send(JSON.stringify({ event: 'echo', data: 'x'.repeat(64 * KIB) }));
    } else if (what === 'invalid JSON') {
      ws.send('{"event": "echo", data');
    } else {
      ws.send('[1,2,3]');
    }
    expect(await closed).toBe(code);
    await echoWorks();
    const metrics = await request(t.url).get('/metrics').expect(200);
    expect(metrics.text).toContain(`steady_ws_protocol_errors_total{code="${code}"} 1`);
  });

  it('accepts a message of just under 64 KiB and ignores unknown events, as Nest does', async () => {
    t = await start(adapter);
    const ws = await client('big');
    const data = 'y'.repeat(64 * KIB - 40);
    const message = JSON.stringify({ event: 'echo', data });
    expect(Buffer.byteLength(message)).toBeLessThanOrEqual(64 * KIB);
    ws.send(JSON.stringify({ event: 'no-such-event', data: 1 }));
    ws.send(message);
    expect(await nextJson(ws)).toEqual({ event: 'echo', data });
    expect(ws.readyState).toBe(WebSocket.OPEN);
  });

  it.each([
    ['an unmasked client frame', clientFrame(0x1, '{"event":"echo"}', { mask: false }), 1002],
    ['a reserved opcode', clientFrame(0x3, 'x'), 1002],
    ['RSV1 without an extension', clientFrame(0x1, '{}', { rsv1: true }), 1002],
    ['invalid UTF-8 in a text frame', clientFrame(0x1, Buffer.from([0xc3, 0x28])), 1007],
  ])('closes a raw client that sends %s and keeps serving', async (_what, frame, code) => {
    t = await start(adapter);
    const raw = await rawUpgrade(t.port, '/api?name=raw');
    raws.push(raw);
    const closing = readCloseFrame(raw);
    raw.socket.write(frame);
    expect(await closing).toBe(code);
    await echoWorks();
  });

  it('runs at most handlerConcurrency handler results of one client at a time', async () => {
    t = await start(adapter);
    const gateway = t.app.get(ApiGateway);
    const ws = await client('worker');
    const done: number[] = [];
    ws.on('message', (d: WebSocket.RawData) => {
      const m = JSON.parse(d.toString()) as { event: string; data: number };
      if (m.event === 'done') done.push(m.data);
    });
    for (let n = 0; n < 10; n++) ws.send(JSON.stringify({ event: 'work', data: n }));
    await until(() => done.length === 10, 10_000, '10 replies');
    expect(gateway.maxActive).toBe(2);
    expect(done.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('a streaming handler to a stalled client is dropped, then evicted; its subscription ends', async () => {
    t = await start(adapter);
    const gateway = t.app.get(ApiGateway);
    const service = t.app.get(WsBackpressureService);
    const evictions: EvictionEvent[] = [];
    const sub = service.evictions$.subscribe((e) => evictions.push(e));
    const raw = await rawUpgrade(t.port, '/api?name=stalled');
    raws.push(raw);
    raw.socket.write(clientFrame(0x1, JSON.stringify({ event: 'stream' })));
    raw.socket.pause();
    try {
      await until(() => evictions.length === 1, 15_000, 'stalled stream client evicted');
    } finally {
      sub.unsubscribe();
    }
    expect(evictions[0].reason).toBe('slow_consumer');
    await until(() => gateway.streams === 0, 2_000, 'stream unsubscribed');
    expect(service.counts().dropped.overflow).toBeGreaterThan(0);
    await echoWorks();
  });

  it('coalesce keeps the latest message per key, queue keeps them all in order', async () => {
    t = await start(adapter, { slowConsumerTimeoutMs: false, overflow: 'queue' });
    const gateway = t.app.get(ApiGateway);
    const raw = await rawUpgrade(t.port, '/api?name=slow', { stall: true });
    raws.push(raw);
    await until(() => gateway.byName.has('slow'), 2_000, 'connected');
    const socket = gateway.byName.get('slow')!;
    fillUntilUnwritable(socket);
    const results: string[] = [];
    const dropped: string[] = [];
    const send = (text: string, options?: object) =>
      results.push(
        socket.offer(JSON.stringify({ event: text }), options, (err) => {
          if (err instanceof WsMessageDroppedError) dropped.push(`${text}:${err.reason}`);
        }),
      );
    send('q1');
    send('a1', { overflow: 'coalesce', coalesceKey: 'a' });
    send('q2');
    send('a2', { overflow: 'coalesce', coalesceKey: 'a' });
    send('b1', { overflow: 'coalesce', coalesceKey: 'b' });
    send('a3', { overflow: 'coalesce', coalesceKey: 'a' });
    send('d1', { overflow: 'drop' });
    send('q3');
    expect(results).toEqual([
      'queued',
      'queued',
      'queued',
      'coalesced',
      'queued',
      'coalesced',
      'dropped',
      'queued',
    ]);
    expect(socket.queuedMessages).toBe(5);
    const service = t.app.get(WsBackpressureService);
    const writable = new Promise<void>((resolve) =>
      socket.once('writabilityChanged', (w: boolean) => w && resolve()),
    );
    const reading = readTextFrames(
      raw,
      (text) => text === '{"event":"end"}',
      (text) => !text.startsWith('{"event":"filler"'),
    );
    await writable;
    socket.send(JSON.stringify({ event: 'end' }));
    const texts = await reading;
    expect(texts.map((s) => (JSON.parse(s) as { event: string }).event)).toEqual([
      'q1',
      'a3',
      'q2',
      'b1',
      'q3',
      'end',
    ]);
    await until(() => dropped.length === 3, 1_000, 'drop callbacks');
    expect(dropped.sort()).toEqual(['a1:coalesced', 'a2:coalesced', 'd1:overflow']);
    expect(service.counts()).toMatchObject({ coalesced: 2 });
  });

  it('overflow "evict" terminates the client at once; metrics and health report it', async () => {
    t = await start(adapter, { slowConsumerTimeoutMs: false, overflow: 'evict' });
    const gateway = t.app.get(ApiGateway);
    const service = t.app.get(WsBackpressureService);
    const raw = await rawUpgrade(t.port, '/api?name=slow', { stall: true });
    raws.push(raw);
    await until(() => gateway.byName.has('slow'), 2_000, 'connected');
    const socket = gateway.byName.get('slow')!;
    fillUntilUnwritable(socket); // the write that passes the high water mark is still sent
    expect(t.app.get(WsBackpressureService).stats().unwritableClients).toBe(1);
    const health = await request(t.url).get('/health/ws').expect(200);
    expect(health.body).toMatchObject({
      ws_backpressure: { status: 'down', unwritableClients: 1, threshold: 64 * KIB },
    });
    expect(socket.offer('{"event":"one-too-many"}')).toBe('evicted');
    await until(() => socket.readyState === WebSocket.CLOSED, 1_000, 'terminated');
    const after = await request(t.url).get('/health/ws').expect(200);
    expect(after.body).toMatchObject({
      ws_backpressure: { status: 'up', bufferedBytes: 0, clients: 0 },
    });
    const metrics = (await request(t.url).get('/metrics').expect(200)).text;
    for (const line of [
      'steady_ws_evicted_clients_total{reason="overflow"} 1',
      'steady_ws_writability_changes_total{state="unwritable"} 1',
      'steady_ws_unwritable_clients 0',
      'steady_ws_buffered_bytes 0',
      'steady_ws_clients 0',
      'steady_ws_buffered_budget_bytes 134217728',
    ]) {
      expect(metrics).toContain(line);
    }
    expect(metrics).toContain('# TYPE steady_ws_dropped_messages_total counter');
    expect(metrics).toContain('# TYPE steady_ws_coalesced_messages_total counter');
    expect(metrics).toContain('# TYPE steady_ws_queued_bytes gauge');
    expect(service.stats()).toMatchObject({ clients: 0, evictedTotal: 1 });
  });

  it('per-client writability$ emits the current value, each change, and completes on close', async () => {
    t = await start(adapter, { slowConsumerTimeoutMs: 300 });
    const gateway = t.app.get(ApiGateway);
    const raw = await rawUpgrade(t.port, '/api?name=slow', { stall: true });
    raws.push(raw);
    await until(() => gateway.byName.has('slow'), 2_000, 'connected');
    const socket = gateway.byName.get('slow')!;
    const seen: boolean[] = [];
    let completed = false;
    socket
      .writability$()
      .subscribe({ next: (w) => seen.push(w), complete: () => (completed = true) });
    fillUntilUnwritable(socket);
    await until(() => completed, 3_000, 'completes when evicted');
    expect(seen).toEqual([true, false]);
  });
});

describe('ws-backpressure: configuration', () => {
  @WebSocketGateway<BackpressuredGatewayOptions>({
    path: '/bad',
    backpressure: { highWaterMark: 64 * KIB, lowWaterMark: 128 * KIB },
  })
  class BadMarksGateway {}

  @WebSocketGateway<BackpressuredGatewayOptions>({
    path: '/plain',
    WebSocket: WebSocket as unknown as typeof GuardedWebSocket,
  })
  class PlainSocketGateway {}

  @WebSocketGateway<BackpressuredGatewayOptions>({ path: '/solo' })
  class SoloGateway {
    @WebSocketServer() server!: WsServer;

    @SubscribeMessage('echo')
    echo(@MessageBody() data: unknown) {
      return { event: 'echo', data };
    }
  }

  const withAdapter = (app: INestApplication) => {
    app.useWebSocketAdapter(new BackpressuredWsAdapter(app));
  };

  it('rejects a gateway whose low water mark is above its high one, naming the gateway', async () => {
    await expect(
      createTestApp(
        'express',
        { imports: [WsBackpressureModule.forRoot()], providers: [BadMarksGateway] },
        { configure: withAdapter },
      ),
    ).rejects.toThrow(
      '@steady/ws-backpressure: @WebSocketGateway("/bad"): invalid option "backpressure.lowWaterMark": expected at most highWaterMark (65536), got 131072',
    );
  });

  it('rejects a WebSocket class that is not a GuardedWebSocket', async () => {
    await expect(
      createTestApp(
        'fastify',
        { imports: [WsBackpressureModule.forRoot()], providers: [PlainSocketGateway] },
        { configure: withAdapter },
      ),
    ).rejects.toThrow('invalid option "WebSocket": expected GuardedWebSocket or a subclass of it');
  });

  it('forRootAsync takes its options from a factory, and validates them', async () => {
    const t = await createTestApp(
      'express',
      {
        imports: [
          WsBackpressureModule.forRootAsync({
            useFactory: async () => ({ highWaterMark: 96 * KIB, heartbeatIntervalMs: false }),
          }),
        ],
        providers: [SoloGateway],
      },
      { configure: withAdapter },
    );
    try {
      const ws = await connectWs(t.port, '/solo');
      await until(() => t.app.get(SoloGateway).server.clients.size === 1, 2_000, 'connected');
      const [socket] = t.app.get(SoloGateway).server.clients;
      expect(t.app.get(WsBackpressureService).bytesBeforeUnwritable(socket)).toBe(96 * KIB);
      ws.terminate();
    } finally {
      await t.close();
    }
    await expect(
      createTestApp('express', {
        imports: [WsBackpressureModule.forRootAsync({ useFactory: () => ({ lowWaterMark: -1 }) })],
      }),
    ).rejects.toThrow('@steady/ws-backpressure: invalid option "lowWaterMark"');
  });

  it.each(ADAPTERS)(
    'works without the module, configured on the adapter (%s)',
    async (adapter: AdapterName) => {
      let wsAdapter: BackpressuredWsAdapter | undefined;
      const t = await createTestApp(
        adapter,
        { providers: [SoloGateway] },
        {
          configure: (app) => {
            wsAdapter = new BackpressuredWsAdapter(app, {
              backpressure: { highWaterMark: 128 * KIB, heartbeatIntervalMs: false },
            });
            app.useWebSocketAdapter(wsAdapter);
          },
        },
      );
      try {
        const ws = await connectWs(t.port, '/solo');
        ws.send(JSON.stringify({ event: 'echo', data: 42 }));
        expect(await nextJson(ws)).toEqual({ event: 'echo', data: 42 });
        const [socket] = t.app.get(SoloGateway).server.clients;
        expect(socket).toBeInstanceOf(GuardedWebSocket);
        expect(wsAdapter!.backpressure.bytesBeforeUnwritable(socket)).toBe(128 * KIB);
        expect(wsAdapter!.backpressure.stats().clients).toBe(1);
        ws.terminate();
      } finally {
        await t.close();
      }
    },
  );
});
