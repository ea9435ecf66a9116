/**
 * Per-request cost of ExplainModule's httpMetrics (the per-route latency and request-size histograms): server CPU
 * time per request with `httpMetrics: true` vs `false`, same app, interleaved rounds, on Express and Fastify. The
 * load comes from a separate client process (N keep-alive requests over C connections, half GET, half POST with a
 * small JSON body), so the server's `process.cpuUsage()` delta divided by N is its CPU per request.
 *
 *   npx vitest run --config tools/vitest.tools.config.mts tools/http-metrics-cost.ts
 *
 * Env: COST_ROUNDS (default 5), COST_REQUESTS (default 4000), COST_CONNECTIONS (default 4).
 */
import { Body, Controller, Get, Param, Post } from '@nestjs/common';
import { SteadyCoreModule } from '@steady/core';
import { ExplainModule, MetricsModule } from '@steady/metrics';
import { resolveMetricsOptions } from '../libs/metrics/src/metrics-options.validation';
import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { of } from 'rxjs';
import { HttpMetricsInterceptor, MetricsService, resolveExplainOptions } from '@steady/metrics';
import { ADAPTERS, createTestApp, type AdapterName } from '../test/support/nest-app';

const ROUNDS = Number(process.env.COST_ROUNDS ?? 5);
const REQUESTS = Number(process.env.COST_REQUESTS ?? 4000);
const CONNECTIONS = Number(process.env.COST_CONNECTIONS ?? 4);

@Controller('r')
class RouteController {
  @Get(':id')
  get(@Param('id') id: string) {
    return { id };
  }
  @Post(':id')
  post(@Param('id') id: string, @Body() body: unknown) {
    return { id, body };
  }
}

const CLIENT = `
const http = require('node:http');
const [url, n, c] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3])];
let sent = 0, ok = 0;
const body = JSON.stringify({ from: 'a@example.com', subject: 'hi', text: 'x'.repeat(200) });
async function loop() {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  while (sent < n) {
    const i = sent++;
    const post = i % 2 === 1;
    await new Promise((resolve) => {
      const req = http.request(url + '/r/' + (i % 50), { agent, method: post ? 'POST' : 'GET',
        headers: post ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {} },
        (res) => { res.resume(); res.on('end', () => { if (res.statusCode < 300) ok++; resolve(); }); });
      req.on('error', resolve);
      req.end(post ? body : undefined);
    });
  }
  agent.destroy();
}
Promise.all(Array.from({ length: c }, loop)).then(() => { process.stdout.write(String(ok)); });
`;

function runClient(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [
      '-e',
      CLIENT,
      url,
      String(REQUESTS),
      String(CONNECTIONS),
    ]);
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('exit', () => {
      clearTimeout(timer);
      const ok = Number(out);
      if (Number.isFinite(ok)) resolve(ok);
      else reject(new Error(`client failed: ${out}`));
    });
  });
}

async function cpuPerRequest(adapter: AdapterName, httpMetrics: boolean): Promise<number> {
  const t = await createTestApp(adapter, {
    imports: [
      SteadyCoreModule.forRoot(),
      MetricsModule.forRoot({ defaultMetrics: false }),
      ExplainModule.forRoot({ httpMetrics }),
    ],
    controllers: [RouteController],
  });
  try {
    await runClient(t.url); // warm-up
    const before = process.cpuUsage();
    const ok = await runClient(t.url);
    const d = process.cpuUsage(before);
    expect(ok).toBe(REQUESTS);
    return (d.user + d.system) / REQUESTS;
  } finally {
    await t.close();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

describe('httpMetrics per-request cost', () => {
  it.each(ADAPTERS)(
    '%s: server CPU µs per request, on vs off',
    { timeout: 600_000 },
    async (adapter) => {
      const on: number[] = [];
      const off: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        // alternate which goes first, so neither always runs warmer
        if (round % 2 === 0) {
          off.push(await cpuPerRequest(adapter, false));
          on.push(await cpuPerRequest(adapter, true));
        } else {
          on.push(await cpuPerRequest(adapter, true));
          off.push(await cpuPerRequest(adapter, false));
        }
      }
      const diffs = on.map((x, i) => x - off[i]!);
      console.log(
        `${adapter}: server CPU per request, median of ${ROUNDS} rounds x ${REQUESTS} requests: ` +
          `off ${median(off).toFixed(1)} µs, on ${median(on).toFixed(1)} µs, ` +
          `added ${median(diffs).toFixed(1)} µs (per round: ${diffs.map((d) => d.toFixed(1)).join(', ')})`,
      );
    },
  );
});

describe('httpMetrics per-request work in isolation', () => {
  it('ns per request of intercept() + the close listener + two observations', () => {
    const metrics = new MetricsService(resolveMetricsOptions({ defaultMetrics: false }));
    const interceptor = new HttpMetricsInterceptor(resolveExplainOptions({}), metrics);
    const handler = function get() {};
    const req = { method: 'POST', headers: { 'content-length': '230' }, route: { path: '/r/:id' } };
    const next = { handle: () => of(null) };
    const run = (n: number) => {
      const start = process.hrtime.bigint();
      for (let i = 0; i < n; i++) {
        const res = Object.assign(new EventEmitter(), { statusCode: 200, writableFinished: true });
        const ctx = {
          getType: () => 'http',
          getHandler: () => handler,
          getClass: () => RouteController,
          switchToHttp: () => ({ getRequest: () => req, getResponse: () => res }),
        };
        interceptor.intercept(ctx as never, next as never);
        res.emit('close');
      }
      return Number(process.hrtime.bigint() - start) / n;
    };
    const baseline = (n: number) => {
      const start = process.hrtime.bigint();
      for (let i = 0; i < n; i++) {
        const res = Object.assign(new EventEmitter(), { statusCode: 200, writableFinished: true });
        next.handle();
        res.emit('close');
      }
      return Number(process.hrtime.bigint() - start) / n;
    };
    run(50_000);
    baseline(50_000);
    const withMetrics: number[] = [];
    const without: number[] = [];
    for (let round = 0; round < 7; round++) {
      withMetrics.push(run(100_000));
      without.push(baseline(100_000));
    }
    const added = median(withMetrics) - median(without);
    console.log(
      `interceptor work: ${median(withMetrics).toFixed(0)} ns with, ${median(without).toFixed(0)} ns ` +
        `without (response object + emit), added ${added.toFixed(0)} ns per request (median of 7 x 100k)`,
    );
    expect(added).toBeGreaterThan(0);
  });
});
