import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { killAllChildren } from './children';
import { cpuBetween, snapshot, waitForQuiet, type PhaseCpu, type QuietWait } from './cpu';
import type { GeneratorConfig, LoadMode, RequestSpec } from './generator-config';
import { runGeneratorProcess } from './generator-process';
import type { GeneratorResult } from './load-generator';
import { detectPinning, type PinningPlan } from './pinning';
import { startServer, type RunningServer, type ServerSpec } from './server-process';
import { aggregate, type Spread } from './stats';
import { formatSpread, formatTable, type Column } from './table';

/**
 * The bench runner: for run in 1..runs, for variant in variants (interleaved), start the
 * variant's server (pinned to core 0), run `setup`, run every phase with the generator in its
 * own process (pinned to core 1), stop the server. Then medians and min/max per metric, a
 * JSON file in bench/results/<name>.json and a plain-text table on stdout.
 */

export interface PhaseContext {
  run: number;
  variant: string;
  server: RunningServer;
  /** What `setup` returned for this run and variant. */
  setup: Record<string, string>;
  /** Results of the earlier phases of this run and variant, by phase name. */
  previous: Record<string, GeneratorResult>;
}

export interface BenchPhase {
  name: string;
  mode: LoadMode;
  durationMs: number;
  deadlineMs: number;
  /** Run but not recorded (JIT, connection pools, caches). */
  warmup?: boolean;
  /**
   * Unrecorded traffic from the generator process itself right before this phase, so its own
   * JIT is warm when measuring starts (each phase is a fresh process). Default 1000 ms.
   */
  generatorWarmupMs?: number;
  /** Open loop: req/s, fixed or derived from earlier phases (e.g. 70% of closed-loop). */
  rate?: number | ((ctx: PhaseContext) => number);
  connections?: number;
  maxSockets?: number;
  maxOutstanding?: number;
  request: RequestSpec | ((ctx: PhaseContext) => RequestSpec);
  /** More generator settings (a mix, a step load, a timeline), merged into the config. */
  generator?: (ctx: PhaseContext) => Partial<GeneratorConfig>;
  /** Reads server-side numbers after the phase (e.g. a debug endpoint); kept in the run record. */
  after?: (ctx: PhaseContext, result: GeneratorResult) => Promise<Record<string, number>>;
}

export interface BenchVariant {
  name: string;
  server: ServerSpec;
}

export interface BenchDefinition {
  /** Also the result file name: bench/results/<name>.json. */
  name: string;
  description?: string;
  /** Default 5; env BENCH_RUNS overrides. */
  runs?: number;
  variants: BenchVariant[];
  phases: BenchPhase[];
  /** Runs once per server start, before the phases (e.g. create the resource to load). */
  setup?: (server: RunningServer) => Promise<Record<string, string>>;
  /** Hard bound per (run, variant). Default: phase durations + deadlines + 60 s. */
  runTimeoutMs?: number;
  /** Hard bound for the whole bench. Default: runs x variants x runTimeoutMs. */
  benchTimeoutMs?: number;
  /** Default <repo>/bench/results; env BENCH_RESULTS_DIR overrides. */
  resultsDir?: string;
  /** Free-form, recorded as is in the JSON (why this rate, etc.). */
  notes?: Record<string, unknown>;
}

export const DEFAULT_GENERATOR_WARMUP_MS = 1_000;

export const METRICS = [
  'sendRate',
  'throughput',
  'goodput',
  'ok',
  'timeouts',
  'shed',
  'errors',
  'dropped',
  'p50',
  'p90',
  'p99',
  'max',
  'sendLagP99',
  'serverCpu',
  'generatorCpu',
  'otherCpu',
  'stealCpu',
] as const;
export type MetricKey = (typeof METRICS)[number];

export interface RunRecord {
  run: number;
  variant: string;
  phase: string;
  server: { pid: number; startupMs: number; pinnedCpus: string | null };
  generatorPinnedCpus: string | null;
  setup: Record<string, string>;
  /** % of one core during the phase (generator process lifetime). */
  cpu: PhaseCpu;
  /** How long the run waited for a quiet machine before starting the server. */
  quietWait: QuietWait;
  metrics: Record<MetricKey, number>;
  result: GeneratorResult;
  /** What the phase's `after` hook read from the server. */
  after?: Record<string, number>;
}

