import {
  Body,
  Controller,
  Get,
  Injectable,
  Module,
  Post,
  UseGuards,
  VersioningType,
  type DynamicModule,
} from '@nestjs/common';
import { InFlightTracker, SteadyCoreModule } from '@steady/core';
import {
  LoadSheddingHealthIndicator,
  LoadSheddingModule,
  LoadSheddingService,
  Shed,
  ShedGuard,
  ShedSignal,
  SkipShed,
  type LoadSheddingModuleOptions,
} from '@steady/load-shedding';
import { MetricsModule } from '@steady/metrics';
import * as http from 'node:http';
import request from 'supertest';
import { ADAPTERS, createTestApp, type AdapterName, type TestApp } from './support/nest-app';

@Injectable()
class Gate {
  private waiting: Array<() => void> = [];
  handled = 0;
  hold(): Promise<void> {
    return new Promise((resolve) => this.waiting.push(resolve));
  }
  releaseAll(): void {
    for (const r of this.waiting.splice(0)) r();
  }
}

@Controller()
class WorkController {
  constructor(private readonly gate: Gate) {}

  @Get('slow')
  async slow() {
    this.gate.handled++;
    await this.gate.hold();
    return { ok: true };
  }

  @Get('work')
  work() {
    this.gate.handled++;
    return { ok: true };
  }

  @Post('work')
  post(@Body() body: unknown) {
    this.gate.handled++;
    return body;
  }

  @Get('boom')
  boom() {
    throw new Error('boom');
  }

  @SkipShed()
  @Get('always')
  always() {
    return { ok: true };
  }

  @Shed({ priority: 'critical' })
  @Get('critical')
  critical() {
    return { ok: true };
  }

  @Shed({ priority: 'sheddable' })
  @Get('sheddable')
  sheddable() {
    return { ok: true };
  }

  @UseGuards(ShedGuard)
  @Get('guarded')
  guarded() {
    return { ok: true };
  }
}

function shedApp(options: LoadSheddingModuleOptions, extra: DynamicModule[] = []) {
  return {
    imports: [
      SteadyCoreModule.forRoot({ sampleIntervalMs: 20 }),
      MetricsModule.forRoot({ defaultMetrics: false }),
      LoadSheddingModule.forRoot({ eventLoop: false, heap: false, ...options }),
      ...extra,
    ],
    controllers: [WorkController],
    providers: [Gate],
  };
}

