import {
  Controller,
  Get,
  Injectable,
  Module,
  Query,
  type DynamicModule,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { SteadyCoreModule, InFlightTracker } from '@steady/core';
import {
  DrainService,
  enableDrainHooks,
  HaproxyAgentServer,
  HealthCheckRegistry,
  HealthModule,
  type DrainState,
} from '@steady/health';
import { LoadSheddingModule } from '@steady/load-shedding';
import { MetricsModule } from '@steady/metrics';
import { once } from 'node:events';
import { Agent } from 'node:http';
import { connect } from 'node:net';
import { httpRequest } from './support/keep-alive-load';
import { ADAPTERS, createTestApp, type AdapterName, type TestApp } from './support/nest-app';

const TOKEN = 'test-admin-token-0123456789';
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

@Controller('work')
class WorkController {
  @Get('fast')
  fast() {
    return { ok: true };
  }

  @Get('slow')
  async slow(@Query('ms') ms?: string) {
    await sleep(Number(ms ?? 500));
    return { ok: true };
  }
}

/** Records when Nest's shutdown reaches the app, to check it comes after the HTTP drain. */
@Injectable()
class ShutdownProbe implements OnApplicationShutdown {
  readonly events: string[] = [];
  onApplicationShutdown(signal?: string): void {
    this.events.push(`shutdown ${signal ?? '-'}`);
  }
}

function appModule(health: DynamicModule, extra: DynamicModule[] = []) {
  @Module({
    imports: [SteadyCoreModule.forRoot(), MetricsModule.forRoot(), ...extra, health],
    controllers: [WorkController],
    providers: [ShutdownProbe],
  })
  class TestModule {}
  return TestModule;
}

function start(
  adapter: AdapterName,
  health: DynamicModule,
  extra: DynamicModule[] = [],
): Promise<TestApp> {
  return createTestApp(adapter, appModule(health, extra), {
    configure: (app) => void enableDrainHooks(app, { signals: [] }),
  });
}

async function waitFor(predicate: () => boolean, timeoutMs = 3_000): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!predicate()) {
    if (performance.now() > end) throw new Error('condition not met in time');
    await sleep(5);
  }
}

/** A raw keep-alive HTTP/1.1 connection that made one request and now sits idle; resolves `closed` when the server ends it. */
async function idleKeepAlive(
  port: number,
): Promise<{ closed: Promise<void>; isOpen: () => boolean }> {
  const socket = connect({ host: '127.0.0.1', port });
  await once(socket, 'connect');
  let open = true;
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  void closed.then(() => (open = false));
  socket.on('error', () => undefined);
  socket.write('GET /work/fast HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive\r\n\r\n');
  let text = '';
  await new Promise<void>((resolve) => {
    socket.on('data', (c: Buffer) => {
      text += c.toString('utf8');
      if (text.includes('{"ok":true}')) resolve();
    });
  });
  expect(text).toMatch(/^HTTP\/1\.1 200/);
  expect(text.toLowerCase()).toContain('connection: keep-alive');
  return { closed, isOpen: () => open };
}

function readAgent(port: number, destroyAtOnce = false): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let text = '';
    socket.on('connect', () => {
      if (destroyAtOnce) {
        socket.resetAndDestroy(); // what HAProxy may do: RST as soon as it has what it needs
        resolve('');
      }
    });
    socket.on('data', (c: Buffer) => (text += c.toString('utf8')));
    socket.on('end', () => resolve(text));
    socket.on('error', destroyAtOnce ? () => resolve('') : reject);
  });
}

