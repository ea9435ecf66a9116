import { createHash } from 'node:crypto';
import {
  deltaSeconds,
  headerValue,
  parseCacheControl,
  parseHttpDate,
  parseVary,
  type CacheDirectives,
  type HeaderRecord,
} from './cache-control';
import {
  currentAge,
  freshnessLifetime,
  mergeNotModified,
  notStorableReason,
  staleWindows,
  storableHeaders,
  varyMatches,
  varyValues,
  type PolicyOptions,
} from './http-cache-policy';
import type {
  CachedResponseMeta,
  HttpCacheStore,
  StoredResponse,
} from './http-cache-store.interface';

/** How a response was produced. @publicApi */
export type CacheStatus = 'HIT' | 'MISS' | 'REVALIDATED' | 'STALE' | 'ERROR' | 'BYPASS';

/** A request as the cache sees it: upper-case method, absolute URL, lower-case header names. */
export interface CacheRequest {
  method: string;
  url: URL;
  headers: HeaderRecord;
  body?: Buffer | string;
}

/** A complete (buffered) response. */
export interface BufferedResponse {
  status: number;
  statusText: string;
  headers: HeaderRecord;
  body: Buffer;
}

export interface CachedResult extends BufferedResponse {
  cacheStatus: CacheStatus;
  /** The response was shared from another caller's in-flight origin request. */
  coalesced?: boolean;
}

export type OriginFetch = (request: CacheRequest) => Promise<BufferedResponse>;

export interface HttpCacheOptions extends PolicyOptions {
  maxEntrySize: number;
  coalesce: boolean;
  /** Serve a stale stored response (not must-revalidate / no-cache) when the origin cannot be reached. */
  staleIfDisconnected: boolean;
  /** Minimum gap between two background revalidations of one entry after a failed one (ms). */
  revalidationBackoffMs: number;
}

/** Counters the client turns into metrics. */
export interface HttpCacheEvents {
  storeError(op: 'get' | 'set' | 'delete', error: unknown): void;
  coalesced(): void;
  backgroundRevalidation(outcome: 'ok' | 'error'): void;
}

const CONDITIONAL = [
  'if-none-match',
  'if-modified-since',
  'if-match',
  'if-unmodified-since',
  'if-range',
];

interface Flight {
  promise: Promise<CachedResult>;
  request: CacheRequest;
}

/**
 * The RFC 9111 cache in front of an origin fetch: lookup by URL key and Vary, freshness and request directives,
 * validation (304 merges headers into the stored *and* the served response), stale-while-revalidate in the
 * background, stale-if-error, unsafe-method invalidation, and coalescing of concurrent GET/HEAD origin requests.
 * Store failures count as misses.
 */
export class HttpCache {
  private readonly flights = new Map<string, Flight>();
  private readonly revalidating = new Map<string, number>();
  private readonly derived = new WeakMap<CachedResponseMeta, Derived>();

  constructor(
    protected readonly store: HttpCacheStore,
    protected readonly options: HttpCacheOptions,
    protected readonly events: HttpCacheEvents,
  ) {}

  /** Cache key of a URL: absolute URL without the fragment. */
  static keyOf(url: URL): string {
    return url.hash ? url.href.slice(0, url.href.length - url.hash.length) : url.href;
  }

