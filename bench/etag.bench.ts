/**
 * @steady/etag: what a conditional request costs, and what it saves.
 *
 *   npm run bench:etag
 *
 * 1. latency   The rig (pinned server and generator processes, interleaved, median of BENCH_RUNS runs) against
 *              the fixture app (bench/fixtures/etag-server), one ~200 KiB JSON resource, on both adapters:
 *              GET /empty (a route that does nothing), GET /deep with a matching If-None-Match (a deep 304:
 *              no handler, no serialization), GET /full with a matching If-None-Match (the handler builds the
 *              listing, it is serialized and hashed, then 304), and on Express /full without Steady (Nest on
 *              Express today: its own ETag and `fresh`). Goal: deep 304 latency <= 1.2x the empty route.
 * 2. hashing   In this process, interleaved rounds: the shallow tag (crypto.hash) vs express's `etag()` as
 *              Express calls it, 64 B to 8 MiB, Buffer and string bodies. Goals: >= 1x from 1 KiB to 8 MiB,
 *              >= 2x at <= 1 KiB.
 * 3. bandwidth Bytes on the wire (socket counters) of N plain GETs vs N revalidations of the unchanged resource,
 *              sent the way Node's fetch() sends them (If-None-Match + Cache-Control: no-cache). Goal: the
 *              revalidations cost <= 1 % of the bytes of the 200s.
 * 4. cpu       Server CPU time per request (from /proc, server pinned to core 0), interleaved rounds: the empty
 *              route, the same route behind an interceptor that does nothing (what Nest's interceptor machinery
 *              costs), and a deep 304 — to tell Nest's share of the deep 304's cost from Steady's.
 *
 * Env: BENCH_RUNS (5), BENCH_PHASE_MS (3000), BENCH_OPEN_RATE (200 req/s), BENCH_CONNECTIONS (16),
 * BENCH_HASH_ROUNDS (7), BENCH_HASH_MS (150 per sample), BENCH_REVALIDATIONS (100), BENCH_RESOURCE_KB (200),
 * BENCH_CPU_ROUNDS (7), BENCH_ONLY (comma list of latency, hashing, bandwidth, cpu).
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { hashBody } from '../libs/etag/src/shallow-hash';
import { waitForQuiet } from './lib/cpu';
import { runLoad } from './lib/load-generator';
import { detectPinning } from './lib/pinning';
import type { RequestSpec } from './lib/generator-config';
import {
  envInt,
  findRepoRoot,
  renderReport,
  runBench,
  type BenchDefinition,
  type BenchReport,
  type PhaseContext,
} from './lib/runner';
import { startServer, type RunningServer, type ServerSpec } from './lib/server-process';
import { round, spread, type Spread } from './lib/stats';
import { formatSpread, formatTable } from './lib/table';

const root = findRepoRoot();
const entry = path.join(root, 'dist/bench-etag-server/bench/fixtures/etag-server/main.js');
const phaseMs = envInt('BENCH_PHASE_MS', 3_000, 500, 60_000);
const openRate = envInt('BENCH_OPEN_RATE', 200, 1, 20_000);
const connections = envInt('BENCH_CONNECTIONS', 16, 1, 512);
const hashRounds = envInt('BENCH_HASH_ROUNDS', 7, 5, 101);
const hashMs = envInt('BENCH_HASH_MS', 150, 20, 5_000);
const revalidations = envInt('BENCH_REVALIDATIONS', 100, 10, 100_000);
const resourceKb = envInt('BENCH_RESOURCE_KB', 200, 1, 100_000);
const cpuRounds = envInt('BENCH_CPU_ROUNDS', 7, 3, 101);
const only = (process.env.BENCH_ONLY ?? 'latency,hashing,bandwidth,cpu').split(',').filter(Boolean);
const DEEP_TAG = '"mailbox.7"';

function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

function serverSpec(adapter: string, variant: 'steady' | 'native'): ServerSpec {
  return {
    entry,
    env: {
      STEADY_ADAPTER: adapter,
      ETAG_VARIANT: variant,
      RESOURCE_KB: String(resourceKb),
      NODE_ENV: 'production',
    },
    readyPath: '/ready',
    readyTimeoutMs: 30_000,
    stopTimeoutMs: 5_000,
  };
}

/** One request on a fresh connection; status, headers and body size. */
function get(
  port: number,
  urlPath: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      { host: '127.0.0.1', port, path: urlPath, headers, agent: false },
      (res) => {
        let bytes = 0;
        res.on('data', (c: Buffer) => (bytes += c.length));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, bytes }));
        res.on('error', reject);
      },
    );
    req.setTimeout(5_000, () => req.destroy(new Error(`GET ${urlPath} timed out`)));
    req.on('error', reject);
  });
}