export interface SummaryRow {
  phase: string;
  variant: string;
  mode: LoadMode;
  /** e.g. `2000/s` or `32 conns`. */
  offered: string;
  runs: number;
  metrics: Record<MetricKey, Spread>;
}

export interface BenchReport {
  name: string;
  description: string | null;
  command: string;
  /** `git rev-parse HEAD`, with `-dirty` when the work tree had changes; null without git. */
  commit: string | null;
  date: string;
  durationMs: number;
  machine: { node: string; cpuModel: string; nproc: number; platform: string; arch: string };
  pinning: PinningPlan;
  config: {
    runs: number;
    variants: Array<{ name: string; server: ServerSpec }>;
    phases: Array<Omit<BenchPhase, 'rate' | 'request'> & { rate?: number | 'derived' }>;
    runTimeoutMs: number;
    benchTimeoutMs: number;
  };
  notes: Record<string, unknown>;
  warnings: string[];
  runs: RunRecord[];
  summary: SummaryRow[];
}

export function metricsOf(r: GeneratorResult, cpu?: PhaseCpu): Record<MetricKey, number> {
  return {
    sendRate: r.sendRate,
    throughput: r.throughput,
    goodput: r.goodput,
    ok: r.ok,
    timeouts: r.timeouts,
    shed: r.shed,
    errors: r.errors,
    dropped: r.dropped,
    p50: r.latencyMs.p50,
    p90: r.latencyMs.p90,
    p99: r.latencyMs.p99,
    max: r.latencyMs.max,
    sendLagP99: r.sendLagMs?.p99 ?? Number.NaN,
    serverCpu: cpu?.server ?? Number.NaN,
    generatorCpu: cpu?.generator ?? r.cpu.pct,
    otherCpu: cpu?.other ?? Number.NaN,
    stealCpu: cpu?.steal ?? Number.NaN,
  };
}

/** Groups run records by (phase, variant), keeping definition order, and aggregates them. */
export function summarize(
  records: readonly RunRecord[],
  phaseOrder: readonly string[],
  variantOrder: readonly string[],
): SummaryRow[] {
  const rows: SummaryRow[] = [];
  for (const phase of phaseOrder) {
    for (const variant of variantOrder) {
      const group = records.filter((r) => r.phase === phase && r.variant === variant);
      if (group.length === 0) continue;
      const first = group[0].result;
      const rates = [...new Set(group.map((g) => g.result.config.rate))];
      const offered =
        first.mode === 'open'
          ? rates.length === 1
            ? `${rates[0]}/s`
            : `${Math.min(...(rates as number[]))}-${Math.max(...(rates as number[]))}/s`
          : `${first.config.connections} conns`;
      rows.push({
        phase,
        variant,
        mode: first.mode,
        offered,
        runs: group.length,
        metrics: aggregate(
          group.map((g) => g.metrics),
          METRICS,
        ),
      });
    }
  }
  return rows;
}

export const TABLE_COLUMNS: Column[] = [
  { header: 'phase' },
  { header: 'variant' },
  { header: 'offered', align: 'right' },
  { header: 'send/s', align: 'right' },
  { header: 'goodput/s', align: 'right' },
  { header: 'p50 ms', align: 'right' },
  { header: 'p90 ms', align: 'right' },
  { header: 'p99 ms', align: 'right' },
  { header: 'max ms', align: 'right' },
  { header: 'timeouts', align: 'right' },
  { header: 'shed', align: 'right' },
  { header: 'errors', align: 'right' },
];

/** The printed table: each cell is `median (min-max)` over the runs. */
export function renderSummary(rows: readonly SummaryRow[]): string {
  return formatTable(
    TABLE_COLUMNS,
    rows.map((r) => [
      r.phase,
      r.variant,
      r.offered,
      formatSpread(r.metrics.sendRate),
      formatSpread(r.metrics.goodput),
      formatSpread(r.metrics.p50, 2),
      formatSpread(r.metrics.p90, 2),
      formatSpread(r.metrics.p99, 2),
      formatSpread(r.metrics.max, 1),
      formatSpread(r.metrics.timeouts),
      formatSpread(r.metrics.shed),
      formatSpread(r.metrics.errors),
    ]),
  );
}

export const OTHER_CPU_WARN_PCT = 25;
export const GENERATOR_CPU_WARN_PCT = 90;
export const STEAL_CPU_WARN_PCT = 10;

