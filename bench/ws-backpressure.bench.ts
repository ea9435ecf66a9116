/**
 * `npm run bench:ws-backpressure`: a WebSocket server with slow consumers, guarded vs naive vs raw ws.
 *
 * Scenarios (each run goes through every scenario and variant in turn, interleaved; median of the runs):
 *   memory      8 stalled + 4 fast clients, 5 000 msg/s × 1 KiB unique JSON, 15 s — guarded vs naive (Nest's WsAdapter)
 *   fast-only   0 stalled + 4 fast, same producer — guarded: the fast clients' rate without slow clients
 *   saturation  8 fast clients, 256 B broadcast as fast as the server can, 10 s — raw ws vs guarded
 *
 * The server (bench/fixtures/ws-server, built by `nest build bench-ws-server`) is pinned to core 0, the client
 * process (bench/ws/ws-client-cli.ts: fast ws clients + raw TCP clients that upgrade and stop reading) to core 1.
 * The server samples RSS and Σ bufferedAmount every 250 ms while producing.
 *
 * Gates (issue #8, docs/ws-backpressure.md):
 *   G1 guarded RSS growth after warm-up <= stalled × highWaterMark + 32 MiB, slope over the last 5 s <= 1 MiB/s,
 *      naive growth >= 10× guarded
 *   G3 fast clients beside slow ones deliver >= 95 % of the fast-only rate, and lose nothing
 *   G4 saturation: guarded delivered msg/s per fast client >= 90 % of raw ws in the same run (median of runs)
 *   G6 (report only) server CPU per delivered message
 *
 * Env overrides (for trying things out; the published numbers use the defaults):
 *   BENCH_RUNS (5), BENCH_WS_SCENARIOS (memory,fast-only,saturation), BENCH_WS_VARIANTS (all: guarded,naive,raw),
 *   BENCH_WS_DURATION_MS (15000),
 *   BENCH_WS_WARMUP_MS (3000), BENCH_WS_RATE (5000), BENCH_WS_BYTES (1024), BENCH_WS_STALLED (8),
 *   BENCH_WS_FAST (4), BENCH_WS_SAT_MS (10000), BENCH_WS_SAT_WARMUP_MS (1000), BENCH_WS_SAT_CLIENTS (8),
 *   BENCH_WS_SAT_BYTES (256), BENCH_WS_SAT_BATCH (16), BENCH_WS_HIGH_WATER_MARK (1048576),
 *   BENCH_WS_SLOW_TIMEOUT_MS (5000), BENCH_NAME (ws-backpressure), BENCH_RESULTS_DIR (bench/results),
 *   BENCH_NO_PIN=1, BENCH_QUIET_BUSY_PCT (30), BENCH_QUIET_MAX_WAIT_MS (15000)
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { killAllChildren } from './lib/children';
import { waitForQuiet, type QuietWait } from './lib/cpu';
import { detectPinning, type PinningPlan } from './lib/pinning';
import { envInt, findRepoRoot } from './lib/runner';
import { startServer, type ServerSpec } from './lib/server-process';
import { median, spread, type Spread } from './lib/stats';
import { formatSpread, formatTable } from './lib/table';
import { memoryVerdict, round, type Gate } from './ws/ws-analysis';
import type { WsClientConfig, WsClientResult } from './ws/ws-client-config';
import { runWsClientProcess } from './ws/ws-client-process';
import type { ProduceSpec } from './ws/ws-protocol';

const MIB = 1024 * 1024;
const root = findRepoRoot();
const entry = path.join(root, 'dist/bench-ws-server/bench/fixtures/ws-server/main.js');

const runs = envInt('BENCH_RUNS', 5, 1, 50);
const durationMs = envInt('BENCH_WS_DURATION_MS', 15_000, 1_000, 600_000);
const warmupMs = envInt('BENCH_WS_WARMUP_MS', 3_000, 0, durationMs - 500);
const rate = envInt('BENCH_WS_RATE', 5_000, 1, 100_000);
const bytes = envInt('BENCH_WS_BYTES', 1024, 64, 1024 * 1024);
const stalled = envInt('BENCH_WS_STALLED', 8, 0, 1_000);
const fastClients = envInt('BENCH_WS_FAST', 4, 1, 1_000);
const satMs = envInt('BENCH_WS_SAT_MS', 10_000, 1_000, 600_000);
const satWarmupMs = envInt('BENCH_WS_SAT_WARMUP_MS', 1_000, 0, satMs - 500);
const satClients = envInt('BENCH_WS_SAT_CLIENTS', 8, 1, 1_000);
const satBytes = envInt('BENCH_WS_SAT_BYTES', 256, 64, 1024 * 1024);
const satBatch = envInt('BENCH_WS_SAT_BATCH', 16, 1, 10_000);
const highWaterMark = envInt('BENCH_WS_HIGH_WATER_MARK', MIB, 1024, 1024 * MIB);
const slowTimeoutMs = envInt('BENCH_WS_SLOW_TIMEOUT_MS', 5_000, 10, 3_600_000);
const name = process.env.BENCH_NAME ?? 'ws-backpressure';
const SETTLE_MS = 1_000;

type Variant = 'guarded' | 'naive' | 'raw';

interface Scenario {
  name: 'memory' | 'fast-only' | 'saturation';
  variants: Variant[];
  fast: number;
  stalled: number;
  produce: ProduceSpec;
  warmupMs: number;
}

const ALL: Scenario[] = [
  {
    name: 'memory',
    variants: ['guarded', 'naive'],
    fast: fastClients,
    stalled,
    produce: { kind: 'rate', rate, bytes, durationMs, unique: true },
    warmupMs,
  },
  {
    name: 'fast-only',
    variants: ['guarded'],
    fast: fastClients,
    stalled: 0,
    produce: { kind: 'rate', rate, bytes, durationMs, unique: true },
    warmupMs,
  },
  {
    name: 'saturation',
    variants: ['raw', 'guarded'],
    fast: satClients,
    stalled: 0,
    produce: { kind: 'saturate', bytes: satBytes, durationMs: satMs, batch: satBatch },
    warmupMs: satWarmupMs,
  },
];
const wanted = (process.env.BENCH_WS_SCENARIOS ?? 'memory,fast-only,saturation').split(',');
const variantFilter = process.env.BENCH_WS_VARIANTS?.split(',');
const scenarios = ALL.filter((s) => wanted.includes(s.name))
  .map((s) => ({
    ...s,
    variants: s.variants.filter((v) => !variantFilter || variantFilter.includes(v)),
  }))
  .filter((s) => s.variants.length > 0);

interface RunMetrics {
  rssGrowthMiB: number;
  rssSlopeMiBps: number;
  rssEndMiB: number;
  maxBufferedMiB: number;
  /** delivered msg/s per fast client: mean over the fast clients */
  fastRate: number;
  fastRateMin: number;
  fastLost: number;
  fastClosed: number;
  evicted: number;
  /** server CPU µs per message delivered to a fast client */
  cpuUsPerDelivered: number;
  serverCpuPct: number;
  clientCpuPct: number;
  produced: number;
  capped: number;
}