// ---------------------------------------------------------------------------------------------- 1. latency

type Route = 'empty' | 'deep-304' | 'full-304' | 'native-304';
const LATENCY_VARIANTS: Array<{ adapter: string; route: Route }> = [
  { adapter: 'express', route: 'empty' },
  { adapter: 'express', route: 'deep-304' },
  { adapter: 'express', route: 'full-304' },
  { adapter: 'express', route: 'native-304' },
  { adapter: 'fastify', route: 'empty' },
  { adapter: 'fastify', route: 'deep-304' },
  { adapter: 'fastify', route: 'full-304' },
];

function requestFor(ctx: PhaseContext): RequestSpec {
  const route = ctx.variant.split('/')[1] as Route;
  switch (route) {
    case 'empty':
      return { path: '/empty' };
    case 'deep-304':
      return { path: '/deep', headers: { 'if-none-match': DEEP_TAG }, okStatuses: [304] };
    case 'full-304':
    case 'native-304':
      return { path: '/full', headers: { 'if-none-match': ctx.setup.fullTag }, okStatuses: [304] };
  }
}

function latencyDefinition(notes: Record<string, unknown>): BenchDefinition {
  const phase = { durationMs: phaseMs, deadlineMs: 1_000, request: requestFor };
  return {
    name: 'etag',
    description:
      'GET of a ~200 KiB JSON resource: an empty route vs a deep 304 vs handler+serialize+hash then 304, Express and Fastify',
    variants: LATENCY_VARIANTS.map(({ adapter, route }) => ({
      name: `${adapter}/${route}`,
      server: serverSpec(adapter, route === 'native-304' ? 'native' : 'steady'),
    })),
    async setup(srv) {
      const full = await get(srv.port, '/full');
      const fullTag = full.headers.etag;
      if (full.status !== 200 || typeof fullTag !== 'string') {
        throw new Error(`GET /full answered ${full.status} with ETag ${String(fullTag)}`);
      }
      // /deep is 404 on the server without Steady (the native variant)
      const checks: Array<[string, Record<string, string>, number[]]> = [
        ['/empty', {}, [200]],
        ['/full', { 'if-none-match': fullTag }, [304]],
        ['/deep', { 'if-none-match': DEEP_TAG }, [304, 404]],
      ];
      for (const [p, h, want] of checks) {
        const r = await get(srv.port, p, h);
        if (!want.includes(r.status)) {
          throw new Error(
            `GET ${p} ${JSON.stringify(h)} answered ${r.status}, expected ${want.join(' or ')}`,
          );
        }
      }
      return { fullTag, bodyBytes: String(full.bytes) };
    },
    phases: [
      {
        name: 'warmup',
        mode: 'closed',
        warmup: true,
        generatorWarmupMs: 0,
        connections: 4,
        ...phase,
        durationMs: 1_000,
      },
      { name: 'closed', mode: 'closed', connections, ...phase },
      { name: 'open', mode: 'open', rate: openRate, ...phase },
    ],
    notes,
  };
}

interface Derived {
  part: string;
  adapter: string;
  metric: string;
  value: Spread;
  decimals: number;
  goal?: string;
  met?: boolean;
}

