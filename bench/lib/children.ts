import { spawn, type ChildProcess } from 'node:child_process';
import { pinnedCommand } from './pinning';

/**
 * Every child the rig spawns is registered here, so that whatever way the bench ends (normal
 * exit, exception, Ctrl-C, overall timeout) none is left behind.
 */
const live = new Set<ChildProcess>();
let installed = false;

export function track(child: ChildProcess): ChildProcess {
  live.add(child);
  child.once('exit', () => live.delete(child));
  installCleanup();
  return child;
}

export function liveChildren(): number {
  return live.size;
}

/** SIGKILLs every tracked child that is still running (synchronous, safe in an exit handler). */
export function killAllChildren(): void {
  for (const child of live) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

function installCleanup(): void {
  if (installed) return;
  installed = true;
  process.once('exit', killAllChildren);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      killAllChildren();
      process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1));
    });
  }
}

/** Resolves when the child has exited (immediately if it already has). */
export function waitForExit(
  child: ChildProcess,
): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    // A child that failed to spawn may never emit 'exit'.
    child.once('error', () => {
      if (child.pid === undefined) resolve({ code: null, signal: null });
    });
  });
}

/**
 * Runs a compiled bench CLI (`node <cliPath> <config as JSON>`) in its own process, pinned when `cpus` is set, and
 * returns the JSON object it printed as its last stdout line. `what` names it in errors; the child is SIGKILLed
 * once it outlives `boundMs`.
 */
export async function runJsonCli<T>(
  what: string,
  cliPath: string,
  config: unknown,
  cpus: string | null,
  boundMs: number,
): Promise<T> {
  const { command, args } = pinnedCommand(cpus, process.execPath, [
    cliPath,
    JSON.stringify(config),
  ]);
  const child = track(spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] }));
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  child.stderr?.on('data', (c: Buffer) => (stderr = (stderr + c.toString('utf8')).slice(-4_000)));
  let spawnError: Error | undefined;
  child.once('error', (err) => (spawnError = err));
  const killer = setTimeout(() => child.kill('SIGKILL'), boundMs);
  // 'close' (not 'exit') so that all of stdout has been read.
  const { code, signal } = await new Promise<{ code: number | null; signal: string | null }>(
    (resolve) => {
      child.once('close', (c, s) => resolve({ code: c, signal: s }));
      child.once('error', () => {
        if (child.pid === undefined) resolve({ code: null, signal: null });
      });
    },
  );
  clearTimeout(killer);
  if (spawnError) throw new Error(`${what} failed to spawn: ${spawnError.message}`);
  if (code !== 0) {
    throw new Error(`${what} exited with code ${code} signal ${signal}: ${stderr.trim()}`);
  }
  const line = stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as T;
  } catch {
    throw new Error(`${what} printed no JSON result: ${stdout.slice(0, 500)} ${stderr}`);
  }
}
