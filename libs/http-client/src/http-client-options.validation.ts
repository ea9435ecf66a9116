import { OptionValidator, SteadyOptionsError } from '@steady/core';
import type { Dispatcher } from 'undici';
import type { HttpCacheStore } from './http-cache-store.interface';
import type { HttpClientModuleOptions, RedisStoreOptions } from './http-client-options.interface';

const MODULE = '@steady/http-client';

export type ResolvedStore =
  | { kind: 'memory' }
  | { kind: 'default' }
  | { kind: 'cache-manager' }
  | {
      kind: 'redis';
      options: Required<Omit<RedisStoreOptions, 'l1'>> & {
        l1?: { maxSize: number; maxCount: number; ttlMs: number };
      };
    }
  | { kind: 'custom'; store: HttpCacheStore };

export interface ResolvedHttpClientOptions {
  name: string;
  baseUrl?: string;
  headers: Record<string, string>;
  cache:
    | false
    | {
        shared: boolean;
        store: ResolvedStore;
        maxSize: number;
        maxCount: number;
        maxEntrySize: number;
        heuristicFraction: number;
        staleRetentionSeconds: number;
        coalesce: boolean;
        cacheStatusHeader: boolean;
        staleIfDisconnected: boolean;
        revalidationBackoffMs: number;
      };
  timeoutMs: number;
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
  retries: number;
  retryDelayMs: number;
  connections: number;
  dispatcher?: Dispatcher;
}

const KNOWN = [
  'name',
  'baseUrl',
  'headers',
  'cache',
  'timeoutMs',
  'headersTimeoutMs',
  'bodyTimeoutMs',
  'retries',
  'retryDelayMs',
  'connections',
  'dispatcher',
  'isGlobal',
];
const KNOWN_CACHE = [
  'type',
  'store',
  'maxSize',
  'maxCount',
  'maxEntrySize',
  'heuristicFraction',
  'staleRetentionSeconds',
  'coalesce',
  'cacheStatusHeader',
  'staleIfDisconnected',
  'revalidationBackoffMs',
];

/** Validates options; throws a SteadyOptionsError naming the option and the allowed range. */
export function resolveHttpClientOptions(
  options: HttpClientModuleOptions = {},
): ResolvedHttpClientOptions {
  const v = new OptionValidator(MODULE);
  v.knownKeys(options, KNOWN);
  const name = v.string(
    'name',
    options.name,
    'default',
    /^[A-Za-z0-9_.-]{1,64}$/,
    '1-64 characters of A-Z a-z 0-9 _ . -',
  );
  let baseUrl: string | undefined;
  if (options.baseUrl !== undefined) {
    baseUrl = v.string('baseUrl', options.baseUrl, '');
    v.check(
      /^https?:\/\//.test(baseUrl) && URL.canParse(baseUrl),
      'baseUrl',
      'an absolute http(s) URL',
      options.baseUrl,
    );
  }
  const headers = options.headers ?? {};
  v.check(
    typeof headers === 'object' &&
      headers !== null &&
      Object.values(headers).every((x) => typeof x === 'string'),
    'headers',
    'an object of string values',
    options.headers,
  );
  if (options.dispatcher !== undefined) {
    v.check(
      typeof (options.dispatcher as { dispatch?: unknown }).dispatch === 'function',
      'dispatcher',
      'an undici Dispatcher',
      options.dispatcher,
    );
  }
  return {
    name,
    baseUrl,
    headers: lowerKeys(headers),
    cache: resolveCache(v, options.cache),
    timeoutMs: v.number('timeoutMs', options.timeoutMs, 30_000, {
      min: 1,
      max: 3_600_000,
      integer: true,
      unit: 'ms',
    }),
    headersTimeoutMs: v.number('headersTimeoutMs', options.headersTimeoutMs, 10_000, {
      min: 1,
      max: 3_600_000,
      integer: true,
      unit: 'ms',
    }),
    bodyTimeoutMs: v.number('bodyTimeoutMs', options.bodyTimeoutMs, 10_000, {
      min: 1,
      max: 3_600_000,
      integer: true,
      unit: 'ms',
    }),
    retries: v.number('retries', options.retries, 0, { min: 0, max: 10, integer: true }),
    retryDelayMs: v.number('retryDelayMs', options.retryDelayMs, 100, {
      min: 0,
      max: 60_000,
      integer: true,
      unit: 'ms',
    }),
    connections: v.number('connections', options.connections, 32, {
      min: 1,
      max: 4096,
      integer: true,
    }),
    dispatcher: options.dispatcher,
  };
}

