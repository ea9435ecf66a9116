import { spawnSync } from 'node:child_process';
import * as os from 'node:os';

/**
 * CPU pinning with `taskset`: the server gets one core, the generator another, so neither
 * steals cycles from the other. Detected once; when taskset is missing, there is only one
 * usable core, or BENCH_NO_PIN=1, processes run unpinned and the result says so.
 */
export interface PinningPlan {
  applied: boolean;
  reason: string;
  serverCpus: string | null;
  generatorCpus: string | null;
}

export const SERVER_CPUS = '0';
export const GENERATOR_CPUS = '1';

export function detectPinning(env: NodeJS.ProcessEnv = process.env): PinningPlan {
  const off = (reason: string): PinningPlan => ({
    applied: false,
    reason,
    serverCpus: null,
    generatorCpus: null,
  });
  if (env.BENCH_NO_PIN === '1') return off('disabled by BENCH_NO_PIN=1');
  if (process.platform !== 'linux') return off(`taskset not used on ${process.platform}`);
  const cores = os.availableParallelism();
  if (cores < 2) return off(`only ${cores} core available`);
  for (const cpus of [SERVER_CPUS, GENERATOR_CPUS]) {
    const probe = spawnSync('taskset', ['-c', cpus, 'true'], { stdio: 'ignore', timeout: 5_000 });
    if (probe.error) return off(`taskset unavailable: ${probe.error.message}`);
    if (probe.status !== 0) return off(`taskset -c ${cpus} failed (status ${probe.status})`);
  }
  return {
    applied: true,
    reason: `taskset -c ${SERVER_CPUS} for the server, -c ${GENERATOR_CPUS} for the generator`,
    serverCpus: SERVER_CPUS,
    generatorCpus: GENERATOR_CPUS,
  };
}

/** Wraps a command with `taskset -c <cpus>` when `cpus` is set. taskset execs, so the pid is kept. */
export function pinnedCommand(
  cpus: string | null,
  command: string,
  args: readonly string[],
): { command: string; args: string[] } {
  if (cpus === null) return { command, args: [...args] };
  return { command: 'taskset', args: ['-c', cpus, command, ...args] };
}
