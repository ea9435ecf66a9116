/**
 * Load shedding, side by side: unguarded Nest, a binary ELU guard (what @fastify/under-pressure does), Steady,
 * and @nestjs/throttler as the peer for overhead. One fixture app (bench/fixtures/shed-server), one variant per
 * server process, interleaved, median of BENCH_RUNS (default 5) runs.
 *
 *   npm run bench:load-shedding
 *
 * Scenarios (see docs/benchmarks.md for the goals):
 *   overhead     GET /fast closed loop: unguarded vs steady vs throttler
 *   downstream   GET /pool (50 slots x 200 ms = 250 req/s) open loop at 1x, 2x, 5x, 2 s deadline
 *   cpu-capacity GET /cpu (2 ms sync) closed-loop capacity of the unguarded app
 *   cpu          open loop at 2x and 5x of that capacity, every variant
 *   dynamics     steady only: step load 0.5x -> 3x -> 0.5x on /pool; 30 % critical / 70 % sheddable at 3x
 *   leak         steady only: 100 000 requests with 10 % client aborts; in-flight and heap after
 *
 * Env: BENCH_RUNS, BENCH_PHASE_MS (open-loop phase length, default 6000), BENCH_ONLY (comma list of scenarios),
 * BENCH_LEAK_REQUESTS (default 100000).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { GeneratorResult } from './lib/load-generator';
import {
  envInt,
  findRepoRoot,
  renderReport,
  runBench,
  type BenchDefinition,
  type BenchPhase,
  type BenchReport,
  type PhaseContext,
} from './lib/runner';
import { httpRequest } from './lib/server-process';
import { aggregate, round } from './lib/stats';
import { formatSpread, formatTable } from './lib/table';

const root = findRepoRoot();
const entry = path.join(root, 'dist/bench-shed-server/bench/fixtures/shed-server/main.js');
const phaseMs = envInt('BENCH_PHASE_MS', 6_000, 500, 60_000);
const only = (process.env.BENCH_ONLY ?? '').split(',').filter(Boolean);
const POOL_CAPACITY = 250; // 50 slots x 1000 / 200 ms
const DEADLINE = 2_000;
const leakRequests = envInt('BENCH_LEAK_REQUESTS', 100_000, 1_000, 1_000_000);
/** Median closed-loop goodput of GET /cpu on the unguarded app, measured by the cpu-capacity scenario. */
let cpuCapacity = 400;

const server = (variant: string, env: Record<string, string> = {}) => ({
  name: variant,
  server: {
    entry,
    env: { SHED_VARIANT: variant, NODE_OPTIONS: '--expose-gc', ...env },
    readyPath: '/fast',
    readyTimeoutMs: 30_000,
    stopTimeoutMs: 5_000,
  },
});

const open = (
  name: string,
  rate: number | ((ctx: PhaseContext) => number),
  path: string,
  extra: Partial<BenchPhase> = {},
): BenchPhase => ({
  name,
  mode: 'open',
  durationMs: phaseMs,
  deadlineMs: DEADLINE,
  rate,
  request: { path },
  maxSockets: 2_000,
  ...extra,
});

/** GC pauses the server saw since the last read (the phase, roughly): every one stops the loop, shedding or not. */
async function gcPauses(ctx: PhaseContext): Promise<Record<string, number>> {
  const res = await httpRequest(ctx.server.port, 'GET', '/debug/pauses', undefined, 10_000);
  const p = JSON.parse(res.body) as {
    count: number;
    totalMs: number;
    maxMs: number;
    over5ms: number;
  };
  return {
    gcCount: p.count,
    gcTotalMs: round(p.totalMs, 1),
    gcMaxMs: round(p.maxMs, 2),
    gcOver5ms: p.over5ms,
  };
}

async function debugState(ctx: PhaseContext): Promise<Record<string, number>> {
  // let aborted requests' server-side work finish before reading
  await new Promise((r) => setTimeout(r, 500));
  const res = await httpRequest(ctx.server.port, 'GET', '/debug/state', undefined, 10_000);
  const s = JSON.parse(res.body) as { inFlight: number; heapUsed: number; rss: number };
  return {
    inFlight: s.inFlight,
    heapUsedMB: round(s.heapUsed / 2 ** 20, 2),
    rssMB: round(s.rss / 2 ** 20, 1),
  };
}

