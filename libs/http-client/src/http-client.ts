import type { MetricsSink, SteadyHistogram } from '@steady/core';
import { mirrorCounter } from '@steady/core';
import { Agent, Dispatcher } from 'undici';
import type { HeaderRecord } from './cache-control';
import {
  HttpCache,
  type BufferedResponse,
  type CacheRequest,
  type CacheStatus,
  type CachedResult,
} from './http-cache';
import type { HttpCacheStore } from './http-cache-store.interface';
import { HttpClientError } from './http-client.error';
import type { ResolvedHttpClientOptions } from './http-client-options.validation';

/** Options of one request. @publicApi */
export interface HttpRequestOptions {
  method?: string;
  /** Request headers (names are case-insensitive; arrays send repeated lines). */
  headers?: Record<string, string | string[] | undefined> | Iterable<readonly [string, string]>;
  body?: string | Buffer | Uint8Array;
  /** Overrides the client's `timeoutMs`. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** A buffered response. @publicApi */
export interface HttpClientResponse {
  readonly status: number;
  readonly statusText: string;
  /** Lower-case names; repeated fields as arrays. */
  readonly headers: HeaderRecord;
  readonly body: Buffer;
  /** HIT, MISS, REVALIDATED, STALE, ERROR (served stale after an origin failure is STALE), or BYPASS (not cacheable). */
  readonly cacheStatus: CacheStatus;
  text(): string;
  json<T = unknown>(): T;
}

type CacheLabel = 'hit' | 'miss' | 'revalidated' | 'stale' | 'error' | 'bypass';

/**
 * An outbound HTTP client on undici 7 with an RFC 9111 cache (see {@link HttpClientModule}). `request()`, `get()`
 * and `json()` return buffered responses; {@link HttpClient.dispatcher} is the same cache as an undici dispatcher
 * for `fetch` / `setGlobalDispatcher`.
 *
 * @example
 * const res = await client.get('https://directory.internal/users/42');
 * res.cacheStatus; // 'HIT' | 'MISS' | ...
 * const user = await client.json<User>('/users/42');
 * await fetch(url, { dispatcher: client.dispatcher });
 *
 * @publicApi
 */
export class HttpClient {
  readonly name: string;
  protected readonly agent: Dispatcher;
  protected readonly cache?: HttpCache;
  private readonly ownsAgent: boolean;
  private readonly counts = new Map<CacheLabel, number>();
  private readonly storeErrors = new Map<string, number>();
  private coalescedCount = 0;
  private readonly originDuration?: SteadyHistogram;
  private dispatcherInstance?: Dispatcher;
  private closed = false;