  async handle(req: CacheRequest, origin: OriginFetch): Promise<CachedResult> {
    const method = req.method;
    if (method !== 'GET' && method !== 'HEAD') {
      const requestTime = Date.now();
      const res = await origin(req);
      const responseTime = Date.now();
      if (!SAFE_METHODS.has(method) && res.status >= 200 && res.status < 400)
        await this.invalidate(req.url, res);
      if (method === 'POST') await this.storePostResponse(req, res, requestTime, responseTime);
      return { ...res, cacheStatus: 'BYPASS' };
    }
    if (req.headers.range !== undefined) return { ...(await origin(req)), cacheStatus: 'BYPASS' };

    const reqCc = requestDirectives(req.headers);
    const key = HttpCache.keyOf(req.url);
    const now = Date.now();
    const variants = await this.lookup(key);
    const entry = selectVariant(variants, req.headers, now);

    if (entry) {
      const { cc, lifetime, initialAge } = this.derive(entry.meta);
      const age = initialAge + Math.max(0, now - entry.meta.responseTime) / 1000;
      const fresh = lifetime > age;
      const reqMaxAge = deltaSeconds(reqCc, 'max-age');
      const minFresh = deltaSeconds(reqCc, 'min-fresh');
      // RFC 8246: a fresh immutable response is not revalidated because of a reload's `max-age=0`.
      const immutableFresh = fresh && cc.has('immutable');
      const ageOk =
        immutableFresh || reqMaxAge === undefined || (!Number.isNaN(reqMaxAge) && age <= reqMaxAge);
      const freshOk =
        minFresh === undefined || Number.isNaN(minFresh) || lifetime - age >= minFresh;
      const mustValidate = cc.get('no-cache') === true || reqCc.has('no-cache');
      const noStale =
        cc.has('must-revalidate') ||
        (this.options.shared && cc.has('proxy-revalidate')) ||
        cc.get('no-cache') === true;

      if (!mustValidate && ageOk && freshOk) {
        if (fresh) return this.serveStored(req, entry, age, 'HIT');
        const maxStale = reqCc.get('max-stale');
        if (maxStale !== undefined && !noStale) {
          const limit = maxStale === true ? Infinity : Number(maxStale);
          if (age - lifetime <= limit) return this.serveStored(req, entry, age, 'STALE');
        }
      }
      if (reqCc.has('only-if-cached')) return gatewayTimeout();
      const { swr } = staleWindows(cc);
      if (
        !fresh &&
        !mustValidate &&
        !noStale &&
        swr > 0 &&
        age - lifetime <= swr &&
        req.method === 'GET' &&
        !hasConditional(req.headers)
      ) {
        this.revalidateInBackground(req, entry, key, origin);
        return this.serveStored(req, entry, age, 'STALE');
      }
      return this.validate(req, entry, key, origin, lifetime, age, reqCc, noStale);
    }

    if (reqCc.has('only-if-cached')) return gatewayTimeout();
    return this.fetchAndStore(req, key, origin, variants);
  }

  /**
   * Parsed directives, freshness lifetime and corrected initial age of a stored response, computed once per
   * metadata object (the memory store hands out the same object on every hit).
   */
  private derive(meta: CachedResponseMeta): Derived {
    let d = this.derived.get(meta);
    if (!d) {
      const cc = parseCacheControl(headerValue(meta.headers, 'cache-control'));
      d = {
        cc,
        lifetime: freshnessLifetime(meta, cc, this.options),
        initialAge: currentAge(meta, meta.responseTime),
      };
      this.derived.set(meta, d);
    }
    return d;
  }

  /** Removes every stored response of the URL (and of same-origin Location / Content-Location). */
  async invalidate(url: URL, res?: BufferedResponse): Promise<void> {
    const keys = new Set([HttpCache.keyOf(url)]);
    for (const h of ['location', 'content-location']) {
      const v = res ? headerValue(res.headers, h) : undefined;
      if (!v) continue;
      try {
        const target = new URL(v, url);
        if (target.origin === url.origin) keys.add(HttpCache.keyOf(target));
      } catch {
        /* not a URL: nothing to invalidate */
      }
    }
    for (const k of keys) {
      try {
        await this.store.delete(k);
      } catch (err) {
        this.events.storeError('delete', err);
      }
    }
  }

  private async lookup(key: string): Promise<StoredResponse[] | undefined> {
    try {
      return await this.store.get(key);
    } catch (err) {
      this.events.storeError('get', err);
      return undefined;
    }
  }