function definitions(): BenchDefinition[] {
  const defs: BenchDefinition[] = [
    {
      name: 'overhead',
      description:
        'GET /fast, closed loop, 50 connections: the cost of the guard when nothing is shed',
      variants: [server('unguarded'), server('steady'), server('throttler')],
      phases: [
        {
          name: 'warmup',
          mode: 'closed',
          warmup: true,
          durationMs: 1_000,
          deadlineMs: 1_000,
          connections: 50,
          request: { path: '/fast' },
        },
        {
          name: 'fast',
          mode: 'closed',
          durationMs: 5_000,
          deadlineMs: 1_000,
          connections: 50,
          request: { path: '/fast' },
        },
      ],
    },
    {
      name: 'downstream',
      description:
        'GET /pool: a slow bounded downstream (50 x 200 ms = 250 req/s), open loop, 2 s deadline',
      variants: [server('unguarded'), server('binary-elu'), server('steady')],
      phases: [
        open('pool-1x', POOL_CAPACITY, '/pool', { after: gcPauses }),
        open('pool-2x', 2 * POOL_CAPACITY, '/pool', { after: gcPauses }),
        open('pool-5x', 5 * POOL_CAPACITY, '/pool', { after: gcPauses }),
      ],
    },
    {
      name: 'cpu-capacity',
      description:
        'GET /cpu closed loop on the unguarded app: the capacity every variant is offered 2x and 5x of',
      variants: [server('unguarded')],
      phases: [
        {
          name: 'warmup',
          mode: 'closed',
          warmup: true,
          durationMs: 1_000,
          deadlineMs: 5_000,
          connections: 8,
          request: { path: '/cpu' },
        },
        {
          name: 'capacity',
          mode: 'closed',
          durationMs: 3_000,
          deadlineMs: 5_000,
          connections: 8,
          request: { path: '/cpu' },
        },
      ],
    },
    {
      name: 'cpu',
      description:
        'GET /cpu: 2 ms of synchronous work, open loop at 2x and 5x of the measured capacity',
      variants: [server('unguarded'), server('binary-elu'), server('steady')],
      phases: [
        open('cpu-2x', () => 2 * cpuCapacity, '/cpu'),
        open('cpu-5x', () => 5 * cpuCapacity, '/cpu'),
      ],
    },
    {
      name: 'dynamics',
      description:
        'steady only: step load 0.5x -> 3x -> 0.5x on /pool, and 30 % critical / 70 % sheddable at 3x',
      variants: [server('steady')],
      phases: [
        open('step', 3 * POOL_CAPACITY, '/pool', {
          durationMs: 15_000,
          generator: () => ({
            steps: [
              { durationMs: 5_000, rate: POOL_CAPACITY / 2 },
              { durationMs: 5_000, rate: 3 * POOL_CAPACITY },
              { durationMs: 5_000, rate: POOL_CAPACITY / 2 },
            ],
            timelineBucketMs: 50,
          }),
        }),
        open('priority-3x', 3 * POOL_CAPACITY, '/pool', {
          generator: () => ({
            mix: [
              {
                label: 'critical',
                weight: 3,
                request: { path: '/pool', headers: { 'x-steady-priority': 'critical' } },
              },
              {
                label: 'sheddable',
                weight: 7,
                request: { path: '/pool', headers: { 'x-steady-priority': 'sheddable' } },
              },
            ],
          }),
        }),
      ],
    },
    {
      name: 'leak',
      description: `steady only: ${leakRequests} requests at 4000/s, 10 % aborted by the client after 10 ms`,
      runs: 1,
      variants: [server('steady', { MAX_IN_FLIGHT: '1000' })],
      phases: [
        {
          name: 'before',
          mode: 'closed',
          warmup: false,
          durationMs: 500,
          deadlineMs: 1_000,
          connections: 4,
          request: { path: '/fast' },
          after: (ctx) => debugState(ctx),
        },
        {
          name: 'leak',
          mode: 'open',
          rate: 4_000,
          durationMs: Math.round((leakRequests / 4_000) * 1000),
          deadlineMs: 1_000,
          maxSockets: 512,
          request: { path: '/fast' },
          generator: () => ({
            mix: [
              { label: 'fast', weight: 9, request: { path: '/fast' } },
              { label: 'aborted', weight: 1, request: { path: '/abortable' }, deadlineMs: 10 },
            ],
          }),
          after: (ctx) => debugState(ctx),
        },
      ],
    },
  ];
  return only.length ? defs.filter((d) => only.includes(d.name)) : defs;
}