  constructor(
    protected readonly options: ResolvedHttpClientOptions,
    protected readonly store?: HttpCacheStore,
    metrics?: MetricsSink,
    /** Close the store with the client (false for a store the app provided). */
    private readonly ownsStore = true,
  ) {
    this.name = options.name;
    this.ownsAgent = options.dispatcher === undefined;
    this.agent =
      options.dispatcher ??
      new Agent({
        connections: options.connections,
        headersTimeout: options.headersTimeoutMs,
        bodyTimeout: options.bodyTimeoutMs,
      });
    if (options.cache && store) {
      this.cache = new HttpCache(
        store,
        { ...options.cache, maxEntrySize: options.cache.maxEntrySize },
        {
          storeError: (op) => this.storeErrors.set(op, (this.storeErrors.get(op) ?? 0) + 1),
          coalesced: () => this.coalescedCount++,
          backgroundRevalidation: () => undefined,
        },
      );
    }
    const client = this.name;
    mirrorCounter(
      metrics,
      {
        name: 'http_client_requests_total',
        help: 'Outbound requests by cache outcome',
        labelNames: ['client', 'cache'],
      },
      () => [...this.counts].map(([cache, n]) => [{ client, cache }, n] as const),
    );
    mirrorCounter(
      metrics,
      {
        name: 'http_client_coalesced_requests_total',
        help: "Requests answered by another caller's in-flight origin request",
        labelNames: ['client'],
      },
      () => [[{ client }, this.coalescedCount] as const],
    );
    mirrorCounter(
      metrics,
      {
        name: 'http_client_store_errors_total',
        help: 'Cache store operations that failed (served as a miss)',
        labelNames: ['client', 'op'],
      },
      () => [...this.storeErrors].map(([op, n]) => [{ client, op }, n] as const),
    );
    this.originDuration = metrics?.histogram({
      name: 'http_client_origin_duration_seconds',
      help: 'Origin (downstream) round trips, headers and body',
      labelNames: ['client'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    });
  }

  /** Counts by cache outcome since start (the metric's source). */
  get stats(): {
    requests: Record<CacheLabel, number>;
    coalesced: number;
    storeErrors: Record<string, number>;
  } {
    const requests = { hit: 0, miss: 0, revalidated: 0, stale: 0, error: 0, bypass: 0 };
    for (const [k, n] of this.counts) requests[k] = n;
    return {
      requests,
      coalesced: this.coalescedCount,
      storeErrors: Object.fromEntries(this.storeErrors),
    };
  }

  async request(url: string | URL, init: HttpRequestOptions = {}): Promise<HttpClientResponse> {
    const req = this.toCacheRequest(url, init);
    const result = await this.execute(req, init);
    return toResponse(result);
  }

  get(
    url: string | URL,
    init: Omit<HttpRequestOptions, 'method' | 'body'> = {},
  ): Promise<HttpClientResponse> {
    return this.request(url, { ...init, method: 'GET' });
  }

  /** GET and parse JSON; a non-2xx status throws an {@link HttpClientError} of kind `status`. */
  async json<T = unknown>(url: string | URL, init: HttpRequestOptions = {}): Promise<T> {
    const res = await this.request(url, { method: 'GET', ...init });
    if (res.status < 200 || res.status >= 300) {
      throw new HttpClientError(
        'status',
        init.method ?? 'GET',
        this.resolve(url).href,
        `HTTP ${res.status}`,
        { status: res.status },
      );
    }
    return res.json<T>();
  }

  /** Removes every stored response of `url`. */
  async invalidate(url: string | URL): Promise<void> {
    await this.cache?.invalidate(this.resolve(url));
  }

  /** @internal the dispatcher's invalidation after an unsafe method (never throws). */
  invalidateAfter(url: URL, headers: HeaderRecord): void {
    if (!this.cache) return;
    const res = { status: 200, statusText: '', headers, body: Buffer.alloc(0) };
    void this.cache.invalidate(url, res).catch(() => undefined);
  }

  /**
   * The client as an undici dispatcher: `fetch(url, { dispatcher: client.dispatcher })` or
   * `setGlobalDispatcher(client.dispatcher)`. GET/HEAD go through the cache; other methods pass through and
   * invalidate on success. Revalidation is done here, below `fetch`, so `fetch` never adds `Cache-Control: no-cache`.
   */
  get dispatcher(): Dispatcher {
    this.dispatcherInstance ??= createCachingDispatcher(this);
    return this.dispatcherInstance;
  }

  /** Nest lifecycle: closes the agent (if the client created it) and the store's connections. */
  async onModuleDestroy(): Promise<void> {
    await this.close();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.ownsAgent) await this.agent.close();
    if (this.ownsStore) await this.store?.close?.();
  }

  /** @internal the dispatcher's entry point */
  async executeRaw(req: CacheRequest, init: HttpRequestOptions): Promise<CachedResult> {
    return this.execute(req, init);
  }

  /** @internal */
  get originDispatcher(): Dispatcher {
    return this.agent;
  }

  protected async execute(req: CacheRequest, init: HttpRequestOptions): Promise<CachedResult> {
    const origin = (r: CacheRequest) => this.fetchOrigin(r, init);
    let result: CachedResult;
    try {
      const pending = this.cache
        ? this.cache.handle(req, origin)
        : origin(req).then((r): CachedResult => ({ ...r, cacheStatus: 'BYPASS' }));
      // A request that joined another caller's origin request (coalescing) still ends at its own abort.
      result = init.signal ? await abortable(pending, init.signal, req) : await pending;
    } catch (err) {
      this.count('error');
      throw err;
    }
    this.count(result.cacheStatus.toLowerCase() as CacheLabel);
    if (this.options.cache && this.options.cache.cacheStatusHeader) {
      result = {
        ...result,
        headers: { ...result.headers, 'cache-status': cacheStatusField(result) },
      };
    }
    return result;
  }

  private count(label: CacheLabel): void {
    this.counts.set(label, (this.counts.get(label) ?? 0) + 1);
  }

  protected resolve(url: string | URL): URL {
    if (url instanceof URL) return url;
    try {
      return this.options.baseUrl ? new URL(url, this.options.baseUrl) : new URL(url);
    } catch (err) {
      throw new HttpClientError('network', 'GET', String(url), 'invalid URL', {
        cause: err,
        code: 'ERR_INVALID_URL',
      });
    }
  }

