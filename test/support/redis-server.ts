/**
 * Starts a real, throw-away `redis-server` as a foreground child process on a free loopback port:
 *
 *   redis-server --bind 127.0.0.1 --port <p> --save '' --appendonly no --daemonize no --dir <tmp>
 *
 * Waits until PING answers PONG *and* INFO reports the child's own pid (so a packaged Redis on the
 * same port can never satisfy the check). Missing binary → MissingBinaryError with the install line.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  outputTail,
  registerCleanup,
  resolveBinary,
  sleep,
  spawnManaged,
  type ExitInfo,
  type ManagedChild,
} from './children';
import { getFreePort, LOOPBACK } from './free-port';
import { sendCommand, type RespArg, type RespValue } from './resp';

export const REDIS_INSTALL_HINT = 'apt-get update && apt-get install -y redis-server';

export interface RedisServerOptions {
  /** Fixed port; default: a free one (then a port-in-use race is retried once). */
  port?: number;
  /** Binary name or path; default `$REDIS_SERVER_BIN` or `redis-server`. */
  binary?: string;
  /** Extra `--name value` arguments appended to the command line. */
  extraArgs?: string[];
  /** Readiness deadline; default 10 000 ms. */
  startTimeoutMs?: number;
}

export interface RedisServerHandle {
  host: string;
  port: number;
  url: string;
  pid: number;
  /** Sends one command on a fresh connection; resolves with the parsed reply. */
  command(...args: RespArg[]): Promise<RespValue>;
  /** Stops the child (SIGTERM, SIGKILL after 5 s), awaits its exit, removes its dir. Idempotent. */
  stop(): Promise<ExitInfo>;
  /** Tail of the server's stdout/stderr. */
  output(): string;
  readonly child: ManagedChild;
}

const ADDRESS_IN_USE = /address already in use|could not create server tcp listening socket/i;

export async function startRedisServer(
  options: RedisServerOptions = {},
): Promise<RedisServerHandle> {
  const binary = resolveBinary(
    'redis-server',
    REDIS_INSTALL_HINT,
    options.binary ?? process.env.REDIS_SERVER_BIN,
  );
  const attempts = options.port === undefined ? 2 : 1;
  let lastError: Error | undefined;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const port = options.port ?? (await getFreePort());
    try {
      return await startOnce(binary, port, options);
    } catch (err) {
      lastError = err as Error;
      if (!(err instanceof PortInUseError)) throw err;
    }
  }
  throw lastError ?? new Error('redis-server did not start');
}

class PortInUseError extends Error {}

async function startOnce(
  binary: string,
  port: number,
  options: RedisServerOptions,
): Promise<RedisServerHandle> {
  const dir = await mkdtemp(join(tmpdir(), 'steady-redis-'));
  const args = [
    '--bind',
    LOOPBACK,
    '--port',
    String(port),
    '--save',
    '',
    '--appendonly',
    'no',
    '--daemonize',
    'no',
    '--dir',
    dir,
    ...(options.extraArgs ?? []),
  ];
  let child: ManagedChild;
  try {
    child = await spawnManaged('redis-server', binary, args, { installHint: REDIS_INSTALL_HINT });
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }

  let stopping: Promise<ExitInfo> | undefined;
  const stop = (): Promise<ExitInfo> => {
    stopping ??= (async () => {
      unregister();
      const info = await child.stop();
      await rm(dir, { recursive: true, force: true });
      return info;
    })();
    return stopping;
  };
  const unregister = registerCleanup(`redis-server :${port}`, stop);

  try {
    await waitUntilReady(child, port, options.startTimeoutMs ?? 10_000);
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    host: LOOPBACK,
    port,
    url: `redis://${LOOPBACK}:${port}`,
    pid: child.pid,
    command: (...cmd: RespArg[]) => sendCommand({ port }, cmd),
    stop,
    output: () => child.output(),
    child,
  };
}

async function waitUntilReady(child: ManagedChild, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastProbe = 'no probe yet';
  while (Date.now() < deadline) {
    const exit = child.exitInfo();
    if (exit !== undefined) {
      const message =
        `redis-server on 127.0.0.1:${port} exited early ` +
        `(code ${exit.code}, signal ${exit.signal}). Output tail:\n${outputTail(child)}`;
      throw ADDRESS_IN_USE.test(child.output()) ? new PortInUseError(message) : new Error(message);
    }
    try {
      const pong = await sendCommand({ port, timeoutMs: 500 }, ['PING']);
      if (pong === 'PONG') {
        const info = await sendCommand({ port, timeoutMs: 500 }, ['INFO', 'server']);
        const pid = typeof info === 'string' ? /process_id:(\d+)/.exec(info)?.[1] : undefined;
        if (pid === String(child.pid)) return;
        throw new PortInUseError(
          `127.0.0.1:${port} answers PONG but from pid ${pid ?? '?'}, not our child ${child.pid}`,
        );
      }
      lastProbe = `PING answered ${JSON.stringify(pong)}`;
    } catch (err) {
      if (err instanceof PortInUseError) throw err;
      lastProbe = (err as Error).message;
    }
    await sleep(25);
  }
  throw new Error(
    `redis-server on 127.0.0.1:${port} did not answer PONG within ${timeoutMs} ms ` +
      `(last probe: ${lastProbe}). Output tail:\n${outputTail(child)}`,
  );
}