  private serveStored(
    req: CacheRequest,
    entry: StoredResponse,
    age: number,
    cacheStatus: CacheStatus,
  ): CachedResult {
    const headers: HeaderRecord = { ...entry.meta.headers, age: String(Math.floor(age)) };
    // A conditional request answered from a fresh stored response (RFC 9110 §13.2.2 evaluated against it).
    if (cacheStatus === 'HIT' && notModified(req.headers, entry.meta.headers)) {
      return {
        status: 304,
        statusText: 'Not Modified',
        headers: withoutBodyHeaders(headers),
        body: EMPTY,
        cacheStatus,
      };
    }
    return {
      status: entry.meta.status,
      statusText: entry.meta.statusText,
      headers,
      body: req.method === 'HEAD' ? EMPTY : entry.body,
      cacheStatus,
    };
  }

  /** Sends a conditional request for a stored response; 304 → merged stored response. */
  private async validate(
    req: CacheRequest,
    entry: StoredResponse,
    key: string,
    origin: OriginFetch,
    lifetime: number,
    age: number,
    reqCc: CacheDirectives,
    noStale: boolean,
  ): Promise<CachedResult> {
    const clientConditional = hasConditional(req.headers);
    const etag = headerValue(entry.meta.headers, 'etag');
    const lastModified = headerValue(entry.meta.headers, 'last-modified');
    let conditional = req;
    if (
      req.method === 'GET' &&
      !clientConditional &&
      (etag !== undefined || lastModified !== undefined)
    ) {
      const headers: HeaderRecord = { ...req.headers };
      if (etag !== undefined) headers['if-none-match'] = etag;
      if (lastModified !== undefined) headers['if-modified-since'] = lastModified;
      conditional = { ...req, headers };
    }
    const cc = parseCacheControl(headerValue(entry.meta.headers, 'cache-control'));
    const sie = Math.max(staleWindows(cc).sie, staleWindows(reqCc).sie);
    const canServeStaleOnError =
      sie > 0 && age - lifetime <= sie && !cc.has('must-revalidate') && cc.get('no-cache') !== true;

    let result: CachedResult;
    try {
      result = await this.fetchAndStore(conditional, key, origin, [entry], entry, req);
    } catch (err) {
      if (canServeStaleOnError)
        return this.serveStored(req, entry, currentAge(entry.meta, Date.now()), 'STALE');
      const kind = (err as { kind?: string }).kind;
      if (kind === 'network' || kind === 'timeout') {
        // Disconnected (RFC 9111 §4.2.4): must-revalidate / no-cache → a generated 504 (§5.2.2.2); otherwise the
        // stale response may be served, when `staleIfDisconnected` allows it.
        if (noStale) return { ...gatewayTimeout(), cacheStatus: 'ERROR' };
        if (this.options.staleIfDisconnected && !reqCc.has('no-cache')) {
          return this.serveStored(req, entry, currentAge(entry.meta, Date.now()), 'STALE');
        }
      }
      throw err;
    }
    if (result.status >= 500 && canServeStaleOnError) {
      return this.serveStored(req, entry, currentAge(entry.meta, Date.now()), 'STALE');
    }
    return result;
  }

  private revalidateInBackground(
    req: CacheRequest,
    entry: StoredResponse,
    key: string,
    origin: OriginFetch,
  ): void {
    const id = `${key}\n${entry.meta.id}`;
    const last = this.revalidating.get(id);
    const now = Date.now();
    if (last !== undefined && (last === 0 || now - last < this.options.revalidationBackoffMs))
      return;
    this.revalidating.set(id, 0);
    const etag = headerValue(entry.meta.headers, 'etag');
    const lastModified = headerValue(entry.meta.headers, 'last-modified');
    const headers: HeaderRecord = { ...req.headers };
    if (etag !== undefined) headers['if-none-match'] = etag;
    if (lastModified !== undefined) headers['if-modified-since'] = lastModified;
    this.fetchAndStore({ ...req, headers }, key, origin, [entry], entry, req).then(
      (r) => {
        this.revalidating.delete(id);
        this.events.backgroundRevalidation(r.status >= 500 ? 'error' : 'ok');
        if (r.status >= 500) this.revalidating.set(id, Date.now());
      },
      () => {
        this.events.backgroundRevalidation('error');
        this.revalidating.set(id, Date.now());
      },
    );
    if (this.revalidating.size > 10_000) {
      for (const [k, t] of this.revalidating) {
        if (t !== 0 && now - t >= this.options.revalidationBackoffMs) this.revalidating.delete(k);
      }
    }
  }