/** Per-run ratios of `a` to `b` (same run, same adapter: the pairs are interleaved). */
function pairedRatio(
  report: BenchReport,
  adapter: string,
  phase: string,
  a: Route,
  b: Route,
  metric: 'p50' | 'p99' | 'goodput',
): Spread {
  const byRun = (route: Route) =>
    new Map(
      report.runs
        .filter((r) => r.phase === phase && r.variant === `${adapter}/${route}`)
        .map((r) => [r.run, r.metrics[metric]]),
    );
  const x = byRun(a);
  const y = byRun(b);
  return spread([...x].filter(([run]) => y.has(run)).map(([run, v]) => round(v / y.get(run)!, 3)));
}

function latencyGoals(report: BenchReport): Derived[] {
  const out: Derived[] = [];
  for (const adapter of ['express', 'fastify']) {
    const p50 = pairedRatio(report, adapter, 'open', 'deep-304', 'empty', 'p50');
    out.push({
      part: 'latency',
      adapter,
      metric: `deep 304 / empty route, p50 at ${openRate} req/s`,
      value: p50,
      decimals: 2,
      goal: '<= 1.2',
      met: p50.median <= 1.2,
    });
    out.push({
      part: 'latency',
      adapter,
      metric: `deep 304 / empty route, p99 at ${openRate} req/s`,
      value: pairedRatio(report, adapter, 'open', 'deep-304', 'empty', 'p99'),
      decimals: 2,
    });
    out.push({
      part: 'latency',
      adapter,
      metric: `deep 304 / empty route, closed-loop throughput (${connections} conns)`,
      value: pairedRatio(report, adapter, 'closed', 'deep-304', 'empty', 'goodput'),
      decimals: 2,
    });
    out.push({
      part: 'latency',
      adapter,
      metric: `handler+serialize+hash 304 / deep 304, p50 at ${openRate} req/s`,
      value: pairedRatio(report, adapter, 'open', 'full-304', 'deep-304', 'p50'),
      decimals: 2,
    });
    out.push({
      part: 'latency',
      adapter,
      metric: 'deep 304 / handler+serialize+hash 304, closed-loop throughput',
      value: pairedRatio(report, adapter, 'closed', 'deep-304', 'full-304', 'goodput'),
      decimals: 2,
    });
  }
  out.push({
    part: 'latency',
    adapter: 'express',
    metric: `Nest on Express today (its own ETag) 304 / deep 304, p50 at ${openRate} req/s`,
    value: pairedRatio(report, 'express', 'open', 'native-304', 'deep-304', 'p50'),
    decimals: 2,
  });
  return out;
}

// ---------------------------------------------------------------------------------------------- 2. hashing

const HASH_SIZES = [64, 256, 1024, 16 * 1024, 256 * 1024, 1024 * 1024, 8 * 1024 * 1024];

interface HashRow {
  input: 'buffer' | 'string';
  size: number;
  expressOpsPerSec: Spread;
  steadyOpsPerSec: Spread;
  ratio: Spread;
  goal: string;
  met: boolean;
  /** Rounds that started on a busy machine (above 30 % of a core; waited up to 5 s before the first, 1 s before the others). */
  noisyRounds: number;
}

/** Operations per second of `fn` over about `ms` (after a short warm-up). */
function opsPerSec(fn: () => unknown, ms: number): number {
  let sink = 0;
  const warmEnd = performance.now() + Math.min(20, ms / 5);
  while (performance.now() < warmEnd) sink += (fn() as string).length;
  let n = 0;
  let batch = 1;
  const start = performance.now();
  const end = start + ms;
  let now = start;
  while (now < end) {
    for (let i = 0; i < batch; i++) sink += (fn() as string).length;
    n += batch;
    now = performance.now();
    if (batch < 1024 && now - start < ms / 10) batch *= 2;
  }
  if (sink === -1) log('unreachable'); // keeps the results alive
  return (n * 1000) / (now - start);
}

/** A JSON-ish string of `size` bytes (ASCII, like most API bodies). */
function jsonText(size: number): string {
  const unit = JSON.stringify({ id: 123456, subject: 'Quarterly report', read: false }) + ',';
  return `[${unit.repeat(Math.ceil(size / unit.length))}`.slice(0, size);
}