function resolveCache(
  v: OptionValidator,
  cache: HttpClientModuleOptions['cache'],
): ResolvedHttpClientOptions['cache'] {
  if (cache === false) return false;
  if (cache !== undefined && (typeof cache !== 'object' || cache === null)) {
    throw new SteadyOptionsError(MODULE, 'cache', 'false or an object', cache);
  }
  const c = cache ?? {};
  v.knownKeys(
    c,
    KNOWN_CACHE.map((k) => k),
  );
  const type = v.oneOf('cache.type', c.type, 'private', ['private', 'shared'] as const);
  return {
    shared: type === 'shared',
    store: resolveStore(v, c.store),
    maxSize: v.number('cache.maxSize', c.maxSize, 64 * 1024 * 1024, {
      min: 1024,
      integer: true,
      unit: 'bytes',
    }),
    maxCount: v.number('cache.maxCount', c.maxCount, 10_000, { min: 1, integer: true }),
    maxEntrySize: v.number('cache.maxEntrySize', c.maxEntrySize, 2 * 1024 * 1024, {
      min: 0,
      integer: true,
      unit: 'bytes',
    }),
    heuristicFraction: v.number('cache.heuristicFraction', c.heuristicFraction, 0.1, {
      min: 0,
      max: 1,
    }),
    staleRetentionSeconds: v.number('cache.staleRetentionSeconds', c.staleRetentionSeconds, 300, {
      min: 0,
      max: 31_536_000,
      integer: true,
      unit: 's',
    }),
    coalesce: v.boolean('cache.coalesce', c.coalesce, true),
    cacheStatusHeader: v.boolean('cache.cacheStatusHeader', c.cacheStatusHeader, false),
    staleIfDisconnected: v.boolean('cache.staleIfDisconnected', c.staleIfDisconnected, true),
    revalidationBackoffMs: v.number('cache.revalidationBackoffMs', c.revalidationBackoffMs, 1000, {
      min: 0,
      max: 3_600_000,
      integer: true,
      unit: 'ms',
    }),
  };
}

function resolveStore(v: OptionValidator, store: unknown): ResolvedStore {
  if (store === undefined) return { kind: 'default' };
  if (store === 'memory') return { kind: 'memory' };
  if (store === 'cache-manager') return { kind: 'cache-manager' };
  if (typeof store === 'object' && store !== null && 'redis' in store) {
    const raw = (store as { redis: unknown }).redis;
    const r: RedisStoreOptions =
      typeof raw === 'string' ? { url: raw } : (raw as RedisStoreOptions);
    v.check(
      typeof r === 'object' &&
        r !== null &&
        typeof r.url === 'string' &&
        /^rediss?:\/\//.test(r.url),
      'cache.store.redis',
      'a redis:// URL or { url }',
      raw,
    );
    const prefix = v.string(
      'cache.store.redis.prefix',
      r.prefix,
      'steady:http-cache',
      /^[^\s]{1,100}$/,
      '1-100 non-space characters',
    );
    const commandTimeoutMs = v.number(
      'cache.store.redis.commandTimeoutMs',
      r.commandTimeoutMs,
      250,
      { min: 1, max: 60_000, integer: true, unit: 'ms' },
    );
    const l1 = r.l1
      ? {
          maxSize: v.number('cache.store.redis.l1.maxSize', r.l1.maxSize, 8 * 1024 * 1024, {
            min: 1024,
            integer: true,
            unit: 'bytes',
          }),
          maxCount: v.number('cache.store.redis.l1.maxCount', r.l1.maxCount, 1000, {
            min: 1,
            integer: true,
          }),
          ttlMs: v.number('cache.store.redis.l1.ttlMs', r.l1.ttlMs, 1000, {
            min: 1,
            max: 3_600_000,
            integer: true,
            unit: 'ms',
          }),
        }
      : undefined;
    return { kind: 'redis', options: { url: r.url, prefix, commandTimeoutMs, l1 } };
  }
  if (
    typeof store === 'object' &&
    store !== null &&
    typeof (store as HttpCacheStore).get === 'function' &&
    typeof (store as HttpCacheStore).set === 'function' &&
    typeof (store as HttpCacheStore).delete === 'function'
  ) {
    return { kind: 'custom', store: store as HttpCacheStore };
  }
  throw new SteadyOptionsError(
    MODULE,
    'cache.store',
    "'memory', 'cache-manager', { redis } or an HttpCacheStore",
    store,
  );
}

function lowerKeys(h: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(h)) out[k.toLowerCase()] = val;
  return out;
}
