import {
  Body,
  Controller,
  Get,
  HttpException,
  Injectable,
  Module,
  Post,
  Req,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { InFlightTracker, SteadyCoreModule, UtilisationMonitor, detectAdapter } from '@steady/core';
import * as http from 'node:http';
import request from 'supertest';
import { ADAPTERS, createTestApp, type TestApp } from './support/nest-app';

/** Lets a test hold requests open and release them when it chooses. */
@Injectable()
class Gate {
  private waiting: Array<() => void> = [];
  entered = 0;
  hold(): Promise<void> {
    this.entered++;
    return new Promise((resolve) => this.waiting.push(resolve));
  }
  releaseAll(): void {
    for (const r of this.waiting.splice(0)) r();
  }
}

@Controller()
class ProbeController {
  constructor(
    private readonly gate: Gate,
    private readonly tracker: InFlightTracker,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  @Get('fast')
  fast(@Req() req: object) {
    return {
      inFlight: this.tracker.inFlight,
      hasStart: this.tracker.startedAt(req) !== undefined,
      adapter: detectAdapter(this.adapterHost.httpAdapter),
    };
  }

  @Get('slow')
  async slow() {
    await this.gate.hold();
    return { ok: true };
  }

  @Get('boom')
  boom() {
    throw new Error('unexpected failure');
  }

  @Get('teapot')
  teapot() {
    throw new HttpException('short and stout', 418);
  }

  @Post('echo')
  echo(@Body() body: unknown) {
    return body;
  }
}

@Module({
  imports: [SteadyCoreModule.forRoot({ sampleIntervalMs: 20 })],
  controllers: [ProbeController],
  providers: [Gate],
})
class ProbeModule {}

async function until(predicate: () => boolean, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe.each(ADAPTERS)('@steady/core in-flight tracking (%s)', (adapter) => {
  let t: TestApp;
  let tracker: InFlightTracker;
  let gate: Gate;

  beforeAll(async () => {
    t = await createTestApp(adapter, ProbeModule);
    tracker = t.app.get(InFlightTracker);
    gate = t.app.get(Gate);
  });
  afterAll(() => t?.close());
  afterEach(async () => {
    gate.releaseAll();
    await tracker.waitForIdle(2_000);
  });

  it('counts the request itself while its handler runs, with a start time', async () => {
    const res = await request(t.url).get('/fast').expect(200);
    expect(res.body).toEqual({ inFlight: 1, hasStart: true, adapter });
    await until(() => tracker.inFlight === 0);
  });

  it('holds concurrent requests in flight and releases each exactly once', async () => {
    const before = tracker.completedTotal;
    const entered = gate.entered;
    // supertest sends on then(); collect the statuses
    const pending = Array.from({ length: 5 }, () =>
      request(t.url)
        .get('/slow')
        .then((r) => r.status),
    );
    await until(() => gate.entered - entered === 5 && tracker.inFlight === 5);
    const idle = tracker.waitForIdle(5_000);
    gate.releaseAll();
    expect(await Promise.all(pending)).toEqual([200, 200, 200, 200, 200]);
    expect(await idle).toBe(true);
    expect(tracker.inFlight).toBe(0);
    expect(tracker.completedTotal - before).toBe(5);
    expect(tracker.startedTotal - tracker.completedTotal).toBe(0);
  });

  it('returns to 0 after an unexpected exception (500) and an HttpException', async () => {
    await request(t.url).get('/boom').expect(500);
    await request(t.url).get('/teapot').expect(418);
    await request(t.url).get('/missing').expect(404);
    await until(() => tracker.inFlight === 0);
  });

  it('returns to 0 when the client aborts mid-request', async () => {
    const abortedBefore = tracker.abortedTotal;
    const req = http.get(`${t.url}/slow`);
    req.on('error', () => undefined);
    await until(() => tracker.inFlight === 1);
    req.destroy();
    await until(() => tracker.inFlight === 0);
    expect(tracker.abortedTotal - abortedBefore).toBe(1);
    gate.releaseAll(); // the handler finishes later; nothing is released twice
    await new Promise((r) => setTimeout(r, 20));
    expect(tracker.inFlight).toBe(0);
    expect(tracker.startedTotal).toBe(tracker.completedTotal);
  });

  it('returns to 0 when the server times the socket out', async () => {
    const previous = t.server.timeout;
    t.server.setTimeout(100);
    try {
      const req = http.get(`${t.url}/slow`);
      const failed = new Promise<string>((resolve) => {
        req.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
        req.on('response', (r) => resolve(`status ${r.statusCode}`));
      });
      await until(() => tracker.inFlight === 1);
      await until(() => tracker.inFlight === 0);
      expect(await failed).toMatch(/ECONNRESET|socket hang up|status 408/);
    } finally {
      t.server.setTimeout(previous);
    }
  });

  it('counts a request on arrival, before its body has been received', async () => {
    const req = http.request(`${t.url}/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': '13' },
    });
    req.on('error', () => undefined);
    const response = new Promise<{ status?: number; body: string }>((resolve) => {
      req.on('response', (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode, body }));
      });
    });
    req.flushHeaders();
    await until(() => tracker.inFlight === 1);
    req.end('{"hello":"x"}');
    expect(await response).toEqual({ status: 201, body: '{"hello":"x"}' });
    await until(() => tracker.inFlight === 0);
  });

  it('lets an admission hook answer before routing and body parsing; the handler never runs', async () => {
    const before = { rejected: tracker.rejectedTotal, started: tracker.startedTotal };
    const remove = tracker.setAdmission((req, res) => {
      if (!req.url?.startsWith('/echo')) return true;
      res.writeHead(429, { 'content-type': 'application/json', connection: 'close' });
      res.end('{"statusCode":429}');
      return false;
    });
    try {
      // a body that never completes: a parser would wait for it, the hook does not
      const req = http.request(`${t.url}/echo`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': '1000' },
      });
      req.on('error', () => undefined);
      const status = new Promise<number | undefined>((resolve) =>
        req.on('response', (res) => {
          res.resume();
          resolve(res.statusCode);
        }),
      );
      req.write('{"partial":');
      expect(await status).toBe(429);
      req.destroy();
      await request(t.url).get('/fast').expect(200);
      expect(tracker.rejectedTotal - before.rejected).toBe(1);
      expect(tracker.startedTotal - before.started).toBe(1); // only /fast entered
      await until(() => tracker.inFlight === 0);
    } finally {
      remove();
    }
    await request(t.url).post('/echo').send({ ok: 1 }).expect(201, { ok: 1 });
  });

  it('feeds the monitor: samples see the in-flight count', async () => {
    const monitor = t.app.get(UtilisationMonitor);
    expect(monitor.running).toBe(true);
    const responses = Promise.all(
      Array.from({ length: 3 }, () =>
        request(t.url)
          .get('/slow')
          .then((r) => r.status),
      ),
    );
    await until(() => monitor.snapshot().inFlight === 3);
    expect(monitor.snapshot().inFlightPeak).toBeGreaterThanOrEqual(3);
    gate.releaseAll();
    expect(await responses).toEqual([200, 200, 200]);
    await until(() => monitor.snapshot().inFlight === 0);
  });
});

describe.each(ADAPTERS)('@steady/core module (%s)', (adapter) => {
  it('fails at startup with an error naming a bad option', async () => {
    await expect(
      createTestApp(adapter, { imports: [SteadyCoreModule.forRoot({ sampleIntervalMs: -1 })] }),
    ).rejects.toThrow(
      '@steady/core: invalid option "sampleIntervalMs": expected an integer >= 10 and <= 60000 ms, got -1',
    );
  });

  it('takes options from forRootAsync and stops its timer on close', async () => {
    const t = await createTestApp(adapter, {
      imports: [
        SteadyCoreModule.forRootAsync({ useFactory: async () => ({ sampleIntervalMs: 50 }) }),
      ],
    });
    const monitor = t.app.get(UtilisationMonitor);
    expect(monitor.running).toBe(true);
    await t.close();
    expect(monitor.running).toBe(false);
  });
});