export const CPU_COLUMNS: Column[] = [
  { header: 'phase' },
  { header: 'variant' },
  { header: 'server cpu%', align: 'right' },
  { header: 'generator cpu%', align: 'right' },
  { header: 'other cpu%', align: 'right' },
  { header: 'steal%', align: 'right' },
  { header: 'send lag p99 ms', align: 'right' },
];

/** Where the CPU went (% of one core), to tell a server-bound run from a noisy one. */
export function renderCpuSummary(rows: readonly SummaryRow[]): string {
  return formatTable(
    CPU_COLUMNS,
    rows.map((r) => [
      r.phase,
      r.variant,
      formatSpread(r.metrics.serverCpu),
      formatSpread(r.metrics.generatorCpu),
      formatSpread(r.metrics.otherCpu),
      formatSpread(r.metrics.stealCpu),
      formatSpread(r.metrics.sendLagP99, 2),
    ]),
  );
}

/** Things a reader of the numbers must know: dropped requests, a lagging generator... */
export function warningsFor(records: readonly RunRecord[]): string[] {
  const out: string[] = [];
  for (const r of records) {
    const where = `run ${r.run} ${r.variant}/${r.phase}`;
    const res = r.result;
    if (res.aborted) out.push(`${where}: hit the generator hard timeout`);
    if (res.dropped > 0) out.push(`${where}: ${res.dropped} requests dropped (maxOutstanding)`);
    if (res.sendLagMs && res.sendLagMs.p99 > 5) {
      out.push(`${where}: generator send lag p99 ${res.sendLagMs.p99} ms (counted in latency)`);
    }
    if (res.errorNetwork > 0) {
      out.push(`${where}: ${res.errorNetwork} network errors, e.g. ${res.errorSamples[0] ?? '?'}`);
    }
    if (r.cpu.other !== null && r.cpu.other > OTHER_CPU_WARN_PCT) {
      out.push(
        `${where}: other processes used ${r.cpu.other}% of a core meanwhile (noisy machine)`,
      );
    }
    if (r.cpu.steal !== null && r.cpu.steal > STEAL_CPU_WARN_PCT) {
      out.push(`${where}: the hypervisor took ${r.cpu.steal}% of a core (steal; noisy host)`);
    }
    if (r.cpu.generator !== null && r.cpu.generator > GENERATOR_CPU_WARN_PCT) {
      out.push(`${where}: generator at ${r.cpu.generator}% of its core (may be the bottleneck)`);
    }
    if (!r.quietWait.quiet) {
      out.push(
        `run ${r.run} ${r.variant}: started on a busy machine (${r.quietWait.busyPct}% of a core)`,
      );
    }
    if (res.mode === 'open' && res.config.rate !== null && res.sendRate < res.config.rate * 0.98) {
      out.push(`${where}: achieved send rate ${res.sendRate}/s < 98% of ${res.config.rate}/s`);
    }
  }
  return [...new Set(out)];
}

export function findRepoRoot(from: string = __dirname): string {
  let dir = from;
  for (let i = 0; i < 10; i++) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'bench'))) {
      if (!dir.split(path.sep).includes('dist')) return dir;
    }
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return process.cwd();
}

/** Integer from the environment within [min, max], else the default. Throws on garbage. */
export function envInt(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new Error(`${name} must be an integer within ${min}..${max}, got ${JSON.stringify(raw)}`);
  }
  return n;
}

function relativeToRoot(root: string, file: string): string {
  const rel = path.relative(root, file);
  return rel.startsWith('..') || path.isAbsolute(rel) ? file : rel;
}

function gitCommit(root: string): string | null {
  const git = (args: string[]): string | null => {
    const r = spawnSync('git', args, { cwd: root, encoding: 'utf8', timeout: 5_000 });
    return r.status === 0 ? r.stdout.trim() : null;
  };
  const head = git(['rev-parse', 'HEAD']);
  if (head === null) return null;
  const status = git(['status', '--porcelain', '--untracked-files=no']);
  return status === null || status === '' ? head : `${head}-dirty`;
}

function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

function commandLine(): string {
  const event = process.env.npm_lifecycle_event;
  const argv = process.argv.slice(1).map((a) => path.relative(process.cwd(), a) || a);
  const direct = ['node', ...argv].join(' ');
  return event ? `npm run ${event}  (${direct})` : direct;
}