async function hashing(): Promise<HashRow[]> {
  const expressDir = path.dirname(require.resolve('express/package.json', { paths: [root] }));
  // Exactly what Express 5 runs for `app.set('etag', 'weak')` (its default): utils.wetag, which converts a
  // string body to a Buffer and calls the `etag` package (resolved through express, as Express loads it).
  const expressUtils = require(path.join(expressDir, 'lib/utils.js')) as {
    wetag: (body: string | Buffer, encoding?: string) => string;
  };
  const etagPackage = require(require.resolve('etag', { paths: [expressDir] })) as {
    (body: string | Buffer, options?: { weak?: boolean }): string;
  };
  if (expressUtils.wetag('x') !== etagPackage(Buffer.from('x'), { weak: true })) {
    throw new Error('express utils.wetag is not etag({ weak: true })');
  }
  const steady = (body: string | Buffer) => `W/"${hashBody(body, 'sha1')}"`;
  const rows: HashRow[] = [];
  for (const input of ['buffer', 'string'] as const) {
    for (const size of HASH_SIZES) {
      const body = input === 'buffer' ? crypto.randomBytes(size) : jsonText(size);
      const express =
        input === 'buffer'
          ? () => etagPackage(body as Buffer, { weak: true })
          : () => expressUtils.wetag(body, 'utf8');
      const ours = () => steady(body);
      const ms = size >= 1024 * 1024 ? hashMs * 2 : hashMs;
      const e: number[] = [];
      const s: number[] = [];
      const r: number[] = [];
      let noisyRounds = 0;
      for (let round_ = 0; round_ < hashRounds; round_++) {
        // On a shared machine: start each round when others are quiet, if they get quiet soon.
        const quiet = await waitForQuiet({
          thresholdPct: 30,
          windowMs: 100,
          maxWaitMs: round_ === 0 ? 5_000 : 1_000,
          nproc: os.availableParallelism(),
        });
        if (!quiet.quiet) noisyRounds++;
        // alternate which goes first, so neither always runs on a warmer cache or a cooler CPU
        const [first, second] = round_ % 2 === 0 ? [express, ours] : [ours, express];
        const a = opsPerSec(first, ms);
        const b = opsPerSec(second, ms);
        const [ex, st] = round_ % 2 === 0 ? [a, b] : [b, a];
        e.push(round(ex, 0));
        s.push(round(st, 0));
        r.push(round(st / ex, 3));
      }
      const ratio = spread(r);
      const small = size <= 1024;
      const goal = small ? '>= 2' : '>= 1';
      rows.push({
        input,
        size,
        expressOpsPerSec: spread(e),
        steadyOpsPerSec: spread(s),
        ratio,
        goal,
        met: ratio.median >= (small ? 2 : 1),
        noisyRounds,
      });
      log(
        `hashing ${input} ${size} B: steady/express ${formatSpread(ratio, 2)}` +
          (noisyRounds > 0 ? ` (${noisyRounds} rounds on a busy machine)` : ''),
      );
    }
  }
  return rows;
}

function sizeLabel(size: number): string {
  return size >= 1024 * 1024
    ? `${size / 1024 / 1024} MiB`
    : size >= 1024
      ? `${size / 1024} KiB`
      : `${size} B`;
}

// -------------------------------------------------------------------------------------------- 3. bandwidth

interface BandwidthRow {
  adapter: string;
  server: string;
  route: string;
  client: string;
  n: number;
  /** Response bytes on the wire (status line, headers, body) for N plain GETs. */
  fullBytes: number;
  /** Response bytes on the wire for N revalidations. */
  revalidationBytes: number;
  /** Request bytes of the revalidations (they carry If-None-Match). */
  revalidationRequestBytes: number;
  statuses: Record<string, number>;
  percent: number;
  goal?: string;
  met?: boolean;
}