  protected toCacheRequest(url: string | URL, init: HttpRequestOptions): CacheRequest {
    const headers: HeaderRecord = { ...this.options.headers };
    const h = init.headers;
    if (h) {
      const entries: Iterable<readonly [string, string | string[] | undefined]> =
        Symbol.iterator in h ? (h as Iterable<readonly [string, string]>) : Object.entries(h);
      for (const [k, val] of entries) {
        if (val === undefined) continue;
        const name = k.toLowerCase();
        const prev = headers[name];
        if (prev !== undefined && Symbol.iterator in h) {
          headers[name] = ([] as string[]).concat(prev, val);
        } else headers[name] = val;
      }
    }
    const body =
      init.body === undefined
        ? undefined
        : typeof init.body === 'string'
          ? init.body
          : Buffer.from(init.body);
    return { method: (init.method ?? 'GET').toUpperCase(), url: this.resolve(url), headers, body };
  }

  /** One origin round trip, buffered, with timeout, optional retries and a typed error. */
  protected async fetchOrigin(
    req: CacheRequest,
    init: HttpRequestOptions,
  ): Promise<BufferedResponse> {
    const idempotent = ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE'].includes(req.method);
    const attempts = 1 + (idempotent ? this.options.retries : 0);
    let lastError: unknown;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        return await this.fetchOnce(req, init);
      } catch (err) {
        lastError = err;
        if (err instanceof HttpClientError && err.kind === 'aborted') throw err;
        if (attempt < attempts && this.options.retryDelayMs > 0) {
          await new Promise((r) => setTimeout(r, this.options.retryDelayMs));
        }
      }
    }
    throw lastError;
  }

  private async fetchOnce(req: CacheRequest, init: HttpRequestOptions): Promise<BufferedResponse> {
    const timeoutMs = init.timeoutMs ?? this.options.timeoutMs;
    // One controller per attempt, a clearable timer, and at most one listener per caller signal (linkSignal):
    // AbortSignal.timeout() keeps its timer until it fires, AbortSignal.any() leaves a listener on a long-lived
    // caller signal per request, and one listener per in-flight request passes Node's limit of 10 at once.
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort(new Error(`timeout after ${timeoutMs} ms`));
    }, timeoutMs);
    const user = init.signal;
    const unlink = user ? linkSignal(user, controller) : undefined;
    const started = performance.now();
    try {
      const res = await this.agent.request({
        origin: req.url.origin,
        path: req.url.pathname + req.url.search,
        method: req.method as Dispatcher.HttpMethod,
        headers: req.headers as Record<string, string | string[]>,
        body: req.body,
        signal: controller.signal,
      });
      // No body for HEAD, 1xx, 204, 304 (a 304 may carry the Content-Length of the selected representation).
      const bodyless =
        req.method === 'HEAD' ||
        res.statusCode === 204 ||
        res.statusCode === 304 ||
        res.statusCode < 200;
      const body = bodyless
        ? (await res.body.dump().catch(() => undefined), Buffer.alloc(0))
        : Buffer.from(await res.body.arrayBuffer());
      this.originDuration?.observe({ client: this.name }, (performance.now() - started) / 1000);
      return {
        status: res.statusCode,
        statusText: res.statusText ?? '',
        headers: res.headers as HeaderRecord,
        body,
      };
    } catch (err) {
      this.originDuration?.observe({ client: this.name }, (performance.now() - started) / 1000);
      throw this.toError(req, err, timedOut, timeoutMs, user);
    } finally {
      clearTimeout(timer);
      unlink?.();
    }
  }

  private toError(
    req: CacheRequest,
    err: unknown,
    timedOut: boolean,
    timeoutMs: number,
    user?: AbortSignal,
  ): HttpClientError {
    const e = err as { code?: string; message?: string; name?: string };
    const url = req.url.href;
    if (user?.aborted) {
      return new HttpClientError('aborted', req.method, url, 'aborted by the caller', {
        cause: err,
        code: 'ABORT_ERR',
      });
    }
    if (timedOut) {
      return new HttpClientError(
        'timeout',
        req.method,
        url,
        `no complete response within ${timeoutMs} ms`,
        {
          cause: err,
          code: 'ETIMEDOUT',
        },
      );
    }
    if (e.code === 'UND_ERR_HEADERS_TIMEOUT' || e.code === 'UND_ERR_BODY_TIMEOUT') {
      return new HttpClientError('timeout', req.method, url, e.message ?? e.code, {
        cause: err,
        code: e.code,
      });
    }
    const cause = (err as { cause?: { code?: string } }).cause;
    const code = e.code ?? cause?.code;
    return new HttpClientError(
      'network',
      req.method,
      url,
      `${code ?? e.name ?? 'error'}: ${e.message ?? String(err)}`,
      { cause: err, code },
    );
  }
}

