/**
 * Baseline: GET /mails/:id on the sample mail service, Express vs Fastify adapter, in
 * closed loop (max throughput) and open loop (latency at a fixed offered rate), with the
 * sample's load shedding off (SHED_ENABLED=false).
 *
 *   npm run bench:baseline
 *
 * Env overrides (for trying things out; the published numbers use the defaults):
 *   BENCH_RUNS           runs per variant (default 5)
 *   BENCH_DURATION_MS    measured duration of each phase (default 5000)
 *   BENCH_WARMUP_MS      warmup before the measured phases (default 1000)
 *   BENCH_OPEN_RATE      open-loop rate in req/s (default 1500, see docs/benchmarks.md)
 *   BENCH_CONNECTIONS    closed-loop workers (default 32)
 *   BENCH_SERVER_ENTRY   server entry JS (default the built sample app)
 *   BENCH_NAME           result file name (default baseline)
 */
import * as path from 'node:path';
import { benchMain, envInt, findRepoRoot, type BenchDefinition } from './lib/runner';
import { httpRequest } from './lib/server-process';

const root = findRepoRoot();
const entry =
  process.env.BENCH_SERVER_ENTRY ?? path.join(root, 'dist/apps/sample/apps/sample/src/main.js');
const durationMs = envInt('BENCH_DURATION_MS', 5_000, 100, 60_000);
const warmupMs = envInt('BENCH_WARMUP_MS', 1_000, 0, 60_000);
const openRate = envInt('BENCH_OPEN_RATE', 1_500, 1, 50_000);
const connections = envInt('BENCH_CONNECTIONS', 32, 1, 1_024);
const deadlineMs = 1_000;

const MAIL = { from: 'a@example.com', to: ['b@example.com'], subject: 'hi', body: 'hello' };

export function baseline(): BenchDefinition {
  const server = (adapter: string) => ({
    entry: path.resolve(root, entry),
    // The baseline is the app without Steady's protections: they would answer 429/503 under
    // this load and measure themselves instead of the adapter. Benches of a module turn it on.
    env: { STEADY_ADAPTER: adapter, LOG_LEVEL: 'warn', SHED_ENABLED: 'false' },
    readyPath: '/metrics',
    readyTimeoutMs: 30_000,
    stopTimeoutMs: 5_000,
  });
  const getMail = (ctx: { setup: Record<string, string> }) => ({
    path: `/mails/${encodeURIComponent(ctx.setup.id)}`,
  });
  return {
    name: process.env.BENCH_NAME ?? 'baseline',
    description: 'GET /mails/:id on the sample app, Express vs Fastify, closed and open loop',
    variants: [
      { name: 'express', server: server('express') },
      { name: 'fastify', server: server('fastify') },
    ],
    async setup(srv) {
      const res = await httpRequest(srv.port, 'POST', '/mails', MAIL, 5_000);
      if (res.status !== 201) throw new Error(`POST /mails answered ${res.status}: ${res.body}`);
      const id = (JSON.parse(res.body) as { id?: unknown }).id;
      if (id === undefined || id === null) throw new Error(`POST /mails gave no id: ${res.body}`);
      const check = await httpRequest(srv.port, 'GET', `/mails/${encodeURIComponent(String(id))}`);
      if (check.status !== 200) throw new Error(`GET /mails/${id} answered ${check.status}`);
      return { id: String(id) };
    },
    phases: [
      ...(warmupMs > 0
        ? [
            {
              name: 'warmup',
              mode: 'closed' as const,
              warmup: true,
              generatorWarmupMs: 0,
              durationMs: warmupMs,
              deadlineMs,
              connections,
              request: getMail,
            },
          ]
        : []),
      { name: 'closed', mode: 'closed', durationMs, deadlineMs, connections, request: getMail },
      { name: 'open', mode: 'open', durationMs, deadlineMs, rate: openRate, request: getMail },
    ],
    notes: {
      endpoint: 'GET /mails/:id (one mail created by POST /mails in setup)',
      openRate: `${openRate} req/s fixed for both adapters, below either one's closed-loop max`,
      deadlineMs,
      serverEntry: path.relative(root, entry),
    },
  };
}

if (require.main === module) benchMain(baseline);