  /**
   * One origin request (shared by concurrent identical GET/HEAD requests) whose response is stored when storable.
   * `stored` is the entry being validated (a 304 updates it); `original` the caller's request before validators.
   */
  private fetchAndStore(
    req: CacheRequest,
    key: string,
    origin: OriginFetch,
    known: StoredResponse[] | undefined,
    stored?: StoredResponse,
    original: CacheRequest = req,
  ): Promise<CachedResult> {
    const coalescable = this.options.coalesce && req.body === undefined;
    if (!coalescable) return this.fetchAndStoreOnce(req, key, origin, stored, original);
    const varyNames =
      known && known.length > 0 ? Object.keys(known[known.length - 1].meta.vary) : [];
    const flightKey = flightKeyOf(req, varyNames, stored);
    const flight = this.flights.get(flightKey);
    if (flight) {
      return flight.promise.then(
        (res) => {
          // Join only when the response's Vary selects this request too; otherwise ask the origin ourselves.
          const names = parseVary(res.headers.vary);
          if (names.includes('*') || !sameValues(names, flight.request.headers, req.headers)) {
            return this.fetchAndStoreOnce(req, key, origin, stored, original);
          }
          this.events.coalesced();
          return { ...res, coalesced: true };
        },
        () => this.fetchAndStoreOnce(req, key, origin, stored, original),
      );
    }
    const promise = this.fetchAndStoreOnce(req, key, origin, stored, original).finally(() => {
      if (this.flights.get(flightKey)?.promise === promise) this.flights.delete(flightKey);
    });
    this.flights.set(flightKey, { promise, request: req });
    return promise;
  }

  private async fetchAndStoreOnce(
    req: CacheRequest,
    key: string,
    origin: OriginFetch,
    stored: StoredResponse | undefined,
    original: CacheRequest,
  ): Promise<CachedResult> {
    const requestTime = Date.now();
    const res = await origin(req);
    const responseTime = Date.now();

    if (res.status === 304 && stored && !hasConditional(original.headers)) {
      const headers = mergeNotModified(stored.meta.headers, res.headers, this.options);
      const meta = this.buildMeta(
        stored.meta.status,
        stored.meta.statusText,
        headers,
        stored.meta.vary,
        requestTime,
        responseTime,
        stored.body.length,
      );
      const updated: StoredResponse = { meta, body: stored.body };
      await this.write(key, updated);
      return {
        ...this.serveStored(original, updated, currentAge(meta, Date.now()), 'REVALIDATED'),
        status: stored.meta.status,
      };
    }

    if (req.method === 'HEAD') {
      if (stored && res.status === 200)
        await this.freshenFromHead(key, stored, res, requestTime, responseTime);
      return { ...res, cacheStatus: 'MISS' };
    }

    const reason = notStorableReason(
      req.method,
      original.headers,
      res.status,
      res.headers,
      this.options,
    );
    if (reason === undefined && res.body.length <= this.options.maxEntrySize) {
      await this.storeResponse(key, original.headers, res, requestTime, responseTime);
    } else if (res.status >= 200 && res.status < 400 && stored && reason !== 'request no-store') {
      // RFC 9111 §4.4-like hygiene: a replaced response that cannot be stored must not be served again.
      await this.invalidate(original.url);
    }
    return { ...res, cacheStatus: 'MISS' };
  }