function toResponse(r: CachedResult): HttpClientResponse {
  return {
    status: r.status,
    statusText: r.statusText,
    headers: r.headers,
    body: r.body,
    cacheStatus: r.cacheStatus,
    text: () => r.body.toString('utf8'),
    json: <T>() => JSON.parse(r.body.toString('utf8')) as T,
  };
}

/** RFC 9211 Cache-Status member for this cache. */
function cacheStatusField(r: CachedResult): string {
  switch (r.cacheStatus) {
    case 'HIT':
      return 'steady; hit';
    case 'STALE':
      return 'steady; hit; detail=stale';
    case 'REVALIDATED':
      return 'steady; fwd=stale; fwd-status=304';
    case 'BYPASS':
      return 'steady; fwd=bypass';
    case 'ERROR':
      return 'steady; fwd=stale; detail=origin-unreachable';
    default:
      return r.coalesced ? 'steady; fwd=miss; collapsed' : 'steady; fwd=miss';
  }
}

/** `promise`, or an `aborted` HttpClientError as soon as `signal` aborts (one listener per signal, removed after). */
function abortable<T>(promise: Promise<T>, signal: AbortSignal, req: CacheRequest): Promise<T> {
  const aborted = () =>
    new HttpClientError('aborted', req.method, req.url.href, 'aborted by the caller', {
      cause: signal.reason,
      code: 'ABORT_ERR',
    });
  if (signal.aborted) {
    promise.catch(() => undefined);
    return Promise.reject(aborted());
  }
  return new Promise<T>((resolve, reject) => {
    const controller = new AbortController();
    const unlink = linkSignal(signal, controller);
    const onAbort = () => {
      promise.catch(() => undefined);
      reject(aborted());
    };
    controller.signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        unlink();
        controller.signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        unlink();
        controller.signal.removeEventListener('abort', onAbort);
        reject(e as Error);
      },
    );
  });
}

/** Caller signal → controllers of the in-flight attempts it should abort: one 'abort' listener per signal. */
const linked = new WeakMap<AbortSignal, Set<AbortController>>();