interface RunRecord {
  run: number;
  scenario: string;
  variant: Variant;
  quiet: QuietWait;
  metrics: RunMetrics;
  evictionsAtMs: number[];
  result: WsClientResult;
}

function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

function serverSpec(variant: Variant): ServerSpec {
  return {
    entry,
    env: {
      WS_BENCH_MODE: variant,
      WS_HIGH_WATER_MARK: String(highWaterMark),
      WS_SLOW_CONSUMER_TIMEOUT_MS: String(slowTimeoutMs),
    },
    readyPath: '/ready',
    readyTimeoutMs: 30_000,
    stopTimeoutMs: 5_000,
  };
}

function metricsOf(s: Scenario, r: WsClientResult): RunMetrics {
  const mem = memoryVerdict(r.server.samples, s.warmupMs, s.produce.durationMs);
  const rates = r.fast.map((f) => f.rate);
  const delivered = r.fast.reduce((a, f) => a + f.received, 0);
  return {
    ...mem,
    fastRate: Math.round(rates.reduce((a, b) => a + b, 0) / Math.max(1, rates.length)),
    fastRateMin: Math.min(...rates),
    fastLost: r.fast.reduce((a, f) => a + f.lost, 0),
    fastClosed: r.fast.filter((f) => f.closed).length,
    evicted: r.server.evictions.length,
    cpuUsPerDelivered: round((r.server.cpuMs * 1000) / Math.max(1, delivered), 2),
    serverCpuPct: round((r.server.cpuMs / s.produce.durationMs) * 100, 1),
    clientCpuPct: r.clientCpuPct,
    produced: r.server.produced,
    capped: r.server.capped ? 1 : 0,
  };
}