  /** RFC 9111 §4.3.5: a 200 to HEAD whose validators match freshens the stored GET response's headers. */
  private async freshenFromHead(
    key: string,
    stored: StoredResponse,
    res: BufferedResponse,
    requestTime: number,
    responseTime: number,
  ): Promise<void> {
    const etag = headerValue(res.headers, 'etag');
    const lm = headerValue(res.headers, 'last-modified');
    const storedEtag = headerValue(stored.meta.headers, 'etag');
    const storedLm = headerValue(stored.meta.headers, 'last-modified');
    const matches = etag !== undefined ? etag === storedEtag : lm !== undefined && lm === storedLm;
    if (!matches) return;
    const headers = mergeNotModified(stored.meta.headers, res.headers, this.options);
    const meta = this.buildMeta(
      stored.meta.status,
      stored.meta.statusText,
      headers,
      stored.meta.vary,
      requestTime,
      responseTime,
      stored.body.length,
    );
    await this.write(key, { meta, body: stored.body });
  }

  /**
   * RFC 9110 §9.3.3: a POST response with explicit freshness whose `Content-Location` is the request's own URL is
   * a representation of that resource — stored for later GETs of it.
   */
  private async storePostResponse(
    req: CacheRequest,
    res: BufferedResponse,
    requestTime: number,
    responseTime: number,
  ): Promise<void> {
    if (res.status !== 200 && res.status !== 203) return;
    const location = headerValue(res.headers, 'content-location');
    if (location === undefined) return;
    let target: URL;
    try {
      target = new URL(location, req.url);
    } catch {
      return;
    }
    const key = HttpCache.keyOf(req.url);
    if (HttpCache.keyOf(target) !== key) return;
    const cc = parseCacheControl(headerValue(res.headers, 'cache-control'));
    const explicit =
      cc.has('max-age') ||
      res.headers.expires !== undefined ||
      (this.options.shared && cc.has('s-maxage'));
    if (!explicit) return;
    if (notStorableReason('GET', req.headers, res.status, res.headers, this.options) !== undefined)
      return;
    if (res.body.length > this.options.maxEntrySize) return;
    await this.storeResponse(key, req.headers, res, requestTime, responseTime);
  }

  /** Stores a response that may be stored: its storable headers, the request's Vary values, its metadata. */
  private async storeResponse(
    key: string,
    requestHeaders: Parameters<typeof varyValues>[1],
    res: BufferedResponse,
    requestTime: number,
    responseTime: number,
  ): Promise<void> {
    const headers = storableHeaders(res.headers, this.options);
    const vary = varyValues(parseVary(res.headers.vary), requestHeaders);
    const meta = this.buildMeta(
      res.status,
      res.statusText,
      headers,
      vary,
      requestTime,
      responseTime,
      res.body.length,
    );
    await this.write(key, { meta, body: res.body });
  }

  private buildMeta(
    status: number,
    statusText: string,
    headers: HeaderRecord,
    vary: Record<string, string | null>,
    requestTime: number,
    responseTime: number,
    _size: number,
  ): CachedResponseMeta {
    const meta: CachedResponseMeta = {
      id: variantIdOf(vary),
      status,
      statusText,
      headers,
      vary,
      requestTime,
      responseTime,
      staleAt: 0,
      deleteAt: 0,
    };
    const cc = parseCacheControl(headerValue(headers, 'cache-control'));
    const lifetime = freshnessLifetime(meta, cc, this.options);
    const age = currentAge(meta, responseTime);
    meta.staleAt = responseTime + Math.max(0, lifetime - age) * 1000;
    const { swr, sie } = staleWindows(cc);
    const validators = headers.etag !== undefined || headers['last-modified'] !== undefined;
    // Stale entries stay for validation (validators) and for serving when the origin is unreachable.
    const keep = validators || this.options.staleIfDisconnected;
    const retention = Math.max(swr, sie, keep ? this.options.staleRetentionSeconds : 0);
    meta.deleteAt = meta.staleAt + retention * 1000;
    return meta;
  }

  private async write(key: string, entry: StoredResponse): Promise<void> {
    if (entry.meta.deleteAt <= Date.now()) return;
    try {
      await this.store.set(key, entry);
    } catch (err) {
      this.events.storeError('set', err);
    }
  }
}

const EMPTY = Buffer.alloc(0);
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

interface Derived {
  cc: CacheDirectives;
  lifetime: number;
  initialAge: number;
}

const NO_DIRECTIVES: CacheDirectives = new Map();