async function until(predicate: () => boolean, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Holds `n` requests on /slow so that `n` are in flight; returns their statuses once released. */
async function saturate(t: TestApp, n: number): Promise<() => Promise<number[]>> {
  const tracker = t.app.get(InFlightTracker);
  const gate = t.app.get(Gate);
  const base = tracker.inFlight;
  const pending = Array.from({ length: n }, () =>
    request(t.url)
      .get('/slow')
      .set('x-steady-priority', 'critical') // they must get in themselves
      .then((r) => r.status),
  );
  await until(() => tracker.inFlight >= base + n);
  return async () => {
    gate.releaseAll();
    const statuses = await Promise.all(pending);
    await until(() => tracker.inFlight === 0);
    return statuses;
  };
}

describe.each(ADAPTERS)('@steady/load-shedding (%s)', (adapter: AdapterName) => {
  describe('global mode, saturated in flight', () => {
    let t: TestApp;
    let release: () => Promise<number[]>;
    beforeAll(async () => {
      t = await createTestApp(
        adapter,
        shedApp({ maxInFlight: 4, bypass: (req) => req.headers['x-bypass'] === 'yes' }),
      );
      release = await saturate(t, 4);
    });
    afterAll(async () => {
      await release?.();
      await t?.close();
    });

    it('answers 429 with Retry-After and a JSON body; the handler never runs', async () => {
      const gate = t.app.get(Gate);
      const handled = gate.handled;
      const res = await request(t.url).get('/work').expect(429);
      expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(res.headers['cache-control']).toBe('no-store');
      expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(Number(res.headers['retry-after'])).toBeLessThanOrEqual(3);
      expect(res.body).toEqual({
        statusCode: 429,
        error: 'Too Many Requests',
        message: 'Server is at capacity, retry later',
        reason: 'in_flight',
      });
      expect(gate.handled).toBe(handled);
    });

    it('rejects a POST before its body is read, and closes the connection', async () => {
      const req = http.request(`${t.url}/work`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': '100000' },
      });
      req.on('error', () => undefined);
      const res = await new Promise<http.IncomingMessage>((resolve) => {
        req.on('response', resolve);
        req.write('{"never":'); // the rest never comes; a parser would wait for it
      });
      res.resume();
      expect(res.statusCode).toBe(429);
      expect(res.headers.connection).toBe('close');
      req.destroy();
    });

    it('never sheds @SkipShed routes, /metrics, or bypassed requests', async () => {
      await request(t.url).get('/always').expect(200);
      const metrics = await request(t.url).get('/metrics').expect(200);
      expect(metrics.text).toMatch(
        /steady_shed_requests_total\{reason="in_flight",priority="normal"\} [1-9]/,
      );
      expect(metrics.text).toContain('steady_shed_max_in_flight_requests 4');
      await request(t.url).get('/work').set('x-bypass', 'yes').expect(200);
    });

    it('sheds by priority: critical gets in at the hard threshold, sheddable and normal do not', async () => {
      await request(t.url).get('/critical').expect(200);
      await request(t.url).get('/work').set('x-steady-priority', 'critical').expect(200);
      await request(t.url).get('/work').set('x-steady-priority', 'CRITICAL ').expect(200);
      await request(t.url).get('/sheddable').expect(429);
      await request(t.url).get('/work').set('x-steady-priority', 'sheddable').expect(429);
      // an unknown priority is normal, never an error
      await request(t.url).get('/work').set('x-steady-priority', 'urgent!!').expect(429);
    });

    it('reports the utilisation through the Terminus-shaped health indicator', () => {
      const health = t.app.get(LoadSheddingHealthIndicator);
      expect(health.checkUtilisation('load_shedding')).toEqual({
        load_shedding: expect.objectContaining({
          status: 'down',
          inFlight: 4,
          maxInFlight: 4,
          utilisation: 1,
          enabled: true,
          shadow: false,
        }),
      });
    });

    it('rejects nothing in shadow mode but counts it, and nothing when disabled', async () => {
      const svc = t.app.get(LoadSheddingService);
      svc.setShadow(true);
      try {
        const before = svc.state().wouldShedTotal;
        await request(t.url).get('/work').expect(200);
        expect(svc.state().wouldShedTotal).toBe(before + 1);
        const metrics = await request(t.url).get('/metrics').expect(200);
        expect(metrics.text).toMatch(
          /steady_shed_would_shed_requests_total\{reason="in_flight",priority="normal"\} [1-9]/,
        );
        expect(metrics.text).toContain('steady_shed_shadow_mode 1');
      } finally {
        svc.setShadow(false);
      }
      svc.setEnabled(false);
      try {
        await request(t.url).get('/work').expect(200);
      } finally {
        svc.setEnabled(true);
      }
      await request(t.url).get('/work').expect(429);
    });
  });

  describe('in-flight accounting with shedding installed', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp(adapter, shedApp({ maxInFlight: 2 }));
    });
    afterAll(() => t?.close());

    it('returns to exactly 0 after aborts, exceptions and rejections', async () => {
      const tracker = t.app.get(InFlightTracker);
      const aborted = http.get(`${t.url}/slow`);
      aborted.on('error', () => undefined);
      await until(() => tracker.inFlight === 1);
      aborted.destroy();
      await until(() => tracker.inFlight === 0);
      await request(t.url).get('/boom').expect(500);
      const release = await saturate(t, 2);
      await request(t.url).get('/work').expect(429);
      await request(t.url).get('/boom').expect(429);
      expect(await release()).toEqual([200, 200]);
      expect(tracker.inFlight).toBe(0);
      expect(t.app.get(LoadSheddingHealthIndicator).checkUtilisation('shed')).toEqual({
        shed: expect.objectContaining({ status: 'up', inFlight: 0, utilisation: 0 }),
      });
      t.app.get(Gate).releaseAll();
      await until(() => tracker.inFlight === 0);
      expect(tracker.startedTotal).toBe(tracker.completedTotal);
    });
  });

  describe('per-priority accounting: lower priorities do not crowd out higher ones', () => {
    let t: TestApp;
    afterAll(async () => {
      t?.app.get(Gate).releaseAll();
      await t?.close();
    });

    it('judges critical traffic without the sheddable and normal requests in flight', async () => {
      t = await createTestApp(
        adapter,
        shedApp({ maxInFlight: 10, inFlight: { soft: 0.5, hard: 1 }, criticalReserve: 0 }),
      );
      const tracker = t.app.get(InFlightTracker);
      // Only a shed probability of 1 rejects, so the walk below is deterministic.
      (t.app.get(LoadSheddingService) as unknown as { random: () => number }).random = () => 0.999;
      const held: Array<Promise<number>> = [];
      const hold = async (priority: string) => {
        const before = tracker.startedTotal + tracker.rejectedTotal;
        const status = request(t.url)
          .get('/slow')
          .set('x-steady-priority', priority)
          .then((r) => r.status);
        await until(() => tracker.startedTotal + tracker.rejectedTotal > before);
        held.push(status);
        return tracker.rejectedTotal;
      };
      for (let i = 0; i < 5; i++) await hold('normal'); // below the soft threshold: calm, untagged
      expect(tracker.inFlight).toBe(5);
      // sheddable: shed with probability 2 x level, judged by everything in flight: in at 5, 6, 7; out at 8
      for (let i = 0; i < 4; i++) await hold('sheddable');
      expect([tracker.inFlight, tracker.inFlightOf('sheddable')]).toEqual([8, 3]);
      // normal: judged without the 3 sheddable ones, so 5 more get in before its level reaches 1
      for (let i = 0; i < 6; i++) await hold('normal');
      expect([tracker.inFlight, tracker.inFlightOf('normal')]).toEqual([13, 5]);
      // at 13 in flight (130 % of maxInFlight) a critical request still gets in: only 5 are not lower-priority
      await request(t.url).get('/critical').expect(200);
      await request(t.url).get('/work').set('x-steady-priority', 'normal').expect(429);
      await request(t.url).get('/work').set('x-steady-priority', 'sheddable').expect(429);
      const metrics = await request(t.url).get('/metrics').expect(200);
      expect(metrics.text).toContain('steady_shed_in_flight_requests{priority="sheddable"} 3');
      expect(metrics.text).toContain('steady_shed_in_flight_requests{priority="normal"} 5');
      t.app.get(Gate).releaseAll();
      const statuses = await Promise.all(held);
      expect(statuses.filter((s) => s === 200)).toHaveLength(13);
      expect(statuses.filter((s) => s === 429)).toHaveLength(2);
      await until(() => tracker.inFlight === 0);
      expect([tracker.inFlightOf('sheddable'), tracker.inFlightOf('normal')]).toEqual([0, 0]);
    });
  });

  describe('guard mode (global: false)', () => {
    let t: TestApp;
    let release: () => Promise<number[]>;
    beforeAll(async () => {
      t = await createTestApp(adapter, shedApp({ maxInFlight: 3, global: false }));
      release = await saturate(t, 3);
    });
    afterAll(async () => {
      await release?.();
      await t?.close();
    });

    it('sheds only routes with @Shed or ShedGuard', async () => {
      await request(t.url).get('/work').expect(200);
      await request(t.url).get('/guarded').expect(429);
      await request(t.url).get('/sheddable').expect(429);
      await request(t.url).get('/critical').expect(200);
    });
  });

  describe('routes behind a global prefix and URI versioning', () => {
    let t: TestApp;
    let release: () => Promise<number[]>;
    beforeAll(async () => {
      t = await createTestApp(adapter, shedApp({ maxInFlight: 2 }), {
        configure: (app) => {
          app.setGlobalPrefix('api');
          app.enableVersioning({ type: VersioningType.URI, defaultVersion: '1' });
        },
      });
      const tracker = t.app.get(InFlightTracker);
      const pending = [0, 1].map(() =>
        request(t.url)
          .get('/api/v1/slow')
          .set('x-steady-priority', 'critical')
          .then((r) => r.status),
      );
      await until(() => tracker.inFlight >= 2);
      release = async () => {
        t.app.get(Gate).releaseAll();
        return Promise.all(pending);
      };
    });
    afterAll(async () => {
      expect(await release()).toEqual([200, 200]);
      await t?.close();
    });

    it('maps the raw URL to the route metadata before routing', async () => {
      await request(t.url).get('/api/v1/work').expect(429);
      await request(t.url).get('/api/v1/always').expect(200);
      // not shed either way; Fastify routes a trailing slash to 404 by default, Express does not
      await request(t.url)
        .get('/api/v1/always/')
        .expect(adapter === 'express' ? 200 : 404);
      await request(t.url).get('/api/v1/always?x=1').expect(200);
      await request(t.url).get('/api/v1/critical').expect(200);
      await request(t.url).get('/api/v1/sheddable').expect(429);
    });
  });

  describe('custom signal through the ShedSignal token, decided by the guard', () => {
    let t: TestApp;
    let level = 0;
    beforeAll(async () => {
      @Module({
        providers: [
          {
            provide: ShedSignal,
            useValue: { name: 'db_pool', soft: 0.5, hard: 1, read: () => level },
          },
        ],
        exports: [ShedSignal],
      })
      class SignalModule {}
      t = await createTestApp(adapter, {
        imports: [
          SteadyCoreModule.forRoot({ sampleIntervalMs: 20, autoAttach: false }), // no hook: the guard decides
          LoadSheddingModule.forRootAsync({
            imports: [SignalModule],
            useFactory: () => ({ eventLoop: false, heap: false, signals: [] }),
          }),
          SignalModule,
        ],
        controllers: [WorkController],
        providers: [Gate],
      });
    });
    afterAll(() => t?.close());

    it('sheds when the signal passes its hard threshold and stops when it falls', async () => {
      const svc = t.app.get(LoadSheddingService);
      await request(t.url).get('/guarded').expect(200);
      level = 2;
      await until(() => (svc.state().levels.db_pool ?? 0) >= 1);
      const res = await request(t.url).get('/guarded').expect(429);
      expect(res.body).toMatchObject({ statusCode: 429, reason: 'db_pool' });
      expect(res.headers['retry-after']).toMatch(/^[1-3]$/);
      await request(t.url).get('/work').expect(200); // not guarded, and no global hook
      level = 0;
      await until(() => (svc.state().levels.db_pool ?? 0) < 0);
      await request(t.url).get('/guarded').expect(200);
    });
  });

  it('fails at startup naming a bad option', async () => {
    await expect(createTestApp(adapter, shedApp({ maxInFlight: -3 }))).rejects.toThrow(
      '@steady/load-shedding: invalid option "maxInFlight": expected an integer >= 1 and <= 1000000, got -3',
    );
  });
});
