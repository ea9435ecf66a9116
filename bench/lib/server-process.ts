import { spawn, type ChildProcess } from 'node:child_process';
import * as http from 'node:http';
import * as net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { track, waitForExit } from './children';
import { ALLOWED_HOST } from './host';
import { pinnedCommand } from './pinning';

/** How to start the server under test. It must listen on env PORT / HOST. */
export interface ServerSpec {
  /** JS entry file run with the current `node`. */
  entry: string;
  args?: string[];
  /** Extra env; PORT and HOST are set by the rig. */
  env?: Record<string, string>;
  /** Polled with GET until it answers 200. Default `/metrics`. */
  readyPath?: string;
  readyTimeoutMs?: number;
  /** SIGTERM, then SIGKILL after this long. */
  stopTimeoutMs?: number;
}

export interface RunningServer {
  pid: number;
  port: number;
  /** `http://127.0.0.1:<port>` */
  origin: string;
  pinnedCpus: string | null;
  startupMs: number;
  /** Last lines the server printed (stdout and stderr interleaved). */
  output(): string;
  /** SIGTERM, await exit; SIGKILL after stopTimeoutMs. Idempotent. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null; killed: boolean }>;
}

const OUTPUT_TAIL = 8_000;

/** A free TCP port on 127.0.0.1 (bound and released; the tiny race is acceptable for a bench). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, ALLOWED_HOST, () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** One HTTP request to 127.0.0.1 with a timeout; resolves with status and body. */
export function httpRequest(
  port: number,
  method: string,
  path: string,
  body?: unknown,
  timeoutMs = 2_000,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      {
        host: ALLOWED_HOST,
        port,
        method,
        path,
        agent: false,
        headers:
          payload === undefined
            ? {}
            : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on('error', reject);
    req.end(payload);
  });
}

export async function startServer(spec: ServerSpec, cpus: string | null): Promise<RunningServer> {
  const port = await freePort();
  const readyPath = spec.readyPath ?? '/metrics';
  const readyTimeoutMs = spec.readyTimeoutMs ?? 30_000;
  const stopTimeoutMs = spec.stopTimeoutMs ?? 5_000;
  const { command, args } = pinnedCommand(cpus, process.execPath, [
    spec.entry,
    ...(spec.args ?? []),
  ]);
  const started = performance.now();
  const child: ChildProcess = track(
    spawn(command, args, {
      env: { ...process.env, ...spec.env, PORT: String(port), HOST: ALLOWED_HOST },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  let tail = '';
  const collect = (chunk: Buffer): void => {
    tail = (tail + chunk.toString('utf8')).slice(-OUTPUT_TAIL);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  let spawnError: Error | undefined;
  child.once('error', (err) => (spawnError = err));

  let stopping: ReturnType<RunningServer['stop']> | undefined;
  const stop: RunningServer['stop'] = () => {
    stopping ??= (async () => {
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) {
        return { code: child.exitCode, signal: child.signalCode, killed: false };
      }
      child.kill('SIGTERM');
      const exited = waitForExit(child);
      const timedOut = await Promise.race([
        exited.then(() => false),
        sleep(stopTimeoutMs, true, { ref: false }),
      ]);
      if (timedOut) child.kill('SIGKILL');
      const res = await exited;
      return { ...res, killed: timedOut };
    })();
    return stopping;
  };

  const deadline = performance.now() + readyTimeoutMs;
  for (let attempt = 0; ; attempt++) {
    if (spawnError) throw new Error(`server failed to spawn: ${spawnError.message}`);
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `server exited before ready (code ${child.exitCode}, signal ${child.signalCode}):\n${tail}`,
      );
    }
    if (performance.now() > deadline) {
      await stop();
      throw new Error(`server not ready on ${readyPath} within ${readyTimeoutMs} ms:\n${tail}`);
    }
    try {
      const res = await httpRequest(port, 'GET', readyPath, undefined, 1_000);
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    await sleep(attempt < 20 ? 50 : 200);
  }
  return {
    pid: child.pid as number,
    port,
    origin: `http://${ALLOWED_HOST}:${port}`,
    pinnedCpus: cpus,
    startupMs: Math.round(performance.now() - started),
    output: () => tail,
    stop,
  };
}
