import type { Dispatcher } from 'undici';
import type { HttpCacheStore } from './http-cache-store.interface';

/** Redis store settings (see {@link RedisCacheStore}). @publicApi */
export interface RedisStoreOptions {
  /** `redis://host:port[/db]`. */
  url: string;
  /** Key prefix before the schema version; default `steady:http-cache`. */
  prefix?: string;
  /** A small in-process LRU in front of Redis (off by default). Entries live at most `ttlMs`. */
  l1?: { maxSize?: number; maxCount?: number; ttlMs?: number };
  /** Per-command timeout; a slower Redis counts as a store error (miss). Default 250 ms. */
  commandTimeoutMs?: number;
}

/** Cache settings. @publicApi */
export interface HttpClientCacheOptions {
  /** `private` (default: one consumer, like a browser) or `shared` (s-maxage, no `private`, Authorization rules). */
  type?: 'private' | 'shared';
  /**
   * Where responses are stored: `'memory'` (default, LRU), `'cache-manager'` (the app's `CACHE_MANAGER` from
   * `@nestjs/cache-manager`'s `CacheModule`), `{ redis: … }`, or any {@link HttpCacheStore}.
   */
  store?: 'memory' | 'cache-manager' | { redis: string | RedisStoreOptions } | HttpCacheStore;
  /** Memory store bound on bytes (bodies + headers). Default 64 MiB. */
  maxSize?: number;
  /** Memory store bound on stored responses. Default 10 000. */
  maxCount?: number;
  /** Larger bodies are not stored (still returned). Default 2 MiB. */
  maxEntrySize?: number;
  /** Heuristic freshness fraction of (Date − Last-Modified) for the RFC's status list; 0 = off. Default 0.1. */
  heuristicFraction?: number;
  /** Keep stale responses this long (for conditional requests, and for `staleIfDisconnected`). Default 300 s. */
  staleRetentionSeconds?: number;
  /** Share one origin request among concurrent identical GET/HEAD requests. Default true. */
  coalesce?: boolean;
  /** Add an RFC 9211 `Cache-Status` header to responses, e.g. `steady; hit`. Default false. */
  cacheStatusHeader?: boolean;
  /**
   * When the origin cannot be reached (connection refused/reset/closed, timeout), serve a stale stored response
   * (RFC 9111 §4.2.4 "disconnected") with cache status STALE — except for `must-revalidate` / `no-cache` responses,
   * which give a generated 504 (§5.2.2.2). `false`: the error is thrown. Default true.
   */
  staleIfDisconnected?: boolean;
  /** Min gap between background revalidations of one entry after a failed one. Default 1000 ms. */
  revalidationBackoffMs?: number;
}

/**
 * Options of one client. @publicApi
 */
export interface HttpClientModuleOptions {
  /** Client name, for several clients (`@InjectHttpClient('directory')`) and the `client` metric label. Default `default`. */
  name?: string;
  /** Relative URLs resolve against it. */
  baseUrl?: string;
  /** Default request headers. */
  headers?: Record<string, string>;
  /** `false` disables the cache. Default: a private in-memory cache. */
  cache?: false | HttpClientCacheOptions;
  /** Whole request deadline (headers + body). Default 30 000 ms. */
  timeoutMs?: number;
  /** undici headersTimeout. Default 10 000 ms. */
  headersTimeoutMs?: number;
  /** undici bodyTimeout. Default 10 000 ms. */
  bodyTimeoutMs?: number;
  /** Retries of idempotent requests after a network error (not after an HTTP status). Default 0. */
  retries?: number;
  /** Delay before each retry. Default 100 ms. */
  retryDelayMs?: number;
  /** Connections per origin. Default 32. */
  connections?: number;
  /** The undici dispatcher used for origin requests. Default: a new `Agent`, closed with the client. */
  dispatcher?: Dispatcher;
}

/** Extras of `forRoot` / `forRootAsync`. @publicApi */
export interface HttpClientModuleExtras {
  /** Register the client globally. Default false. */
  isGlobal?: boolean;
}