describe.each(ADAPTERS)('@steady/health (%s)', (adapter) => {
  it('serves readiness and liveness at the configured paths, and they are never shed', async () => {
    const t = await start(
      adapter,
      HealthModule.forRoot({ readinessPath: '/readyz', livenessPath: '/livez' }),
      [LoadSheddingModule.forRoot({ maxInFlight: 1, eventLoop: false, heap: false })],
    );
    try {
      const slow = httpRequest(`${t.url}/work/slow?ms=800`);
      await waitFor(() => t.app.get(InFlightTracker).inFlight >= 1);
      expect((await httpRequest(`${t.url}/work/fast`)).status).toBe(429); // saturated: business traffic is shed
      const ready = await httpRequest(`${t.url}/readyz`);
      expect(ready.status).toBe(200);
      expect(ready.headers['cache-control']).toBe('no-cache, no-store, must-revalidate');
      expect(JSON.parse(ready.body)).toEqual({
        status: 'ok',
        info: { drain: { status: 'up', state: 'serving' } },
        error: {},
        details: { drain: { status: 'up', state: 'serving' } },
      });
      const live = await httpRequest(`${t.url}/livez`);
      expect(live.status).toBe(200);
      expect(JSON.parse(live.body).info).toEqual({ drain: { status: 'up', state: 'serving' } });
      expect((await slow).status).toBe(200);
      expect((await httpRequest(`${t.url}/health/ready`)).status).toBe(404); // only the configured paths
    } finally {
      await t.close();
    }
  });

  it('readiness includes the indicators the app adds; one that throws is a 503, never a 500', async () => {
    const t = await start(
      adapter,
      HealthModule.forRoot({
        readiness: [() => ({ cache: { status: 'up' as const } })],
        liveness: [() => ({ loop: { status: 'up' as const } })],
      }),
    );
    try {
      const registry = t.app.get(HealthCheckRegistry);
      expect(JSON.parse((await httpRequest(`${t.url}/health/ready`)).body).info).toEqual({
        drain: { status: 'up', state: 'serving' },
        cache: { status: 'up' },
      });
      const removeDb = registry.addReadiness(() => ({
        db: { status: 'down', message: 'no pool' },
      }));
      let ready = await httpRequest(`${t.url}/health/ready`);
      expect(ready.status).toBe(503);
      expect(JSON.parse(ready.body)).toMatchObject({
        status: 'error',
        error: { db: { status: 'down', message: 'no pool' } },
      });
      removeDb();
      const removeBroken = registry.addReadiness(() => {
        throw new Error('driver bug');
      });
      ready = await httpRequest(`${t.url}/health/ready`);
      expect(ready.status).toBe(503);
      expect(JSON.parse(ready.body).error).toEqual({
        readiness_1: { status: 'down', message: 'driver bug' },
      });
      removeBroken();
      expect((await httpRequest(`${t.url}/health/ready`)).status).toBe(200);
      const live = await httpRequest(`${t.url}/health/live`);
      expect([live.status, Object.keys(JSON.parse(live.body).info)]).toEqual([
        200,
        ['drain', 'loop'],
      ]);
    } finally {
      await t.close();
    }
  });

  it('drains: readiness 503 at once, liveness 200 throughout, in-flight finish with Connection: close, idle keep-alive closed, then Nest shutdown', async () => {
    const t = await start(
      adapter,
      HealthModule.forRoot({ lb: { fall: 1, intervalMs: 400, marginMs: 0 }, deadlineMs: 5_000 }),
    );
    const drain = t.app.get(DrainService);
    const probe = t.app.get(ShutdownProbe);
    const states: DrainState[] = [];
    drain.onStateChange((s) => states.push(s.state));
    drain.onDrained((s) => void probe.events.push(`drained with ${s.inFlight} in flight`));

    const idle = await idleKeepAlive(t.port);
    const slowAgent = new Agent({ keepAlive: true });
    const slow = httpRequest(`${t.url}/work/slow?ms=800`, { agent: slowAgent });
    await waitFor(() => t.app.get(InFlightTracker).inFlight >= 1);

    const started = performance.now();
    const done = drain.drain('test');
    expect(drain.state).toBe('draining');
    const ready = await httpRequest(`${t.url}/health/ready`);
    expect(ready.status).toBe(503);
    expect(JSON.parse(ready.body).error.drain).toMatchObject({
      status: 'down',
      state: 'draining',
      reason: 'test',
    });
    const metrics = await httpRequest(`${t.url}/metrics`);
    expect(metrics.body).toContain('steady_drain_state{state="draining"} 1');
    expect(metrics.body).toContain('steady_drain_in_flight_requests{phase="draining"} 1');
    expect(metrics.body).toContain('steady_drain_triggers_total{source="api",result="started"} 1');
    expect(metrics.body).toContain('steady_drain_lb_wait_seconds 0.4');

    // liveness answers 200 for as long as the server accepts connections
    const live: number[] = [];
    while (drain.state === 'draining') {
      try {
        live.push((await httpRequest(`${t.url}/health/live`)).status);
      } catch (err) {
        // a probe that was connecting as the drain moved on to closing the listener is reset by the kernel (seen
        // once as ECONNRESET): not an answer from a draining server. Any other failure still fails the test.
        if (drain.state === 'draining') throw err;
      }
      await sleep(40);
    }
    expect(live.length).toBeGreaterThanOrEqual(3);
    expect(live.every((s) => s === 200)).toBe(true);
    expect(performance.now() - started).toBeGreaterThanOrEqual(390);

    // closing: the idle keep-alive connection is closed, new connections are refused, the slow request finishes
    await idle.closed;
    await expect(httpRequest(`${t.url}/health/live`)).rejects.toMatchObject({
      code: 'ECONNREFUSED',
    });
    const slowResponse = await slow;
    expect(slowResponse.status).toBe(200);
    expect(slowResponse.headers.connection).toBe('close');
    const status = await done;
    slowAgent.destroy();
    expect(states).toEqual(['draining', 'closing', 'exited']);
    expect(status).toMatchObject({ state: 'exited', forcedRequests: 0, inFlight: 0 });
    expect(status.durations.lbWait).toBeGreaterThanOrEqual(399);
    expect(probe.events).toEqual(['drained with 0 in flight', 'shutdown -']);
  });

  it('is idempotent: drain() twice, the admin endpoint and app.close() all join one sequence', async () => {
    const t = await start(
      adapter,
      HealthModule.forRoot({
        lb: { fall: 1, intervalMs: 300, marginMs: 0 },
        admin: { token: TOKEN },
        adminPath: '/ops/drain',
      }),
    );
    const drain = t.app.get(DrainService);
    const states: DrainState[] = [];
    drain.onStateChange((s) => states.push(s.state));
    const first = drain.drain('first');
    expect(drain.drain('second')).toBe(first);
    const admin = await httpRequest(`${t.url}/ops/drain`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 'third' }),
    });
    expect(admin.status).toBe(202);
    expect(JSON.parse(admin.body)).toMatchObject({
      started: false,
      state: 'draining',
      reason: 'first',
    });
    const metrics = (await httpRequest(`${t.url}/metrics`)).body;
    expect(metrics).toContain('steady_drain_triggers_total{source="api",result="started"} 1');
    expect(metrics).toContain('steady_drain_triggers_total{source="api",result="ignored"} 1');
    expect(metrics).toContain('steady_drain_triggers_total{source="admin",result="ignored"} 1');
    // app.close() mid-drain waits for the drain instead of cutting it short, and starts nothing new
    const closing = t.close();
    await sleep(100);
    expect(drain.state).toBe('draining');
    await closing;
    await first;
    expect(states).toEqual(['draining', 'closing', 'exited']);
    expect(drain.status().reason).toBe('first');
  });

  it('forces the connections still open at the hard deadline', async () => {
    const t = await start(
      adapter,
      HealthModule.forRoot({ lb: { fall: 1, intervalMs: 200, marginMs: 0 }, deadlineMs: 700 }),
    );
    const drain = t.app.get(DrainService);
    const stuck = httpRequest(`${t.url}/work/slow?ms=5000`).then(
      (r) => r.status,
      (err: NodeJS.ErrnoException) => err.code ?? err.message,
    );
    await waitFor(() => t.app.get(InFlightTracker).inFlight >= 1);
    const started = performance.now();
    const status = await drain.drain('deadline');
    const elapsed = performance.now() - started;
    expect(await stuck).toMatch(/ECONNRESET|socket hang up/);
    expect(status).toMatchObject({ state: 'exited', forcedRequests: 1, inFlight: 0 });
    expect(elapsed).toBeGreaterThanOrEqual(690);
    expect(elapsed).toBeLessThan(3_000); // the 5 s request did not hold the drain
  });

  it('app.close() called directly lets the requests in flight finish', async () => {
    const t = await start(adapter, HealthModule.forRoot());
    const drain = t.app.get(DrainService);
    const slow = httpRequest(`${t.url}/work/slow?ms=400`);
    await waitFor(() => t.app.get(InFlightTracker).inFlight >= 1);
    const started = performance.now();
    await t.close();
    expect(performance.now() - started).toBeGreaterThanOrEqual(300); // waited for the request
    const r = await slow;
    expect([r.status, r.headers.connection]).toEqual([200, 'close']);
    expect(drain.status()).toMatchObject({
      state: 'exited',
      source: 'app_close',
      forcedRequests: 0,
    });
  });

  it('admin endpoint: 401 without a token, 403 with a wrong one, 400 on bad input, 202 starts the drain', async () => {
    const t = await start(
      adapter,
      HealthModule.forRoot({
        admin: { token: TOKEN },
        adminPath: '/ops/drain',
        lb: { fall: 1, intervalMs: 200, marginMs: 0 },
      }),
    );
    const post = (headers: Record<string, string>, body?: unknown) =>
      httpRequest(`${t.url}/ops/drain`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    try {
      const bearer = { authorization: `Bearer ${TOKEN}` };
      expect((await post({}, {})).status).toBe(401);
      expect((await post({ authorization: 'Basic abc' }, {})).status).toBe(401);
      expect((await post({ authorization: 'Bearer wrong-token-0123456789' }, {})).status).toBe(403);
      expect((await post(bearer, { reason: 'x'.repeat(101) })).status).toBe(400);
      expect((await post(bearer, { reason: 42 })).status).toBe(400);
      const unknown = await post(bearer, { reason: 'ok', force: true });
      expect([unknown.status, JSON.parse(unknown.body).message]).toEqual([
        400,
        'Unknown field(s): force; only "reason" is allowed',
      ]);
      expect((await post(bearer, [1, 2])).status).toBe(400);
      expect(t.app.get(DrainService).isServing).toBe(true);
      const ok = await post(bearer, { reason: 'maintenance' });
      expect(ok.status).toBe(202);
      expect(JSON.parse(ok.body)).toMatchObject({
        started: true,
        state: 'draining',
        reason: 'maintenance',
      });
      const ready = await httpRequest(`${t.url}/health/ready`);
      expect([ready.status, JSON.parse(ready.body).error.drain.reason]).toEqual([
        503,
        'maintenance',
      ]);
    } finally {
      await t.close();
    }
  });

  it('HAProxy agent responder: "up ready", then "drain"; survives resets', async () => {
    const t = await start(
      adapter,
      HealthModule.forRoot({
        agent: { port: 0, host: '127.0.0.1', intervalMs: 200 },
        lb: { fall: 3, intervalMs: 1000, marginMs: 0 },
      }),
    );
    const port = t.app.get(HaproxyAgentServer).port!;
    try {
      expect(port).toBeGreaterThan(0);
      expect(t.app.get(DrainService).options.lbWaitMs).toBe(200); // one agent interval
      expect(await readAgent(port)).toBe('up ready\n');
      await Promise.all(Array.from({ length: 20 }, () => readAgent(port, true)));
      expect(await readAgent(port)).toBe('up ready\n');
      void t.app.get(DrainService).drain('agent');
      expect(await readAgent(port)).toBe('drain\n');
    } finally {
      await t.close();
    }
    await expect(readAgent(port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('forRootAsync: options from a factory, the paths beside it', async () => {
    const t = await start(
      adapter,
      HealthModule.forRootAsync({
        readinessPath: '/ops/ready',
        livenessPath: '/ops/live',
        useFactory: async () => ({
          lb: { fall: 1, intervalMs: 100, marginMs: 0 },
          readiness: [() => ({ config: { status: 'up' as const } })],
        }),
      }),
    );
    try {
      expect(t.app.get(DrainService).options.lbWaitMs).toBe(100);
      const ready = await httpRequest(`${t.url}/ops/ready`);
      expect([ready.status, Object.keys(JSON.parse(ready.body).info)]).toEqual([
        200,
        ['drain', 'config'],
      ]);
      expect((await httpRequest(`${t.url}/ops/live`)).status).toBe(200);
    } finally {
      await t.close();
    }
  });

  it('refuses to start on bad options, naming them', async () => {
    await expect(start(adapter, HealthModule.forRoot({ lb: { fall: 0 } }))).rejects.toThrow(
      '@steady/health: invalid option "lb.fall": expected an integer >= 1 and <= 100, got 0',
    );
    await expect(start(adapter, HealthModule.forRoot({ adminPath: '/ops/drain' }))).rejects.toThrow(
      'invalid option "admin": expected an object { token } because the admin endpoint is mounted at /ops/drain',
    );
  });
});
