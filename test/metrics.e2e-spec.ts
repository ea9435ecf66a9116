import { Controller, Get, Inject, Injectable, Module, Optional } from '@nestjs/common';
import { MetricsSink, SteadyCoreModule, type SteadyCounter } from '@steady/core';
import { MetricsModule, MetricsService } from '@steady/metrics';
import request from 'supertest';
import { ADAPTERS, createTestApp, type TestApp } from './support/nest-app';

/** What a Steady library does: register through the optional sink, work without it. */
@Injectable()
class LibraryService {
  readonly hits?: SteadyCounter;
  constructor(@Optional() @Inject(MetricsSink) readonly sink?: MetricsSink) {
    this.hits = sink?.counter({ name: 'library_hits_total', help: 'Hits seen by a library' });
  }
  hit(): void {
    this.hits?.inc();
  }
}

@Controller('work')
class WorkController {
  constructor(private readonly lib: LibraryService) {}
  @Get()
  work() {
    this.lib.hit();
    return { metrics: this.lib.sink !== undefined };
  }
}

@Module({ controllers: [WorkController], providers: [LibraryService] })
class FeatureModule {}

describe.each(ADAPTERS)('@steady/metrics (%s)', (adapter) => {
  describe('with the core signal, at the default path', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp(adapter, {
        imports: [
          SteadyCoreModule.forRoot({ sampleIntervalMs: 20 }),
          MetricsModule.forRoot({ defaultLabels: { service: 'test' } }),
          FeatureModule,
        ],
      });
    });
    afterAll(() => t?.close());

    it('serves Prometheus text with the right content type and no caching', async () => {
      await request(t.url).get('/work').expect(200, { metrics: true });
      const res = await request(t.url).get('/metrics').expect(200);
      expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.text).toContain('# TYPE steady_library_hits_total counter');
      expect(res.text).toContain('steady_library_hits_total{service="test"} 1');
      expect(res.text).toMatch(/nodejs_eventloop_lag_seconds\{service="test"\} /);
      // the scrape itself is in flight while the registry is rendered
      expect(res.text).toContain('steady_in_flight_requests{service="test"} 1');
      expect(res.text).toMatch(/steady_event_loop_utilization_ratio\{service="test"\} [0-9.e-]+/);
      expect(res.text).toMatch(
        /steady_event_loop_request_turn_max_seconds\{service="test"\} [0-9.e-]+/,
      );
      expect(res.text).toMatch(
        /steady_event_loop_delay_seconds\{stat="p99",service="test"\} [0-9.e-]+/,
      );
      expect(res.text).toMatch(/steady_heap_used_ratio\{service="test"\} 0\.\d+/);
    });

    it('mirrors the tracker totals as counters', async () => {
      const started = t.app.get(MetricsService);
      const first = await request(t.url).get('/metrics').expect(200);
      const n1 = Number(
        /steady_requests_started_total\{service="test"\} (\d+)/.exec(first.text)?.[1],
      );
      await request(t.url).get('/work').expect(200);
      const second = await request(t.url).get('/metrics').expect(200);
      const n2 = Number(
        /steady_requests_started_total\{service="test"\} (\d+)/.exec(second.text)?.[1],
      );
      expect(n2 - n1).toBe(2); // the /work call and the second scrape
      expect(started.getMetric('steady_in_flight_requests')).toBeDefined();
    });

    it('answers 404 to other paths and to POST /metrics', async () => {
      await request(t.url).get('/metrics/extra').expect(404);
      await request(t.url).post('/metrics').expect(404);
    });
  });

  it('serves at a custom path from forRootAsync, without default metrics or core', async () => {
    const t = await createTestApp(adapter, {
      imports: [
        MetricsModule.forRootAsync({
          path: '/ops/prometheus',
          useFactory: async () => ({ defaultMetrics: false }),
        }),
        FeatureModule,
      ],
    });
    try {
      await request(t.url).get('/work').expect(200, { metrics: true });
      await request(t.url).get('/metrics').expect(404);
      const res = await request(t.url).get('/ops/prometheus').expect(200);
      expect(res.text).toContain('steady_library_hits_total 1');
      expect(res.text).not.toContain('nodejs_');
      expect(res.text).not.toContain('steady_in_flight_requests');
    } finally {
      await t.close();
    }
  });

  it('lets libraries work unchanged when MetricsModule is absent', async () => {
    const t = await createTestApp(adapter, { imports: [FeatureModule] });
    try {
      await request(t.url).get('/work').expect(200, { metrics: false });
      await request(t.url).get('/metrics').expect(404);
    } finally {
      await t.close();
    }
  });

  it('fails at startup naming a bad option', async () => {
    await expect(
      createTestApp(adapter, {
        imports: [MetricsModule.forRoot({ defaultMetrics: 'yes' as never })],
      }),
    ).rejects.toThrow(
      '@steady/metrics: invalid option "defaultMetrics": expected true or false, got "yes"',
    );
    expect(() => MetricsModule.forRoot({ path: 'metrics' })).toThrow(/invalid option "path"/);
  });
});
