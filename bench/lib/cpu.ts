import * as fs from 'node:fs';

/**
 * CPU accounting from /proc (Linux): how busy the machine was during a phase and how much of
 * that was the server, so that a phase disturbed by some other process shows up in the
 * results instead of silently skewing them. Values are in % of one core (0..100 x nproc).
 * Elsewhere every reading is null and the bench runs without it.
 */

/** USER_HZ; 100 on every Linux this runs on. */
const CLOCK_TICKS = 100;

export interface MachineTicks {
  /** Time the guest ran something, steal excluded. */
  busy: number;
  /** Time the hypervisor ran something else while this VM wanted to run. */
  steal: number;
  total: number;
}

/** Parses the aggregate `cpu` line of /proc/stat. */
export function parseProcStat(text: string): MachineTicks | null {
  const line = text.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) return null;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  if (v.length < 4 || v.some((x) => !Number.isFinite(x))) return null;
  // user nice system idle iowait irq softirq steal [guest guest_nice: already in user/nice]
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = v[3] + (v[4] ?? 0);
  const steal = v[7] ?? 0;
  return { busy: total - idle - steal, steal, total };
}

/** utime + stime, in ticks, from /proc/<pid>/stat (the comm field may contain spaces). */
export function parsePidStat(text: string): number | null {
  const end = text.lastIndexOf(')');
  if (end < 0) return null;
  const fields = text
    .slice(end + 2)
    .trim()
    .split(/\s+/);
  // fields[0] is field 3 (state); utime and stime are fields 14 and 15
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return Number.isFinite(utime) && Number.isFinite(stime) ? utime + stime : null;
}

export interface CpuSnapshot {
  atMs: number;
  machine: MachineTicks | null;
  server: number | null;
  self: NodeJS.CpuUsage;
}

function read(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

export function snapshot(serverPid: number): CpuSnapshot {
  const stat = read('/proc/stat');
  const pidStat = read(`/proc/${serverPid}/stat`);
  return {
    atMs: performance.now(),
    machine: stat === null ? null : parseProcStat(stat),
    server: pidStat === null ? null : parsePidStat(pidStat),
    self: process.cpuUsage(),
  };
}

export interface PhaseCpu {
  /** Whole machine, % of one core. */
  machine: number | null;
  /** CPU the hypervisor took from this VM (steal), % of one core. High = noisy host. */
  steal: number | null;
  server: number | null;
  /** From the generator's own process.cpuUsage(). */
  generator: number | null;
  /** The runner process (this one). */
  runner: number;
  /** machine - server - generator - runner: whatever else ran on the box meanwhile. */
  other: number | null;
}

export function cpuBetween(
  a: CpuSnapshot,
  b: CpuSnapshot,
  nproc: number,
  generatorPct: number | null,
): PhaseCpu {
  const wallMs = Math.max(1, b.atMs - a.atMs);
  const pct = (ticks: number): number =>
    Math.round(((ticks * 1000) / CLOCK_TICKS / wallMs) * 1000) / 10;
  let machine: number | null = null;
  let steal: number | null = null;
  if (a.machine && b.machine && b.machine.total > a.machine.total) {
    const total = b.machine.total - a.machine.total;
    machine = Math.round(((b.machine.busy - a.machine.busy) / total) * nproc * 1000) / 10;
    steal = Math.round(((b.machine.steal - a.machine.steal) / total) * nproc * 1000) / 10;
  }
  const server = a.server !== null && b.server !== null ? pct(b.server - a.server) : null;
  const selfUs = b.self.user - a.self.user + (b.self.system - a.self.system);
  const runner = Math.round((selfUs / 1000 / wallMs) * 1000) / 10;
  const other =
    machine !== null && server !== null && generatorPct !== null
      ? Math.round(Math.max(0, machine - server - generatorPct - runner) * 10) / 10
      : null;
  return { machine, steal, server, generator: generatorPct, runner, other };
}

export interface QuietWait {
  /** Machine busy % (of one core) in the last window measured. */
  busyPct: number | null;
  quiet: boolean;
  waitedMs: number;
}

/**
 * Before a run, waits (bounded) until the machine is nearly idle: busy (steal included) below
 * `thresholdPct` of one core over a `windowMs` window. On a shared machine this keeps a run from starting in
 * the middle of someone's test suite; it cannot stop one from starting mid-run, which is what
 * the per-phase `other` CPU figure is for.
 */
export async function waitForQuiet(opts: {
  thresholdPct: number;
  windowMs: number;
  maxWaitMs: number;
  nproc: number;
}): Promise<QuietWait> {
  const started = performance.now();
  let busyPct: number | null = null;
  while (true) {
    const a = read('/proc/stat');
    await new Promise((r) => setTimeout(r, opts.windowMs));
    const b = read('/proc/stat');
    const ta = a === null ? null : parseProcStat(a);
    const tb = b === null ? null : parseProcStat(b);
    const waitedMs = Math.round(performance.now() - started);
    if (!ta || !tb || tb.total <= ta.total) return { busyPct: null, quiet: false, waitedMs };
    const used = tb.busy - ta.busy + (tb.steal - ta.steal); // steal: the host is busy
    busyPct = Math.round((used / (tb.total - ta.total)) * opts.nproc * 1000) / 10;
    if (busyPct < opts.thresholdPct) return { busyPct, quiet: true, waitedMs };
    if (waitedMs >= opts.maxWaitMs) return { busyPct, quiet: false, waitedMs };
  }
}
