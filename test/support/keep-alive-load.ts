/**
 * HTTP helpers for drain tests: one request on a chosen agent, and a bounded closed-loop load of N keep-alive
 * clients (each its own `http.Agent` with one socket, so N long-lived connections) that counts every non-expected
 * status and every socket error by code. Loopback only.
 */
import { Agent, request, type IncomingHttpHeaders } from 'node:http';

export interface HttpResult {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** The request went out on a kept-alive socket. */
  reusedSocket: boolean;
}

export interface HttpRequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** Default: a fresh connection (`agent: false`). */
  agent?: Agent | false;
  timeoutMs?: number;
}

/** One request; rejects on a socket error (its `code` is kept) or after `timeoutMs` (default 5 s). */
export function httpRequest(url: string, options: HttpRequestOptions = {}): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: options.method ?? 'GET',
        headers: options.headers,
        agent: options.agent ?? false,
        timeout: options.timeoutMs ?? 5_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
            reusedSocket: req.reusedSocket,
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () =>
      req.destroy(Object.assign(new Error(`${url} timed out`), { code: 'TIMEOUT' })),
    );
    req.on('error', (err) => reject(Object.assign(err, { reusedSocket: req.reusedSocket })));
    req.end(options.body);
  });
}

export interface LoadResult {
  /** Requests answered with the expected status. */
  ok: number;
  /** Other statuses, by status. */
  unexpected: Record<number, number>;
  /** Socket errors and timeouts, by error code. */
  errors: Record<string, number>;
  /** Total requests sent. */
  total: number;
  /** `ok` answers per `x-served-by`-like header value (see `tagHeader`), to show both backends served. */
  byTag: Record<string, number>;
  /** The first failures: ms since the load started, status or error code, and whether the socket was reused. */
  samples: { atMs: number; what: string; reusedSocket: boolean }[];
}

export interface LoadOptions {
  url: string;
  /** Concurrent keep-alive clients. Default 16. */
  clients?: number;
  /** How long to keep sending (bounded). */
  durationMs: number;
  /** Default 200. */
  expectStatus?: number;
  /** Pause between a client's requests, ms. Default 0. */
  pauseMs?: number;
  /** Response header whose value is tallied in `byTag`. */
  tagHeader?: string;
  /** Per-request timeout. Default 5 s. */
  timeoutMs?: number;
}

/**
 * Runs `clients` sequential loops of GET `url` for `durationMs` (each loop on its own keep-alive connection, which
 * it reopens when the server closes it), then waits for the last requests. Never throws for a failed request: it
 * counts it.
 */
export async function runKeepAliveLoad(options: LoadOptions): Promise<LoadResult> {
  const clients = options.clients ?? 16;
  const expect = options.expectStatus ?? 200;
  const result: LoadResult = {
    ok: 0,
    unexpected: {},
    errors: {},
    total: 0,
    byTag: {},
    samples: [],
  };
  const startedAt = performance.now();
  const stopAt = startedAt + options.durationMs;
  const sample = (what: string, reusedSocket: boolean) => {
    if (result.samples.length < 20) {
      result.samples.push({ atMs: Math.round(performance.now() - startedAt), what, reusedSocket });
    }
  };
  const loop = async (): Promise<void> => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      while (performance.now() < stopAt) {
        result.total++;
        try {
          const r = await httpRequest(options.url, { agent, timeoutMs: options.timeoutMs });
          if (r.status !== expect) sample(String(r.status), r.reusedSocket);
          if (r.status === expect) {
            result.ok++;
            const tag = options.tagHeader ? String(r.headers[options.tagHeader] ?? '-') : '-';
            result.byTag[tag] = (result.byTag[tag] ?? 0) + 1;
          } else {
            result.unexpected[r.status] = (result.unexpected[r.status] ?? 0) + 1;
          }
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
          result.errors[code] = (result.errors[code] ?? 0) + 1;
          sample(code, (err as { reusedSocket?: boolean }).reusedSocket === true);
        }
        if (options.pauseMs) await new Promise((r) => setTimeout(r, options.pauseMs));
      }
    } finally {
      agent.destroy();
    }
  };
  await Promise.all(Array.from({ length: clients }, loop));
  return result;
}

/** Total failures of a load result: unexpected statuses plus socket errors. */
export function failures(r: LoadResult): number {
  const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);
  return sum(r.unexpected) + sum(r.errors);
}