async function runOne(
  s: Scenario,
  variant: Variant,
  run: number,
  pinning: PinningPlan,
): Promise<RunRecord> {
  const quiet = await waitForQuiet({
    thresholdPct: envInt('BENCH_QUIET_BUSY_PCT', 30, 1, 10_000),
    windowMs: 500,
    maxWaitMs: envInt('BENCH_QUIET_MAX_WAIT_MS', 15_000, 0, 600_000),
    nproc: os.availableParallelism(),
  });
  if (!quiet.quiet)
    log(`run ${run} ${s.name}/${variant}: machine busy (${quiet.busyPct}%), going on`);
  const server = await startServer(serverSpec(variant), pinning.serverCpus);
  try {
    const config: WsClientConfig = {
      port: server.port,
      fast: s.fast,
      stalled: s.stalled,
      produce: s.produce,
      warmupMs: s.warmupMs,
      settleMs: SETTLE_MS,
    };
    const result = await runWsClientProcess(config, pinning.generatorCpus);
    const metrics = metricsOf(s, result);
    log(
      `run ${run} ${s.name}/${variant}: rss +${metrics.rssGrowthMiB} MiB (slope ${metrics.rssSlopeMiBps} MiB/s, ` +
        `end ${metrics.rssEndMiB} MiB), max buffered ${metrics.maxBufferedMiB} MiB, fast ${metrics.fastRate} msg/s/client ` +
        `(min ${metrics.fastRateMin}), lost ${metrics.fastLost}, evicted ${metrics.evicted}, ` +
        `cpu server ${metrics.serverCpuPct}% client ${metrics.clientCpuPct}%${metrics.capped ? ', RSS CAP HIT' : ''}`,
    );
    return {
      run,
      scenario: s.name,
      variant,
      quiet,
      metrics,
      evictionsAtMs: result.server.evictions.map((e) => e.t),
      result,
    };
  } catch (err) {
    const tail = server.output().trim().split('\n').slice(-20).join('\n');
    throw new Error(`${(err as Error).message}\n--- server output (tail) ---\n${tail}`);
  } finally {
    await server.stop();
  }
}

type Summary = Record<string, Record<string, Record<keyof RunMetrics, Spread>>>;

function summarise(records: RunRecord[]): Summary {
  const out: Summary = {};
  for (const s of scenarios) {
    out[s.name] = {};
    for (const v of s.variants) {
      const group = records.filter((r) => r.scenario === s.name && r.variant === v);
      const keys = Object.keys(group[0]?.metrics ?? {}) as Array<keyof RunMetrics>;
      out[s.name][v] = Object.fromEntries(
        keys.map((k) => [k, spread(group.map((g) => g.metrics[k]))]),
      ) as Record<keyof RunMetrics, Spread>;
    }
  }
  return out;
}

/** Ratio per run (same run, interleaved), then the median. */
function medianRatio(
  records: RunRecord[],
  a: [string, Variant],
  b: [string, Variant],
  key: keyof RunMetrics,
  floor = 0,
): number {
  const ratios: number[] = [];
  for (let run = 1; run <= runs; run++) {
    const x = records.find((r) => r.run === run && r.scenario === a[0] && r.variant === a[1]);
    const y = records.find((r) => r.run === run && r.scenario === b[0] && r.variant === b[1]);
    if (x && y) ratios.push(x.metrics[key] / Math.max(floor, y.metrics[key]));
  }
  return median(ratios);
}

