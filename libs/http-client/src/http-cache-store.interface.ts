import type { HeaderRecord } from './cache-control';

/** What the cache keeps about one stored response (one Vary variant of a URL). Plain JSON. */
export interface CachedResponseMeta {
  /** Variant id: a digest of the Vary field names and the request's values for them. */
  id: string;
  status: number;
  statusText: string;
  /** Stored response headers, lower-case names, hop-by-hop fields removed. */
  headers: HeaderRecord;
  /** For each field named by `Vary`, the request's value (`null` = the request did not send it). */
  vary: Record<string, string | null>;
  /** Epoch ms when the request that produced this response was sent (RFC 9111 §4.2.3 request_time). */
  requestTime: number;
  /** Epoch ms when the response arrived (response_time). */
  responseTime: number;
  /** Epoch ms after which the response is stale (for planning only; freshness is recomputed on use). */
  staleAt: number;
  /** Epoch ms after which the entry is useless (not even for SWR / stale-if-error / validation). */
  deleteAt: number;
}

/** One stored response: metadata plus the body bytes. */
export interface StoredResponse {
  meta: CachedResponseMeta;
  body: Buffer;
}

/**
 * Where cached responses live. Keys are URL keys; each holds the Vary variants of that URL (the per-URL variant
 * index), so a lookup is one `get` — no SCAN, no key listing. Implementations may throw or reject: the cache counts
 * the error and degrades to a miss. Built in: {@link MemoryCacheStore} (LRU by bytes and count),
 * {@link RedisCacheStore} (raw-byte bodies, TTL = deleteAt), {@link CacheManagerCacheStore} (any cache-manager 7 /
 * Keyv store, e.g. the app's `CACHE_MANAGER`).
 *
 * @publicApi
 */
export interface HttpCacheStore {
  /** The stored variants of `key` (entries past `deleteAt` may be included; the cache ignores them). */
  get(key: string): Promise<StoredResponse[] | undefined>;
  /** Adds the variant `entry.meta.id` of `key`, replacing one with the same id. */
  set(key: string, entry: StoredResponse): Promise<void>;
  /** Removes every variant of `key`. */
  delete(key: string): Promise<void>;
  /** Releases connections. */
  close?(): Promise<void>;
}

/** Token of a custom {@link HttpCacheStore} provider (same name as the interface). @publicApi */
export const HttpCacheStore = Symbol.for('STEADY:HTTP_CLIENT:CACHE_STORE');

/** Bytes an entry is charged in a size-bounded store: body plus an estimate of its metadata. */
export function entrySize(entry: StoredResponse): number {
  let n = entry.body.length + 200;
  for (const [k, v] of Object.entries(entry.meta.headers)) {
    n += k.length + (Array.isArray(v) ? v.reduce((a, s) => a + s.length, 0) : v.length) + 4;
  }
  return n;
}