/** N sequential GETs on one keep-alive connection; bytes read/written on its socket. */
async function onOneConnection(
  port: number,
  urlPath: string,
  headers: Record<string, string>,
  n: number,
): Promise<{ read: number; written: number; statuses: Record<string, number> }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const sockets = new Set<import('node:net').Socket>();
  const statuses: Record<string, number> = {};
  try {
    for (let i = 0; i < n; i++) {
      await new Promise<void>((resolve, reject) => {
        const req = http.get({ host: '127.0.0.1', port, path: urlPath, headers, agent }, (res) => {
          statuses[res.statusCode ?? 0] = (statuses[res.statusCode ?? 0] ?? 0) + 1;
          res.resume();
          res.on('end', resolve);
          res.on('error', reject);
        });
        req.on('socket', (s) => sockets.add(s));
        req.on('error', reject);
      });
    }
  } finally {
    agent.destroy();
  }
  let read = 0;
  let written = 0;
  for (const s of sockets) {
    read += s.bytesRead;
    written += s.bytesWritten;
  }
  return { read, written, statuses };
}

/** What Node's fetch() adds to a request whose caller set If-None-Match by hand. */
const FETCH_REVALIDATION = { 'cache-control': 'no-cache', pragma: 'no-cache' };

async function bandwidth(): Promise<BandwidthRow[]> {
  const rows: BandwidthRow[] = [];
  const configs: Array<{ adapter: string; variant: 'steady' | 'native'; routes: string[] }> = [
    { adapter: 'express', variant: 'steady', routes: ['/deep', '/full'] },
    { adapter: 'fastify', variant: 'steady', routes: ['/deep', '/full'] },
    { adapter: 'express', variant: 'native', routes: ['/full'] },
  ];
  for (const { adapter, variant, routes } of configs) {
    let server: RunningServer | undefined;
    try {
      server = await startServer(serverSpec(adapter, variant), null);
      for (const route of routes) {
        const first = await get(server.port, route);
        const tag = first.headers.etag as string;
        const clients: Array<[string, Record<string, string>]> = [
          [
            'fetch-style (If-None-Match + Cache-Control: no-cache)',
            { ...FETCH_REVALIDATION, 'if-none-match': tag },
          ],
        ];
        if (variant === 'native') clients.push(['If-None-Match only', { 'if-none-match': tag }]);
        const full = await onOneConnection(server.port, route, {}, revalidations);
        for (const [client, headers] of clients) {
          const reval = await onOneConnection(server.port, route, headers, revalidations);
          const percent = round((reval.read / full.read) * 100, 3);
          const judged = variant === 'steady';
          rows.push({
            adapter,
            server:
              variant === 'steady'
                ? `@steady/etag ${route === '/deep' ? 'deep' : 'shallow'}`
                : 'Nest on Express today',
            route,
            client,
            n: revalidations,
            fullBytes: full.read,
            revalidationBytes: reval.read,
            revalidationRequestBytes: reval.written,
            statuses: reval.statuses,
            percent,
            ...(judged ? { goal: '<= 1 %', met: percent <= 1 } : {}),
          });
          log(
            `bandwidth ${adapter} ${variant} ${route} ${client}: ${percent} % (${JSON.stringify(reval.statuses)})`,
          );
        }
      }
    } finally {
      await server?.stop();
    }
  }
  return rows;
}

// -------------------------------------------------------------------------------------------------- 4. cpu

interface CpuRow {
  adapter: string;
  /** Server CPU µs per request, by route. */
  perRequestUs: Record<'empty' | 'noop' | 'deep-304', Spread>;
  /** Per-round ratios. */
  noopOverEmpty: Spread;
  deepOverEmpty: Spread;
  deepOverNoop: Spread;
}

function processCpuMs(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime + stime, in clock ticks (USER_HZ = 100)
  return ticks * 10;
}

