/**
 * Records a real incident as explain snapshots, for the replay test (libs/metrics/src/explain.recorded.spec.ts):
 * an Express app with the core monitor, metrics, load shedding (maxInFlight 20) and ExplainModule; 6 s of calm
 * traffic, then 6 s where the downstream slows to 1.5 s and 24 clients pile up; then GET /ops/explain?snapshots=1.
 *
 *   npx vitest run --config tools/vitest.tools.config.mts tools/explain-fixture-record.ts
 *
 * Writes libs/metrics/src/explain-fixtures/slow-downstream.recorded.json.
 */
import { Controller, Get, Inject, Injectable, Query } from '@nestjs/common';
import { MetricsSink, SteadyCoreModule, type SteadyHistogram } from '@steady/core';
import { LoadSheddingModule } from '@steady/load-shedding';
import { ExplainModule, MetricsModule } from '@steady/metrics';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { httpRequest } from '../test/support/keep-alive-load';
import { createTestApp } from '../test/support/nest-app';

@Injectable()
class AddressBook {
  private readonly latency: SteadyHistogram;
  constructor(@Inject(MetricsSink) sink: MetricsSink) {
    this.latency = sink.histogram({
      name: 'recorded_address_book_seconds',
      help: 'Latency of the address book downstream (recording)',
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 2, 5],
    });
  }
  async lookup(ms: number): Promise<void> {
    const start = performance.now();
    await new Promise((r) => setTimeout(r, ms));
    this.latency.observe(undefined, (performance.now() - start) / 1000);
  }
}

@Controller('contacts')
class ContactsController {
  constructor(private readonly book: AddressBook) {}
  @Get()
  async get(@Query('ms') ms = '10') {
    await this.book.lookup(Math.min(Number(ms) || 0, 5000));
    return { ok: true };
  }
}

async function load(url: string, clients: number, ms: number, pauseMs: number) {
  const stopAt = performance.now() + ms;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      try {
        while (performance.now() < stopAt) {
          const r = await httpRequest(url, { agent, timeoutMs: 10_000 }).catch(() => ({
            status: 0,
          }));
          await new Promise((res) => setTimeout(res, r.status === 429 ? 250 : pauseMs));
        }
      } finally {
        agent.destroy();
      }
    }),
  );
}

describe('record a slow-downstream incident', () => {
  it('writes the snapshot window', { timeout: 120_000 }, async () => {
    const t = await createTestApp('express', {
      imports: [
        SteadyCoreModule.forRoot(),
        MetricsModule.forRoot({ defaultMetrics: false }),
        LoadSheddingModule.forRoot({ maxInFlight: 20, eventLoop: false }),
        ExplainModule.forRoot({ snapshotIntervalMs: 500, windowMs: 30_000 }),
      ],
      controllers: [ContactsController],
      providers: [AddressBook],
    });
    try {
      await load(`${t.url}/contacts?ms=10`, 4, 6000, 40);
      const slow = load(`${t.url}/contacts?ms=1500`, 24, 6500, 0);
      await new Promise((r) => setTimeout(r, 6000));
      const res = await httpRequest(`${t.url}/ops/explain?snapshots=1`);
      await slow;
      const body = JSON.parse(res.body) as { snapshots: unknown[]; headline: string };
      mkdirSync('libs/metrics/src/explain-fixtures', { recursive: true });
      writeFileSync(
        'libs/metrics/src/explain-fixtures/slow-downstream.recorded.json',
        JSON.stringify({
          recorded: new Date().toISOString(),
          how: 'tools/explain-fixture-record.ts: 6 s calm (4 clients, 10 ms downstream), then 24 clients on a 1.5 s downstream; Express, maxInFlight 20',
          downstreams: [{ name: 'address book', metric: 'steady_recorded_address_book_seconds' }],
          snapshots: body.snapshots,
        }) + '\n',
      );
      console.log(`recorded ${body.snapshots.length} snapshots; live headline: ${body.headline}`);
      expect(body.snapshots.length).toBeGreaterThan(10);
    } finally {
      await t.close();
    }
  });
});