async function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      killAllChildren();
      reject(new Error(`${what} exceeded its hard timeout of ${ms} ms`));
    }, ms);
  });
  work.catch(() => undefined); // a late rejection after the timeout must not go unhandled
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function runOne(
  def: BenchDefinition,
  variant: BenchVariant,
  run: number,
  pinning: PinningPlan,
  records: RunRecord[],
): Promise<void> {
  const quietWait = await waitForQuiet({
    thresholdPct: envInt('BENCH_QUIET_BUSY_PCT', 30, 1, 10_000),
    windowMs: 500,
    maxWaitMs: envInt('BENCH_QUIET_MAX_WAIT_MS', 15_000, 0, 600_000),
    nproc: os.availableParallelism(),
  });
  if (!quietWait.quiet) {
    log(
      `run ${run} ${variant.name}: machine still busy (${quietWait.busyPct}% of a core), going on`,
    );
  }
  const server = await startServer(variant.server, pinning.serverCpus);
  try {
    log(`run ${run} ${variant.name}: server pid ${server.pid} ready in ${server.startupMs} ms`);
    const setup = def.setup ? await def.setup(server) : {};
    const previous: Record<string, GeneratorResult> = {};
    for (const phase of def.phases) {
      const ctx: PhaseContext = { run, variant: variant.name, server, setup, previous };
      const config: GeneratorConfig = {
        mode: phase.mode,
        target: server.origin,
        request: typeof phase.request === 'function' ? phase.request(ctx) : phase.request,
        durationMs: phase.durationMs,
        deadlineMs: phase.deadlineMs,
        warmupMs: phase.generatorWarmupMs ?? DEFAULT_GENERATOR_WARMUP_MS,
      };
      if (phase.mode === 'open') {
        const rate = typeof phase.rate === 'function' ? phase.rate(ctx) : phase.rate;
        if (rate === undefined) throw new Error(`phase ${phase.name}: open loop needs a rate`);
        config.rate = Math.round(rate);
        if (phase.maxOutstanding !== undefined) config.maxOutstanding = phase.maxOutstanding;
      } else if (phase.connections !== undefined) {
        config.connections = phase.connections;
      }
      if (phase.maxSockets !== undefined) config.maxSockets = phase.maxSockets;
      if (phase.generator) Object.assign(config, phase.generator(ctx));
      const before = snapshot(server.pid);
      const result = await runGeneratorProcess(config, pinning.generatorCpus);
      const after = snapshot(server.pid);
      const generatorPct =
        result.processCpuMs === undefined
          ? null
          : Math.round((result.processCpuMs / Math.max(1, after.atMs - before.atMs)) * 1000) / 10;
      const cpu = cpuBetween(before, after, os.availableParallelism(), generatorPct);
      previous[phase.name] = result;
      const afterNumbers = phase.after ? await phase.after(ctx, result) : undefined;
      const m = metricsOf(result, cpu);
      log(
        `run ${run} ${variant.name} ${phase.name}${phase.warmup ? ' (warmup)' : ''}: ` +
          `sent ${result.sent} ok ${result.ok} goodput ${m.goodput}/s p50 ${m.p50} ms ` +
          `p99 ${m.p99} ms timeouts ${m.timeouts} shed ${m.shed} errors ${m.errors}; cpu% ` +
          `server ${cpu.server} generator ${cpu.generator} other ${cpu.other} steal ${cpu.steal}`,
      );
      if (!phase.warmup) {
        records.push({
          run,
          variant: variant.name,
          phase: phase.name,
          server: { pid: server.pid, startupMs: server.startupMs, pinnedCpus: server.pinnedCpus },
          generatorPinnedCpus: pinning.generatorCpus,
          setup,
          cpu,
          quietWait,
          metrics: m,
          result,
          ...(afterNumbers ? { after: afterNumbers } : {}),
        });
      }
    }
  } catch (err) {
    const tail = server.output().trim().split('\n').slice(-20).join('\n');
    throw new Error(`${(err as Error).message}\n--- server output (tail) ---\n${tail}`);
  } finally {
    const stopped = await server.stop();
    if (stopped.killed) log(`run ${run} ${variant.name}: server needed SIGKILL`);
  }
}