function requestDirectives(headers: HeaderRecord): CacheDirectives {
  if (headers['cache-control'] === undefined && headers.pragma === undefined) return NO_DIRECTIVES;
  const cc = parseCacheControl(headerValue(headers, 'cache-control'));
  if (
    headers['cache-control'] === undefined &&
    /(^|,)\s*no-cache\s*(,|$)/i.test(headerValue(headers, 'pragma') ?? '')
  ) {
    cc.set('no-cache', true);
  }
  return cc;
}

function hasConditional(headers: HeaderRecord): boolean {
  for (const h of CONDITIONAL) if (headers[h] !== undefined) return true;
  return false;
}

/** Most recently received stored variant the request selects, ignoring entries past deleteAt. */
export function selectVariant(
  variants: StoredResponse[] | undefined,
  requestHeaders: HeaderRecord,
  now: number,
): StoredResponse | undefined {
  if (!variants) return undefined;
  let best: StoredResponse | undefined;
  for (const v of variants) {
    if (v.meta.deleteAt <= now) continue;
    if (!varyMatches(v.meta, requestHeaders)) continue;
    if (!best || v.meta.responseTime >= best.meta.responseTime) best = v;
  }
  return best;
}

/**
 * `-` without Vary, else 11 base64url characters (66 bits) of a SHA-1 of the Vary names and values: it only has to
 * tell apart the few variants of one URL, and a collision could not serve a wrong response anyway (a stored
 * variant is used only when its stored Vary values match the request), at worst replace one variant by another.
 */
function variantIdOf(vary: Record<string, string | null>): string {
  const names = Object.keys(vary);
  if (names.length === 0) return '-';
  return createHash('sha1')
    .update(JSON.stringify(names.map((n) => [n, vary[n]])))
    .digest('base64url')
    .slice(0, 11);
}

function flightKeyOf(
  req: CacheRequest,
  varyNames: readonly string[],
  stored?: StoredResponse,
): string {
  // Credentials always separate flights, whatever Vary says (undici#4817: never share a response across users).
  let k = `${req.method} ${req.url.href}\n${headerValue(req.headers, 'authorization') ?? ''}\n${headerValue(req.headers, 'cookie') ?? ''}`;
  for (const n of varyNames) k += `\n${n}:${headerValue(req.headers, n) ?? '\u0000'}`;
  for (const h of CONDITIONAL)
    if (req.headers[h] !== undefined) k += `\n${h}:${headerValue(req.headers, h)}`;
  if (stored) k += `\nvalidate:${stored.meta.id}`;
  return k;
}

function sameValues(names: readonly string[], a: HeaderRecord, b: HeaderRecord): boolean {
  for (const n of names)
    if ((headerValue(a, n) ?? null) !== (headerValue(b, n) ?? null)) return false;
  return true;
}

function gatewayTimeout(): CachedResult {
  return {
    status: 504,
    statusText: 'Gateway Timeout',
    headers: { 'content-length': '0' },
    body: EMPTY,
    cacheStatus: 'MISS',
  };
}

function withoutBodyHeaders(headers: HeaderRecord): HeaderRecord {
  const out = { ...headers };
  delete out['content-length'];
  delete out['content-type'];
  delete out['content-encoding'];
  return out;
}

/** RFC 9110 §13.1.2/§13.1.3 evaluated against a stored response: true → answer 304. */
function notModified(req: HeaderRecord, stored: HeaderRecord): boolean {
  const inm = headerValue(req, 'if-none-match');
  if (inm !== undefined) {
    const etag = headerValue(stored, 'etag');
    if (etag === undefined) return false;
    if (inm.trim() === '*') return true;
    const weak = (t: string) => t.trim().replace(/^W\//, '');
    return inm.split(',').some((t) => weak(t) === weak(etag));
  }
  const ims = parseHttpDate(headerValue(req, 'if-modified-since'));
  if (ims !== undefined) {
    const lm = parseHttpDate(headerValue(stored, 'last-modified'));
    return lm !== undefined && lm <= ims;
  }
  return false;
}