async function cpuPerRequest(): Promise<CpuRow[]> {
  const rows: CpuRow[] = [];
  const pinning = detectPinning();
  const routes: Array<['empty' | 'noop' | 'deep-304', RequestSpec]> = [
    ['empty', { path: '/empty' }],
    ['noop', { path: '/noop' }],
    ['deep-304', { path: '/deep', headers: { 'if-none-match': DEEP_TAG }, okStatuses: [304] }],
  ];
  for (const adapter of ['express', 'fastify']) {
    const server = await startServer(serverSpec(adapter, 'steady'), pinning.serverCpus);
    try {
      const us: Record<string, number[]> = { empty: [], noop: [], 'deep-304': [] };
      for (let round_ = 0; round_ < cpuRounds; round_++) {
        await waitForQuiet({
          thresholdPct: 30,
          windowMs: 100,
          maxWaitMs: 2_000,
          nproc: os.availableParallelism(),
        });
        for (const [name, request] of round_ % 2 === 0 ? routes : [...routes].reverse()) {
          const config = {
            mode: 'closed' as const,
            target: server.origin,
            request,
            connections: 8,
            deadlineMs: 1_000,
          };
          await runLoad({ ...config, durationMs: 300 });
          const before = processCpuMs(server.pid);
          const r = await runLoad({ ...config, durationMs: 1_500 });
          const after = processCpuMs(server.pid);
          if (r.ok === 0 || r.errors > 0)
            throw new Error(`${adapter} ${name}: ${r.ok} ok, ${r.errors} errors`);
          us[name].push(round(((after - before) * 1000) / r.ok, 1));
        }
      }
      const ratio = (a: string, b: string) => spread(us[a].map((v, i) => round(v / us[b][i], 3)));
      rows.push({
        adapter,
        perRequestUs: {
          empty: spread(us.empty),
          noop: spread(us.noop),
          'deep-304': spread(us['deep-304']),
        },
        noopOverEmpty: ratio('noop', 'empty'),
        deepOverEmpty: ratio('deep-304', 'empty'),
        deepOverNoop: ratio('deep-304', 'noop'),
      });
      log(`cpu ${adapter}: deep/empty ${formatSpread(rows[rows.length - 1].deepOverEmpty, 2)}`);
    } finally {
      await server.stop();
    }
  }
  return rows;
}

// ------------------------------------------------------------------------------------------------- main