function gates(summary: Summary, records: RunRecord[]): Gate[] {
  const out: Gate[] = [];
  const mem = summary.memory;
  if (mem?.guarded) {
    const bound = (stalled * highWaterMark) / MIB + 32;
    const g = mem.guarded;
    out.push({
      id: 'G1a',
      criterion: `guarded RSS growth after warm-up <= ${stalled} x ${highWaterMark / MIB} MiB + 32 MiB = ${bound} MiB`,
      measured: `${formatSpread(g.rssGrowthMiB, 1)} MiB`,
      pass: g.rssGrowthMiB.median <= bound,
    });
    out.push({
      id: 'G1b',
      criterion: 'guarded RSS slope over the last 5 s <= 1 MiB/s',
      measured: `${formatSpread(g.rssSlopeMiBps, 2)} MiB/s`,
      pass: g.rssSlopeMiBps.median <= 1,
    });
    if (mem.naive) {
      const ratio = medianRatio(
        records,
        ['memory', 'naive'],
        ['memory', 'guarded'],
        'rssGrowthMiB',
        1,
      );
      out.push({
        id: 'G1c',
        criterion: 'naive RSS growth >= 10x guarded (guarded floored at 1 MiB; per run, median)',
        measured: `${round(ratio, 1)}x (naive ${formatSpread(mem.naive.rssGrowthMiB, 0)} MiB)`,
        pass: ratio >= 10,
      });
    }
    const evictions = records
      .filter((r) => r.scenario === 'memory' && r.variant === 'guarded')
      .flatMap((r) => r.evictionsAtMs);
    out.push({
      id: 'G2',
      criterion: `stalled clients evicted (slowConsumerTimeoutMs ${slowTimeoutMs}; latency gated in the e2e tests)`,
      measured: `${formatSpread(g.evicted, 0)} of ${stalled} per run, at ${evictions.length ? `${Math.min(...evictions)}-${Math.max(...evictions)}` : '-'} ms after the start`,
      pass: g.evicted.min >= stalled,
    });
  }
  if (mem?.guarded && summary['fast-only']?.guarded) {
    const ratio = medianRatio(
      records,
      ['memory', 'guarded'],
      ['fast-only', 'guarded'],
      'fastRate',
      1,
    );
    const lost = mem.guarded.fastLost.max;
    out.push({
      id: 'G3',
      criterion: 'fast clients beside stalled ones: >= 95 % of the fast-only rate, nothing lost',
      measured: `${round(ratio * 100, 1)} % (${formatSpread(mem.guarded.fastRate)} vs ${formatSpread(summary['fast-only'].guarded.fastRate)} msg/s), lost max ${lost}`,
      pass: ratio >= 0.95 && lost === 0,
    });
  }
  const sat = summary.saturation;
  if (sat?.guarded && sat.raw) {
    const ratio = medianRatio(
      records,
      ['saturation', 'guarded'],
      ['saturation', 'raw'],
      'fastRate',
      1,
    );
    out.push({
      id: 'G4',
      criterion: 'saturation: guarded msg/s per fast client >= 90 % of raw ws (per run, median)',
      measured: `${round(ratio * 100, 1)} % (${formatSpread(sat.guarded.fastRate)} vs ${formatSpread(sat.raw.fastRate)} msg/s)`,
      pass: ratio >= 0.9,
    });
    out.push({
      id: 'G6',
      criterion: 'server CPU per delivered message (report only)',
      measured: `guarded ${formatSpread(sat.guarded.cpuUsPerDelivered, 2)} µs vs raw ${formatSpread(sat.raw.cpuUsPerDelivered, 2)} µs`,
      pass: null,
    });
  }
  return out;
}

function render(
  summary: Summary,
  gateList: Gate[],
  pinning: PinningPlan,
  warnings: string[],
): string {
  const rows: string[][] = [];
  for (const s of scenarios) {
    for (const v of s.variants) {
      const m = summary[s.name][v];
      if (!m) continue;
      rows.push([
        s.name,
        v,
        `${s.fast}+${s.stalled}`,
        formatSpread(m.rssGrowthMiB, 1),
        formatSpread(m.rssSlopeMiBps, 2),
        formatSpread(m.rssEndMiB, 0),
        formatSpread(m.maxBufferedMiB, 1),
        formatSpread(m.fastRate),
        formatSpread(m.fastLost),
        formatSpread(m.evicted),
        formatSpread(m.serverCpuPct, 0),
        formatSpread(m.cpuUsPerDelivered, 2),
      ]);
    }
  }
  const table = formatTable(
    [
      { header: 'scenario' },
      { header: 'variant' },
      { header: 'fast+stalled', align: 'right' },
      { header: 'rss growth MiB', align: 'right' },
      { header: 'slope MiB/s', align: 'right' },
      { header: 'rss end MiB', align: 'right' },
      { header: 'max buffered MiB', align: 'right' },
      { header: 'fast msg/s/client', align: 'right' },
      { header: 'lost', align: 'right' },
      { header: 'evicted', align: 'right' },
      { header: 'server cpu%', align: 'right' },
      { header: 'cpu µs/msg', align: 'right' },
    ],
    rows,
  );
  const gateTable = formatTable(
    [{ header: 'gate' }, { header: 'criterion' }, { header: 'measured' }, { header: 'verdict' }],
    gateList.map((g) => [
      g.id,
      g.criterion,
      g.measured,
      g.pass === null ? 'report' : g.pass ? 'PASS' : 'FAIL',
    ]),
  );
  const lines = [
    `${name}: node ${process.version}, ${os.cpus()[0]?.model ?? '?'}, nproc ${os.availableParallelism()}, pinning: ${pinning.applied ? pinning.reason : `none (${pinning.reason})`}`,
    `median (min-max) of ${runs} runs; memory ${rate} msg/s x ${bytes} B unique JSON for ${durationMs} ms (warm-up ${warmupMs} ms), ` +
      `highWaterMark ${highWaterMark} B, slowConsumerTimeoutMs ${slowTimeoutMs}; saturation ${satBytes} B x batch ${satBatch} for ${satMs} ms`,
    '',
    table,
    '',
    gateTable,
  ];
  if (warnings.length) lines.push('', 'warnings:', ...warnings.map((w) => `  ${w}`));
  return lines.join('\n');
}