interface Derived {
  scenario: string;
  variant: string;
  metric: string;
  value: ReturnType<typeof aggregate>[string];
  goal?: string;
  met?: boolean;
}

function per(report: BenchReport, phase: string, variant: string): GeneratorResult[] {
  return report.runs.filter((r) => r.phase === phase && r.variant === variant).map((r) => r.result);
}

function spread(values: number[]) {
  return aggregate(
    values.map((v) => ({ v })),
    ['v'] as const,
  ).v;
}

/** When shedding started after the step up and stopped after the step down, from the 50 ms timeline. */
function stepTiming(r: GeneratorResult): { startMs: number; stopMs: number } {
  const t = r.timeline ?? [];
  const up = 5_000;
  const down = 10_000;
  const first = t.find((b) => b.atMs >= up && b.shed > 0);
  const lastShed = [...t].reverse().find((b) => b.shed > 0);
  return {
    startMs: first ? first.atMs - up : Number.NaN,
    stopMs: lastShed ? Math.max(0, lastShed.atMs + 50 - down) : 0,
  };
}

function derive(reports: Map<string, BenchReport>): Derived[] {
  const out: Derived[] = [];
  const add = (d: Derived) => out.push(d);
  const o = reports.get('overhead');
  if (o) {
    const base = per(o, 'fast', 'unguarded').map((r) => r.goodput);
    for (const v of ['steady', 'throttler']) {
      const ratios = per(o, 'fast', v).map((r, i) => r.goodput / base[i]);
      const value = spread(ratios.map((x) => round(x * 100, 1)));
      add({
        scenario: 'overhead',
        variant: v,
        metric: 'throughput % of unguarded',
        value,
        goal: v === 'steady' ? '>= 97' : 'peer (35-70 measured elsewhere)',
        met: v === 'steady' ? value.median >= 97 : undefined,
      });
    }
  }
  const d = reports.get('downstream');
  if (d) {
    for (const v of ['unguarded', 'binary-elu', 'steady']) {
      for (const [phase, factor, goal] of [
        ['pool-1x', 1, 0],
        ['pool-2x', 2, 95],
        ['pool-5x', 5, 90],
      ] as const) {
        const rs = per(d, phase, v);
        const good = spread(rs.map((r) => round((r.goodput / POOL_CAPACITY) * 100, 1)));
        add({
          scenario: `downstream ${factor}x`,
          variant: v,
          metric: 'goodput % of capacity',
          value: good,
          goal: goal && v === 'steady' ? `>= ${goal}` : undefined,
          met: goal && v === 'steady' ? good.median >= goal : undefined,
        });
        if (factor > 1) {
          const to = spread(rs.map((r) => round((r.timeouts / Math.max(1, r.sent)) * 100, 3)));
          add({
            scenario: `downstream ${factor}x`,
            variant: v,
            metric: 'timeouts %',
            value: to,
            goal: v === 'steady' ? '<= 0.1' : undefined,
            met: v === 'steady' ? to.median <= 0.1 : undefined,
          });
          if (v === 'steady') {
            const p99 = spread(rs.map((r) => r.latencyMs.p99));
            add({
              scenario: `downstream ${factor}x`,
              variant: v,
              metric: 'accepted p99 ms',
              value: p99,
              goal: '<= 300',
              met: p99.median <= 300,
            });
            const rej = spread(rs.map((r) => r.shedLatencyMs.p99));
            add({
              scenario: `downstream ${factor}x`,
              variant: v,
              metric: 'rejection p99 ms (from intended send)',
              value: rej,
            });
            const rejSent = spread(rs.map((r) => r.shedFromSendMs.p99));
            add({
              scenario: `downstream ${factor}x`,
              variant: v,
              metric: 'rejection p99 ms (from send)',
              value: rejSent,
              goal: '<= 5',
              met: rejSent.median <= 5,
            });
            const lag = spread(rs.map((r) => r.sendLagMs?.p99 ?? 0));
            add({
              scenario: `downstream ${factor}x`,
              variant: v,
              metric: 'generator send lag p99 ms',
              value: lag,
            });
            const gc = d.runs
              .filter((r) => r.phase === phase && r.variant === v && r.after)
              .map((r) => r.after!);
            if (gc.length > 0) {
              add({
                scenario: `downstream ${factor}x`,
                variant: v,
                metric: 'server GC pauses > 5 ms (count)',
                value: spread(gc.map((a) => a.gcOver5ms)),
              });
              add({
                scenario: `downstream ${factor}x`,
                variant: v,
                metric: 'server longest GC pause ms',
                value: spread(gc.map((a) => a.gcMaxMs)),
              });
            }
          }
        }
      }
    }
  }
  const c = reports.get('cpu');
  const cc = reports.get('cpu-capacity');
  if (cc) {
    add({
      scenario: 'cpu',
      variant: 'unguarded',
      metric: 'capacity req/s (closed loop)',
      value: spread(per(cc, 'capacity', 'unguarded').map((r) => r.goodput)),
    });
  }
  if (c) {
    for (const v of ['unguarded', 'binary-elu', 'steady']) {
      for (const [phase, factor] of [
        ['cpu-2x', 2],
        ['cpu-5x', 5],
      ] as const) {
        const rs = per(c, phase, v);
        const good = spread(rs.map((r) => round((r.goodput / cpuCapacity) * 100, 1)));
        add({
          scenario: `cpu ${factor}x`,
          variant: v,
          metric: 'goodput % of capacity',
          value: good,
          goal: v === 'steady' ? '>= 90' : undefined,
          met: v === 'steady' ? good.median >= 90 : undefined,
        });
        const to = spread(rs.map((r) => round((r.timeouts / Math.max(1, r.sent)) * 100, 3)));
        add({
          scenario: `cpu ${factor}x`,
          variant: v,
          metric: 'timeouts %',
          value: to,
          goal: v === 'steady' ? '<= 0.1' : undefined,
          met: v === 'steady' ? to.median <= 0.1 : undefined,
        });
      }
    }
  }
  const dyn = reports.get('dynamics');
  if (dyn) {
    const timings = per(dyn, 'step', 'steady').map(stepTiming);
    const start = spread(timings.map((t) => t.startMs));
    const stop = spread(timings.map((t) => t.stopMs));
    add({
      scenario: 'step 0.5x-3x-0.5x',
      variant: 'steady',
      metric: 'shedding starts after the step up, ms',
      value: start,
      goal: '<= 200',
      met: start.median <= 200,
    });
    add({
      scenario: 'step 0.5x-3x-0.5x',
      variant: 'steady',
      metric: 'shedding stops after the step down, ms',
      value: stop,
      goal: '<= 2000',
      met: stop.median <= 2000,
    });
    const crit = spread(
      per(dyn, 'priority-3x', 'steady').map((r) =>
        round(
          ((r.byLabel?.critical.ok ?? 0) / Math.max(1, r.byLabel?.critical.sent ?? 0)) * 100,
          2,
        ),
      ),
    );
    add({
      scenario: 'priority 30/70 at 3x',
      variant: 'steady',
      metric: 'critical accepted %',
      value: crit,
      goal: '>= 99',
      met: crit.median >= 99,
    });
    const shedd = spread(
      per(dyn, 'priority-3x', 'steady').map((r) =>
        round(
          ((r.byLabel?.sheddable.ok ?? 0) / Math.max(1, r.byLabel?.sheddable.sent ?? 0)) * 100,
          2,
        ),
      ),
    );
    add({
      scenario: 'priority 30/70 at 3x',
      variant: 'steady',
      metric: 'sheddable accepted %',
      value: shedd,
    });
  }
  const l = reports.get('leak');
  if (l) {
    const before = l.runs.find((r) => r.phase === 'before')?.after;
    const after = l.runs.find((r) => r.phase === 'leak');
    if (before && after?.after) {
      const res = after.result;
      add({
        scenario: 'leak',
        variant: 'steady',
        metric: 'requests sent (aborted by client)',
        value: spread([res.sent]),
        goal: `${res.byLabel?.aborted.timeouts ?? 0} aborted`,
      });
      add({
        scenario: 'leak',
        variant: 'steady',
        metric: 'in-flight after',
        value: spread([after.after.inFlight]),
        goal: '= 0',
        met: after.after.inFlight === 0,
      });
      const growth = round(after.after.heapUsedMB - before.heapUsedMB, 2);
      add({
        scenario: 'leak',
        variant: 'steady',
        metric: 'heap growth MB (after GC)',
        value: spread([growth]),
        goal: '|x| <= 5',
        met: Math.abs(growth) <= 5,
      });
    }
  }
  return out;
}