function linkSignal(signal: AbortSignal, controller: AbortController): () => void {
  if (signal.aborted) {
    controller.abort(signal.reason);
    return () => undefined;
  }
  let set = linked.get(signal);
  if (!set) {
    const members = new Set<AbortController>();
    set = members;
    linked.set(signal, members);
    const onAbort = () => {
      for (const c of members) c.abort(signal.reason);
      members.clear();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    (members as Set<AbortController> & { off?: () => void }).off = () =>
      signal.removeEventListener('abort', onAbort);
  }
  set.add(controller);
  const members = set as Set<AbortController> & { off?: () => void };
  return () => {
    members.delete(controller);
    if (members.size === 0 && linked.get(signal) === members) {
      members.off?.();
      linked.delete(signal);
    }
  };
}

// ---- dispatcher -------------------------------------------------------------------------------------------

interface NewHandler {
  onRequestStart?(controller: unknown, context: unknown): void;
  onResponseStart?(
    controller: unknown,
    status: number,
    headers: HeaderRecord,
    statusText: string,
  ): void;
  onResponseData?(controller: unknown, chunk: Buffer): void;
  onResponseEnd?(controller: unknown, trailers: Record<string, string>): void;
  onResponseError?(controller: unknown, err: Error): void;
}

function createCachingDispatcher(client: HttpClient): Dispatcher {
  const interceptor =
    (dispatch: Dispatcher['dispatch']): Dispatcher['dispatch'] =>
    (opts, handler) => {
      const method = (opts.method ?? 'GET').toUpperCase();
      if (opts.upgrade || !opts.origin) return dispatch(opts, handler);
      if (method !== 'GET' && method !== 'HEAD') {
        // Passed through; a 2xx/3xx to an unsafe method invalidates the URL (and same-origin Location /
        // Content-Location) as soon as its status is known, before fetch() resolves.
        if (SAFE.has(method)) return dispatch(opts, handler);
        const url = new URL(opts.path, String(opts.origin));
        return dispatch(
          opts,
          invalidatingHandler(handler as NewHandler, (status, headers) => {
            if (status >= 200 && status < 400) client.invalidateAfter(url, headers);
          }) as unknown as Dispatcher.DispatchHandler,
        );
      }
      if (opts.body != null && typeof opts.body !== 'string' && !Buffer.isBuffer(opts.body)) {
        return dispatch(opts, handler);
      }
      const h = handler as NewHandler;
      const controller = {
        aborted: false,
        paused: false,
        reason: null as unknown,
        abort(reason: unknown) {
          this.aborted = true;
          this.reason = reason;
        },
        pause() {
          this.paused = true;
        },
        resume() {
          this.paused = false;
        },
      };
      const url = new URL(opts.path, String(opts.origin));
      const headers = normalizeDispatchHeaders(opts.headers);
      const req: CacheRequest = {
        method,
        url,
        headers,
        body: opts.body == null ? undefined : (opts.body as string | Buffer),
      };
      const signal = (opts as { signal?: AbortSignal }).signal ?? undefined;
      try {
        h.onRequestStart?.(controller, {});
      } catch (err) {
        h.onResponseError?.(controller, err as Error);
        return true;
      }
      client.executeRaw(req, { signal }).then(
        (res) => {
          if (controller.aborted) {
            h.onResponseError?.(controller, (controller.reason as Error) ?? new Error('aborted'));
            return;
          }
          try {
            h.onResponseStart?.(controller, res.status, res.headers, res.statusText);
            if (!controller.aborted && res.body.length > 0)
              h.onResponseData?.(controller, res.body);
            if (!controller.aborted) h.onResponseEnd?.(controller, {});
            else
              h.onResponseError?.(controller, (controller.reason as Error) ?? new Error('aborted'));
          } catch (err) {
            h.onResponseError?.(controller, err as Error);
          }
        },
        (err: Error) => h.onResponseError?.(controller, err),
      );
      return true;
    };
  return client.originDispatcher.compose(interceptor);
}

const SAFE = new Set(['OPTIONS', 'TRACE']);

/** Delegates every callback to `inner`; reports the response status and headers first. */
function invalidatingHandler(
  inner: NewHandler,
  onStatus: (status: number, headers: HeaderRecord) => void,
): object {
  return {
    onRequestStart: (c: unknown, ctx: unknown) => inner.onRequestStart?.(c, ctx),
    onRequestUpgrade: (c: unknown, status: number, headers: HeaderRecord, socket: unknown) =>
      (inner as { onRequestUpgrade?: (...a: unknown[]) => void }).onRequestUpgrade?.(
        c,
        status,
        headers,
        socket,
      ),
    onResponseStart: (c: unknown, status: number, headers: HeaderRecord, statusText: string) => {
      try {
        onStatus(status, headers);
      } catch {
        /* invalidation never fails the response */
      }
      return inner.onResponseStart?.(c, status, headers, statusText);
    },
    onResponseData: (c: unknown, chunk: Buffer) => inner.onResponseData?.(c, chunk),
    onResponseEnd: (c: unknown, trailers: Record<string, string>) =>
      inner.onResponseEnd?.(c, trailers),
    onResponseError: (c: unknown, err: Error) => inner.onResponseError?.(c, err),
  };
}

function normalizeDispatchHeaders(raw: unknown): HeaderRecord {
  const out: HeaderRecord = {};
  const add = (k: string, v: string) => {
    const name = k.toLowerCase();
    const prev = out[name];
    out[name] = prev === undefined ? v : ([] as string[]).concat(prev, v);
  };
  if (raw == null) return out;
  if (Array.isArray(raw)) {
    if (raw.length > 0 && Array.isArray(raw[0]))
      for (const [k, v] of raw as [string, string][]) add(k, String(v));
    else for (let i = 0; i + 1 < raw.length; i += 2) add(String(raw[i]), String(raw[i + 1]));
    return out;
  }
  if (typeof (raw as Iterable<unknown>)[Symbol.iterator] === 'function') {
    for (const [k, v] of raw as Iterable<[string, string]>) add(k, String(v));
    return out;
  }
  for (const [k, v] of Object.entries(raw as Record<string, string | string[] | undefined>)) {
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const x of v) add(k, x);
    else add(k, String(v));
  }
  return out;
}
