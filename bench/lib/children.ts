import type { ChildProcess } from 'node:child_process';

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