export async function runBench(def: BenchDefinition): Promise<BenchReport> {
  if (def.variants.length === 0 || def.phases.length === 0) {
    throw new Error('a bench needs at least one variant and one phase');
  }
  const runs = envInt('BENCH_RUNS', def.runs ?? 5, 1, 50);
  const runTimeoutMs =
    def.runTimeoutMs ??
    def.phases.reduce(
      (sum, p) =>
        sum +
        (p.generatorWarmupMs ?? DEFAULT_GENERATOR_WARMUP_MS) +
        p.durationMs +
        p.deadlineMs +
        5_000,
      0,
    ) +
      60_000 +
      envInt('BENCH_QUIET_MAX_WAIT_MS', 15_000, 0, 600_000);
  const benchTimeoutMs = def.benchTimeoutMs ?? runs * def.variants.length * runTimeoutMs;
  const root = findRepoRoot();
  const resultsDir =
    process.env.BENCH_RESULTS_DIR ?? def.resultsDir ?? path.join(root, 'bench', 'results');
  const pinning = detectPinning();
  const started = Date.now();
  log(
    `${def.name}: ${runs} runs x ${def.variants.map((v) => v.name).join(', ')}; pinning: ${pinning.reason}`,
  );

  const benchTimer = setTimeout(() => {
    log(`${def.name}: exceeded the bench hard timeout of ${benchTimeoutMs} ms, aborting`);
    killAllChildren();
    process.exit(1);
  }, benchTimeoutMs);
  benchTimer.unref();

  const records: RunRecord[] = [];
  try {
    for (let run = 1; run <= runs; run++) {
      for (const variant of def.variants) {
        await withTimeout(
          runOne(def, variant, run, pinning, records),
          runTimeoutMs,
          `run ${run} ${variant.name}`,
        );
      }
    }
  } finally {
    clearTimeout(benchTimer);
  }

  const recorded = def.phases.filter((p) => !p.warmup).map((p) => p.name);
  const summary = summarize(
    records,
    recorded,
    def.variants.map((v) => v.name),
  );
  const cpus = os.cpus();
  const report: BenchReport = {
    name: def.name,
    description: def.description ?? null,
    command: commandLine(),
    commit: gitCommit(root),
    date: new Date(started).toISOString(),
    durationMs: Date.now() - started,
    machine: {
      node: process.version,
      cpuModel: cpus[0]?.model ?? 'unknown',
      nproc: os.availableParallelism(),
      platform: `${os.type()} ${os.release()}`,
      arch: process.arch,
    },
    pinning,
    config: {
      runs,
      variants: def.variants.map((v) => ({
        name: v.name,
        server: { ...v.server, entry: relativeToRoot(root, v.server.entry) },
      })),
      phases: def.phases.map(({ rate, request: _request, generator: _g, after: _a, ...rest }) => ({
        ...rest,
        ...(rate === undefined ? {} : { rate: typeof rate === 'function' ? 'derived' : rate }),
      })),
      runTimeoutMs,
      benchTimeoutMs,
    },
    notes: def.notes ?? {},
    warnings: warningsFor(records),
    runs: records,
    summary,
  };
  fs.mkdirSync(resultsDir, { recursive: true });
  const file = path.join(resultsDir, `${def.name}.json`);
  fs.writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  log(`wrote ${path.relative(process.cwd(), file)}`);
  return report;
}

/** Header lines + table, as printed by `printReport`. */
export function renderReport(report: BenchReport): string {
  const m = report.machine;
  const lines = [
    `${report.name}: ${report.date}, node ${m.node}, ${m.cpuModel}, nproc ${m.nproc}, ` +
      `pinning: ${report.pinning.applied ? report.pinning.reason : `none (${report.pinning.reason})`}`,
    `median (min-max) of ${report.config.runs} runs per variant; latency of 2xx within the deadline`,
    '',
    renderSummary(report.summary),
    '',
    renderCpuSummary(report.summary),
  ];
  if (report.warnings.length > 0) {
    lines.push('', 'warnings:', ...report.warnings.map((w) => `  ${w}`));
  }
  return lines.join('\n');
}

export function printReport(report: BenchReport): void {
  process.stdout.write(`${renderReport(report)}\n`);
}

/** Standard `main` for a *.bench.ts file: run, print, exit non-zero on failure. */
export function benchMain(build: () => BenchDefinition | Promise<BenchDefinition>): void {
  Promise.resolve()
    .then(build)
    .then(runBench)
    .then((report) => {
      printReport(report);
      process.exitCode = 0;
    })
    .catch((err: unknown) => {
      killAllChildren();
      process.stderr.write(`[bench] failed: ${(err as Error)?.stack ?? String(err)}\n`);
      process.exitCode = 1;
    });
}