async function main(): Promise<void> {
  if (!fs.existsSync(entry)) {
    throw new Error(
      `${path.relative(root, entry)} is missing: run "nest build bench-etag-server" (npm run bench:etag does)`,
    );
  }
  const started = Date.now();
  const hashRows = only.includes('hashing') ? await hashing() : [];
  const bandwidthRows = only.includes('bandwidth') ? await bandwidth() : [];
  const cpuRows = only.includes('cpu') ? await cpuPerRequest() : [];
  const derived: Derived[] = [];
  const notes: Record<string, unknown> = {
    resource: `one JSON listing of about ${resourceKb} KiB (bench/fixtures/etag-server)`,
    openRate: `${openRate} req/s, well below the capacity of the handler+serialize+hash path, so p50 is per-request latency`,
    hashing: { rounds: hashRounds, sampleMs: hashMs, rows: hashRows },
    bandwidth: bandwidthRows,
    cpu: { rounds: cpuRounds, rows: cpuRows },
  };
  let report: BenchReport | undefined;
  if (only.includes('latency')) {
    report = await runBench(latencyDefinition(notes));
    derived.push(...latencyGoals(report));
    process.stdout.write(`\n=== etag latency\n${renderReport(report)}\n`);
  }
  for (const r of hashRows) {
    derived.push({
      part: 'hashing',
      adapter: r.input,
      metric: `shallow tag / express etag(), ops/s, ${sizeLabel(r.size)}`,
      value: r.ratio,
      decimals: 2,
      goal: r.goal,
      met: r.met,
    });
  }
  for (const r of bandwidthRows) {
    derived.push({
      part: 'bandwidth',
      adapter: r.adapter,
      metric: `${r.server} ${r.route}, ${r.client}: ${r.n} revalidations / ${r.n} 200s, % bytes`,
      value: spread([r.percent]),
      decimals: 3,
      goal: r.goal,
      met: r.met,
    });
  }

  for (const r of cpuRows) {
    derived.push(
      {
        part: 'cpu',
        adapter: r.adapter,
        metric: 'server CPU per request: no-op interceptor / empty route',
        value: r.noopOverEmpty,
        decimals: 2,
      },
      {
        part: 'cpu',
        adapter: r.adapter,
        metric: 'server CPU per request: deep 304 / empty route',
        value: r.deepOverEmpty,
        decimals: 2,
      },
      {
        part: 'cpu',
        adapter: r.adapter,
        metric: 'server CPU per request: deep 304 / no-op interceptor',
        value: r.deepOverNoop,
        decimals: 2,
      },
    );
  }
  if (cpuRows.length > 0) {
    const table = formatTable(
      [
        { header: 'adapter' },
        { header: 'empty µs', align: 'right' },
        { header: 'no-op interceptor µs', align: 'right' },
        { header: 'deep 304 µs', align: 'right' },
        { header: 'deep/empty', align: 'right' },
        { header: 'deep/no-op', align: 'right' },
      ],
      cpuRows.map((r) => [
        r.adapter,
        formatSpread(r.perRequestUs.empty, 1),
        formatSpread(r.perRequestUs.noop, 1),
        formatSpread(r.perRequestUs['deep-304'], 1),
        formatSpread(r.deepOverEmpty, 2),
        formatSpread(r.deepOverNoop, 2),
      ]),
    );
    process.stdout.write(
      `\n=== etag server CPU per request (median (min-max) of ${cpuRounds} interleaved rounds)\n${table}\n`,
    );
  }
  if (hashRows.length > 0) {
    const table = formatTable(
      [
        { header: 'input' },
        { header: 'size', align: 'right' },
        { header: 'express etag() ops/s', align: 'right' },
        { header: 'steady ops/s', align: 'right' },
        { header: 'ratio', align: 'right' },
        { header: 'goal' },
        { header: 'met' },
        { header: 'busy rounds', align: 'right' },
      ],
      hashRows.map((r) => [
        r.input,
        sizeLabel(r.size),
        formatSpread(r.expressOpsPerSec),
        formatSpread(r.steadyOpsPerSec),
        formatSpread(r.ratio, 2),
        r.goal,
        r.met ? 'yes' : 'MISS',
        String(r.noisyRounds),
      ]),
    );
    process.stdout.write(
      `\n=== etag hashing (median (min-max) of ${hashRounds} interleaved rounds)\n${table}\n`,
    );
  }
  if (bandwidthRows.length > 0) {
    const table = formatTable(
      [
        { header: 'adapter' },
        { header: 'server' },
        { header: 'client' },
        { header: `${revalidations} x 200 B`, align: 'right' },
        { header: `${revalidations} x reval. B`, align: 'right' },
        { header: 'statuses' },
        { header: '%', align: 'right' },
        { header: 'met' },
      ],
      bandwidthRows.map((r) => [
        r.adapter,
        r.server,
        r.client,
        String(r.fullBytes),
        String(r.revalidationBytes),
        Object.entries(r.statuses)
          .map(([s, n]) => `${n}x${s}`)
          .join(' '),
        r.percent.toFixed(3),
        r.met === undefined ? '' : r.met ? 'yes' : 'MISS',
      ]),
    );
    process.stdout.write(`\n=== etag bandwidth (response bytes on the wire)\n${table}\n`);
  }
  const goals = formatTable(
    [
      { header: 'part' },
      { header: 'adapter/input' },
      { header: 'metric' },
      { header: 'median (min-max)', align: 'right' },
      { header: 'goal' },
      { header: 'met' },
    ],
    derived.map((d) => [
      d.part,
      d.adapter,
      d.metric,
      formatSpread(d.value, d.decimals),
      d.goal ?? '',
      d.met === undefined ? '' : d.met ? 'yes' : 'MISS',
    ]),
  );
  process.stdout.write(`\n=== etag: derived figures and goals\n${goals}\n`);

  const file = path.join(
    process.env.BENCH_RESULTS_DIR ?? path.join(root, 'bench', 'results'),
    'etag.json',
  );
  const base = report ?? {
    name: 'etag',
    command: 'npm run bench:etag',
    date: new Date(started).toISOString(),
    notes,
  };
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(
    file,
    `${JSON.stringify({ ...base, durationMs: Date.now() - started, derived }, null, 2)}\n`,
  );
  log(`wrote ${path.relative(process.cwd(), file)}`);
}

main().catch((err: unknown) => {
  process.stderr.write(`[bench] failed: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exitCode = 1;
});