function gitCommit(): string | null {
  const git = (args: string[]) => {
    const r = spawnSync('git', args, { cwd: root, encoding: 'utf8', timeout: 5_000 });
    return r.status === 0 ? r.stdout.trim() : null;
  };
  const head = git(['rev-parse', 'HEAD']);
  if (head === null) return null;
  const dirty = git(['status', '--porcelain', '--untracked-files=no']);
  return dirty ? `${head}-dirty` : head;
}

async function main(): Promise<void> {
  if (!fs.existsSync(entry))
    throw new Error(`${entry} is missing: run "nest build bench-ws-server"`);
  if (scenarios.length === 0) throw new Error('BENCH_WS_SCENARIOS selects no scenario');
  const pinning = detectPinning();
  const started = Date.now();
  const perRunMs = scenarios.reduce(
    (sum, s) => sum + s.variants.length * (s.produce.durationMs + SETTLE_MS + 90_000),
    0,
  );
  const benchTimer = setTimeout(() => {
    log(`exceeded the bench hard timeout of ${runs * perRunMs} ms, aborting`);
    killAllChildren();
    process.exit(1);
  }, runs * perRunMs);
  benchTimer.unref();
  log(
    `${name}: ${runs} runs x ${scenarios.map((s) => `${s.name}(${s.variants.join(',')})`).join(' ')}; pinning: ${pinning.reason}`,
  );
  const records: RunRecord[] = [];
  for (let run = 1; run <= runs; run++) {
    for (const s of scenarios) {
      for (const v of s.variants) records.push(await runOne(s, v, run, pinning));
    }
  }
  clearTimeout(benchTimer);
  const summary = summarise(records);
  const gateList = gates(summary, records);
  const warnings: string[] = [];
  for (const r of records) {
    const where = `run ${r.run} ${r.scenario}/${r.variant}`;
    if (!r.quiet.quiet)
      warnings.push(`${where}: started on a busy machine (${r.quiet.busyPct}% of a core)`);
    if (r.metrics.capped) warnings.push(`${where}: RSS cap hit, the producer stopped early`);
    if (
      r.scenario !== 'saturation' &&
      r.result.server.produced < (0.95 * rate * durationMs) / 1000
    ) {
      warnings.push(
        `${where}: produced ${r.result.server.produced}, under 95 % of the target (server overloaded?)`,
      );
    }
    if (r.metrics.clientCpuPct > 90)
      warnings.push(
        `${where}: client process at ${r.metrics.clientCpuPct}% of its core (may be the bottleneck)`,
      );
  }
  const report = {
    name,
    description:
      'WebSocket slow consumers: guarded (BackpressuredWsAdapter) vs naive (Nest WsAdapter) vs raw ws; memory, fast-client rate, saturation',
    command: process.env.npm_lifecycle_event
      ? `npm run ${process.env.npm_lifecycle_event}`
      : process.argv.join(' '),
    commit: gitCommit(),
    date: new Date(started).toISOString(),
    durationMs: Date.now() - started,
    machine: {
      node: process.version,
      cpuModel: os.cpus()[0]?.model ?? 'unknown',
      nproc: os.availableParallelism(),
      platform: `${os.type()} ${os.release()}`,
    },
    pinning,
    config: {
      runs,
      scenarios,
      highWaterMark,
      slowConsumerTimeoutMs: slowTimeoutMs,
      serverEntry: path.relative(root, entry),
    },
    gates: gateList,
    summary,
    warnings: [...new Set(warnings)],
    runs: records,
  };
  const dir = process.env.BENCH_RESULTS_DIR ?? path.join(root, 'bench', 'results');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.json`);
  fs.writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  log(`wrote ${path.relative(process.cwd(), file)}`);
  process.stdout.write(`${render(summary, gateList, pinning, report.warnings)}\n`);
}

main().catch((err: unknown) => {
  killAllChildren();
  process.stderr.write(`[bench] failed: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exitCode = 1;
});
