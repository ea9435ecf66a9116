/**
 * Registry of the real processes (and their temp dirs) that test helpers start.
 *
 * - `spawnManaged()` spawns a foreground child, keeps a tail of its stdout/stderr and gives it an
 *   idempotent `stop()` that signals the child and AWAITS its exit, so no unreaped child survives a suite.
 * - `registerCleanup()` lets helpers register their own teardown (stop child + remove temp dir).
 * - `stopAll()` runs every registered teardown. When Vitest globals are on, loading this module adds
 *   a file-level `afterAll(stopAll)`, so a suite that forgets `stop()` still cleans up.
 * - Last resort: on process exit every child still alive gets SIGKILL (synchronously, cannot await).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface StopOptions {
  /** First signal; default SIGTERM. */
  signal?: NodeJS.Signals;
  /** How long to wait after the first signal before SIGKILL; default 5 000 ms. */
  killAfterMs?: number;
}

export interface ManagedChild {
  readonly name: string;
  readonly pid: number;
  readonly process: ChildProcess;
  /** Resolves on the child's 'exit' event (the child has been reaped by then). */
  readonly exited: Promise<ExitInfo>;
  exitInfo(): ExitInfo | undefined;
  /** Tail of the combined stdout + stderr. */
  output(): string;
  /** Signal, wait, SIGKILL after a bound, await exit. Safe to call many times. */
  stop(options?: StopOptions): Promise<ExitInfo>;
}

export interface SpawnManagedOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Bytes of output kept for error messages; default 16 KiB. */
  tailBytes?: number;
  /** Shell line that installs the binary, used in the "not found" error. */
  installHint?: string;
}

interface Cleanup {
  name: string;
  run: () => Promise<unknown>;
}

const cleanups = new Map<symbol, Cleanup>();

// Shared across module instances (Vitest re-evaluates modules per test file in the same worker),
// so the exit hook below is installed once per process.
const LIVE_KEY = Symbol.for('steady.test.liveChildren');
const globalStore = globalThis as { [LIVE_KEY]?: Set<ChildProcess> };
const liveChildren: Set<ChildProcess> = globalStore[LIVE_KEY] ?? new Set<ChildProcess>();
if (globalStore[LIVE_KEY] === undefined) {
  globalStore[LIVE_KEY] = liveChildren;
  process.once('exit', () => {
    for (const child of liveChildren) {
      try {
        child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}

/** Registers a teardown for `stopAll()`; returns a function that unregisters it. */
export function registerCleanup(name: string, run: () => Promise<unknown>): () => void {
  const key = Symbol(name);
  cleanups.set(key, { name, run });
  return () => {
    cleanups.delete(key);
  };
}

/** Names of the teardowns still registered (for assertions and debugging). */
export function pendingCleanups(): string[] {
  return [...cleanups.values()].map((c) => c.name);
}

/** Pids of children spawned by the helpers that have not exited yet. */
export function liveChildPids(): number[] {
  return [...liveChildren].flatMap((c) => (c.pid === undefined ? [] : [c.pid]));
}

/** Runs every registered teardown (in parallel) and waits for all of them. */
export async function stopAll(): Promise<void> {
  const pending = [...cleanups.entries()];
  for (const [key] of pending) cleanups.delete(key);
  const results = await Promise.allSettled(pending.map(([, c]) => c.run()));
  const failures = results.flatMap((r, i) =>
    r.status === 'rejected' ? [`${pending[i]![1].name}: ${String(r.reason)}`] : [],
  );
  if (failures.length > 0) throw new Error(`stopAll: ${failures.join('; ')}`);
}

type HookFn = (fn: () => Promise<void>, timeout?: number) => void;
const globalAfterAll = (globalThis as { afterAll?: HookFn }).afterAll;
if (typeof globalAfterAll === 'function') {
  try {
    globalAfterAll(() => stopAll(), 30_000);
  } catch {
    // Imported outside test collection: callers must call stopAll()/stop() themselves.
  }
}

/** The error every helper throws when its binary is missing: it carries the install command. */
export class MissingBinaryError extends Error {
  constructor(
    readonly binary: string,
    readonly installHint: string,
    detail = '',
  ) {
    super(
      `${binary} not found${detail ? ` (${detail})` : ''}. ` +
        `Install it, then re-run the tests: ${installHint}`,
    );
    this.name = 'MissingBinaryError';
  }
}

const SBIN_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/**
 * Finds an executable: an explicit path, else `$PATH` plus the sbin dirs (haproxy lives in
 * /usr/sbin, which is not on a non-root user's PATH on Debian). Throws MissingBinaryError.
 */
export function resolveBinary(name: string, installHint: string, explicit?: string): string {
  if (explicit !== undefined && explicit !== '') {
    if (isAbsolute(explicit) || explicit.includes('/')) {
      if (isExecutable(explicit)) return explicit;
      throw new MissingBinaryError(explicit, installHint, 'not an executable file');
    }
    name = explicit;
  }
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...SBIN_DIRS];
  for (const dir of dirs) {
    const candidate = join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  throw new MissingBinaryError(name, installHint, `searched PATH and ${SBIN_DIRS.join(', ')}`);
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Spawns `command args` in the foreground (no shell, stdin ignored, stdout/stderr piped and drained),
 * resolves once the OS reports the spawn. The child is tracked until it exits.
 */
export async function spawnManaged(
  name: string,
  command: string,
  args: readonly string[],
  options: SpawnManagedOptions = {},
): Promise<ManagedChild> {
  const tailBytes = options.tailBytes ?? 16 * 1024;
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });

  let tail = '';
  const append = (chunk: Buffer): void => {
    tail += chunk.toString('utf8');
    if (tail.length > tailBytes) tail = tail.slice(tail.length - tailBytes);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);

  let exit: ExitInfo | undefined;
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      liveChildren.delete(child);
      resolve(exit);
    });
  });
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));

  await new Promise<void>((resolve, reject) => {
    child.once('spawn', () => resolve());
    child.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'EACCES') {
        reject(
          new MissingBinaryError(command, options.installHint ?? `install ${command}`, err.code),
        );
      } else {
        reject(err);
      }
    });
  });
  // Later 'error' events (e.g. a failed kill) must not crash the test process.
  child.on('error', () => undefined);
  if (child.pid === undefined) throw new Error(`${name}: spawn reported no pid`);
  const pid = child.pid;
  liveChildren.add(child);

  let stopping: Promise<ExitInfo> | undefined;
  let unregister: () => void = () => undefined;

  const managed: ManagedChild = {
    name,
    pid,
    process: child,
    exited,
    exitInfo: () => exit,
    output: () => tail,
    stop(stopOptions: StopOptions = {}) {
      stopping ??= (async () => {
        unregister();
        if (exit === undefined) {
          child.kill(stopOptions.signal ?? 'SIGTERM');
          const first = await withTimeout(exited, stopOptions.killAfterMs ?? 5_000);
          if (first === 'timeout') child.kill('SIGKILL');
        }
        const info = await exited;
        // 'close' follows once stdio is drained; bounded in case a grandchild holds the pipes.
        await withTimeout(closed, 2_000);
        return info;
      })();
      return stopping;
    },
  };
  unregister = registerCleanup(`${name} (pid ${pid})`, () => managed.stop());
  return managed;
}

/** Last `lines` lines of a child's output, indented, for error messages. */
export function outputTail(child: ManagedChild, lines = 30): string {
  const text = child.output().trimEnd();
  if (text === '') return '  (no output)';
  return text
    .split('\n')
    .slice(-lines)
    .map((l) => `  | ${l}`)
    .join('\n');
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