/** Goodput vs offered load, one line per variant, for the downstream and cpu scenarios. */
function chart(reports: Map<string, BenchReport>): string | null {
  const d = reports.get('downstream');
  const c = reports.get('cpu');
  if (!d && !c) return null;
  const variants = ['unguarded', 'binary-elu', 'steady'];
  const colors: Record<string, string> = {
    unguarded: '#c0392b',
    'binary-elu': '#e67e22',
    steady: '#2471a3',
  };
  const panels: { title: string; points: Record<string, [number, number][]> }[] = [];
  if (d) {
    const pts: Record<string, [number, number][]> = {};
    for (const v of variants) {
      pts[v] = (
        [
          ['pool-1x', 1],
          ['pool-2x', 2],
          ['pool-5x', 5],
        ] as const
      ).map(([p, f]) => [
        f,
        spread(per(d, p, v).map((r) => (r.goodput / POOL_CAPACITY) * 100)).median,
      ]);
    }
    panels.push({ title: 'slow downstream (/pool, 250 req/s)', points: pts });
  }
  if (c) {
    const pts: Record<string, [number, number][]> = {};
    for (const v of variants) {
      pts[v] = (
        [
          ['cpu-2x', 2],
          ['cpu-5x', 5],
        ] as const
      ).map(([p, f]) => [
        f,
        spread(per(c, p, v).map((r) => (r.goodput / cpuCapacity) * 100)).median,
      ]);
      pts[v].unshift([1, 100]);
    }
    panels.push({ title: 'CPU-bound (/cpu, 2 ms) — 1x is the closed-loop capacity', points: pts });
  }
  const W = 420;
  const H = 300;
  const pad = 50;
  const x = (f: number) => pad + ((f - 1) / 4) * (W - 2 * pad);
  const y = (p: number) => H - pad - (Math.max(0, Math.min(110, p)) / 110) * (H - 2 * pad);
  const parts: string[] = [];
  panels.forEach((panel, i) => {
    const ox = i * W;
    parts.push(`<g transform="translate(${ox},0)">`);
    parts.push(
      `<text x="${W / 2}" y="20" text-anchor="middle" font-size="13">${panel.title}</text>`,
    );
    parts.push(`<line x1="${pad}" y1="${H - pad}" x2="${W - pad}" y2="${H - pad}" stroke="#333"/>`);
    parts.push(`<line x1="${pad}" y1="${pad}" x2="${pad}" y2="${H - pad}" stroke="#333"/>`);
    for (const f of [1, 2, 3, 4, 5])
      parts.push(
        `<text x="${x(f)}" y="${H - pad + 16}" text-anchor="middle" font-size="11">${f}x</text>`,
      );
    for (const p of [0, 25, 50, 75, 100]) {
      parts.push(
        `<text x="${pad - 6}" y="${y(p) + 4}" text-anchor="end" font-size="11">${p}%</text>`,
      );
      parts.push(`<line x1="${pad}" y1="${y(p)}" x2="${W - pad}" y2="${y(p)}" stroke="#ddd"/>`);
    }
    parts.push(
      `<text x="${W / 2}" y="${H - 12}" text-anchor="middle" font-size="11">offered load (x capacity)</text>`,
    );
    parts.push(
      `<text x="14" y="${H / 2}" transform="rotate(-90 14 ${H / 2})" text-anchor="middle" font-size="11">goodput (% of capacity)</text>`,
    );
    variants.forEach((v, k) => {
      const pts = panel.points[v];
      parts.push(
        `<polyline fill="none" stroke="${colors[v]}" stroke-width="2" points="${pts.map(([f, p]) => `${x(f)},${y(p)}`).join(' ')}"/>`,
      );
      for (const [f, p] of pts)
        parts.push(`<circle cx="${x(f)}" cy="${y(p)}" r="3" fill="${colors[v]}"/>`);
      parts.push(
        `<text x="${W - pad - 90}" y="${pad + 14 * k}" font-size="11" fill="${colors[v]}">${v}</text>`,
      );
    });
    parts.push('</g>');
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W * panels.length}" height="${H}" font-family="sans-serif">\n<rect width="100%" height="100%" fill="white"/>\n${parts.join('\n')}\n</svg>\n`;
}

async function main(): Promise<void> {
  const subDir = path.join(root, 'bench', 'results', 'load-shedding');
  const reports = new Map<string, BenchReport>();
  const started = Date.now();
  for (const def of definitions()) {
    const report = await runBench({ ...def, resultsDir: subDir });
    reports.set(def.name, report);
    if (def.name === 'cpu-capacity') {
      cpuCapacity = spread(per(report, 'capacity', 'unguarded').map((r) => r.goodput)).median;
      process.stderr.write(`[bench] GET /cpu capacity: ${cpuCapacity} req/s\n`);
    }
    process.stdout.write(`\n=== ${def.name}: ${def.description}\n${renderReport(report)}\n`);
  }
  // With BENCH_ONLY, the scenarios not re-run this time are read from their last result files.
  for (const name of ['overhead', 'downstream', 'cpu-capacity', 'cpu', 'dynamics', 'leak']) {
    const file = path.join(subDir, `${name}.json`);
    if (!reports.has(name) && fs.existsSync(file)) {
      reports.set(name, JSON.parse(fs.readFileSync(file, 'utf8')) as BenchReport);
      process.stderr.write(`[bench] ${name}: not re-run, read from ${path.relative(root, file)}\n`);
    }
  }
  if (!reports.has('cpu-capacity') || only.length === 0 || only.includes('cpu-capacity')) {
    // cpuCapacity was set when cpu-capacity ran in this invocation
  } else {
    cpuCapacity = spread(
      per(reports.get('cpu-capacity')!, 'capacity', 'unguarded').map((r) => r.goodput),
    ).median;
  }
  const derived = derive(reports);
  const table = formatTable(
    [
      { header: 'scenario' },
      { header: 'variant' },
      { header: 'metric' },
      { header: 'median (min-max)', align: 'right' },
      { header: 'goal' },
      { header: 'met' },
    ],
    derived.map((r) => [
      r.scenario,
      r.variant,
      r.metric,
      formatSpread(r.value, 2),
      r.goal ?? '',
      r.met === undefined ? '' : r.met ? 'yes' : 'MISS',
    ]),
  );
  process.stdout.write(`\n=== load-shedding: derived figures and goals\n${table}\n`);
  const svg = chart(reports);
  const results = path.join(root, 'bench', 'results');
  if (svg) fs.writeFileSync(path.join(results, 'load-shedding-goodput.svg'), svg);
  const combined = {
    name: 'load-shedding',
    command: 'npm run bench:load-shedding',
    date: new Date(started).toISOString(),
    durationMs: Date.now() - started,
    machine: [...reports.values()][0]?.machine,
    pinning: [...reports.values()][0]?.pinning,
    derived,
    scenarios: Object.fromEntries(
      [...reports].map(([k, r]) => [
        k,
        { file: `bench/results/load-shedding/${k}.json`, summary: r.summary, warnings: r.warnings },
      ]),
    ),
  };
  fs.writeFileSync(
    path.join(results, 'load-shedding.json'),
    `${JSON.stringify(combined, null, 2)}\n`,
  );
  process.stderr.write(
    `[bench] wrote bench/results/load-shedding.json${svg ? ' and bench/results/load-shedding-goodput.svg' : ''}\n`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`[bench] failed: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exitCode = 1;
});
