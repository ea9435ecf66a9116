import { createClient } from '@keyv/redis';
import { RESP_TYPES } from '@redis/client';
import { MemoryCacheStore } from './memory-cache.store';
import type { HttpCacheStore, StoredResponse } from './http-cache-store.interface';
import { decodeMeta, encodeMeta } from './redis-cache.codec';

/**
 * Bumped when the stored layout changes: old entries are simply never read again (and expire by TTL).
 * v1: `m:<id>` JSON object + `b:<id>`; v2: `m<id>` compact array (see redis-cache.codec.ts) + `b<id>`.
 */
export const REDIS_SCHEMA_VERSION = 2;

export interface RedisCacheStoreOptions {
  url: string;
  /** Key prefix before the schema version. Default `steady:http-cache`. */
  prefix?: string;
  /** Per-command deadline (ms); slower replies reject (the cache serves a miss). Default 250. */
  commandTimeoutMs?: number;
  /** Optional in-process LRU in front of Redis; entries live at most `ttlMs`. */
  l1?: { maxSize: number; maxCount: number; ttlMs: number };
}

type BufferClient = ReturnType<typeof createBufferClient>;

function createBufferClient(url: string) {
  return createClient({
    url,
    disableOfflineQueue: true, // while Redis is down, commands fail at once (→ miss) instead of queueing
    socket: {
      reconnectStrategy: (retries: number) => Math.min(50 * 2 ** Math.min(retries, 6), 2000),
      connectTimeout: 2000,
    },
  }).withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });
}

/**
 * Redis store through `@keyv/redis`'s client (`@redis/client`). One hash per URL is the variant index:
 * `<prefix>:v<schema>:<url>` holds `m<variant>` (compact JSON-array metadata, see `redis-cache.codec.ts`) and
 * `b<variant>` (the body as **raw bytes**, no base64, no JSON). A variant whose metadata cannot be decoded is dropped
 * like an expired one. A lookup is a single `HGETALL` (no SCAN, no key listing); a write is one `MULTI`
 * (`HSET` + `PEXPIREAT NX` + `PEXPIREAT GT`), so the key's TTL is the latest `deleteAt` of its variants.
 * Variants past their own `deleteAt` are removed when next read. Redis down → every call rejects quickly
 * (offline queue disabled, per-command timeout); the client reconnects in the background.
 *
 * @publicApi
 */
export class RedisCacheStore implements HttpCacheStore {
  readonly prefix: string;
  protected readonly client: BufferClient;
  private readonly l1?: MemoryCacheStore;
  private readonly l1Expiry = new Map<string, number>();
  private readonly timeoutMs: number;
  private connecting?: Promise<unknown>;
  private closed = false;
  /** Last connection error (for diagnostics). */
  lastError?: Error;

  constructor(protected readonly options: RedisCacheStoreOptions) {
    this.prefix = `${options.prefix ?? 'steady:http-cache'}:v${REDIS_SCHEMA_VERSION}:`;
    this.timeoutMs = options.commandTimeoutMs ?? 250;
    this.client = createBufferClient(options.url);
    this.client.on('error', (err: Error) => {
      this.lastError = err;
    });
    if (options.l1)
      this.l1 = new MemoryCacheStore({
        maxSize: options.l1.maxSize,
        maxCount: options.l1.maxCount,
      });
  }

  /** The Redis key of a URL key. */
  keyOf(key: string): string {
    return this.prefix + key;
  }

  async get(key: string): Promise<StoredResponse[] | undefined> {
    if (this.l1) {
      const exp = this.l1Expiry.get(key);
      if (exp !== undefined && exp > Date.now()) {
        const hit = this.l1.getSync(key);
        if (hit) return hit;
      }
    }
    const client = await this.ready();
    const hash = (await this.withTimeout(client.hGetAll(this.keyOf(key)))) as unknown as Record<
      string,
      Buffer
    >;
    const variants: StoredResponse[] = [];
    const expired: string[] = [];
    const now = Date.now();
    for (const [field, value] of Object.entries(hash)) {
      if (field[0] !== 'm') continue;
      const id = field.slice(1);
      const body = hash[`b${id}`];
      let meta;
      try {
        meta = body === undefined ? undefined : decodeMeta(id, value.toString('utf8'), body.length);
      } catch {
        meta = undefined;
      }
      if (meta === undefined || meta.deleteAt <= now) {
        expired.push(field, `b${id}`);
        continue;
      }
      variants.push({ meta, body: body! });
    }
    if (expired.length > 0)
      void this.withTimeout(client.hDel(this.keyOf(key), expired)).catch(() => undefined);
    if (variants.length === 0) return undefined;
    if (this.l1) {
      for (const v of variants) this.l1.setSync(key, v);
      this.touchL1(key, now);
    }
    return variants;
  }

  async set(key: string, entry: StoredResponse): Promise<void> {
    const client = await this.ready();
    const k = this.keyOf(key);
    const at = Math.ceil(entry.meta.deleteAt);
    const id = entry.meta.id;
    await this.withTimeout(
      client
        .multi()
        .hSet(k, { [`m${id}`]: encodeMeta(entry.meta, entry.body.length), [`b${id}`]: entry.body })
        .pExpireAt(k, at, 'NX')
        .pExpireAt(k, at, 'GT')
        .exec(),
    );
    if (this.l1) {
      this.l1.setSync(key, entry);
      this.touchL1(key, Date.now());
    }
  }

  async delete(key: string): Promise<void> {
    if (this.l1) {
      await this.l1.delete(key);
      this.l1Expiry.delete(key);
    }
    const client = await this.ready();
    await this.withTimeout(client.del(this.keyOf(key)));
  }

  /** Records when the L1 copy of `key` expires; keeps the expiry map bounded by what the L1 still holds. */
  private touchL1(key: string, now: number): void {
    this.l1Expiry.set(key, now + this.options.l1!.ttlMs);
    if (this.l1Expiry.size > 2 * this.options.l1!.maxCount) {
      for (const [k, exp] of this.l1Expiry) {
        if (exp <= now || !this.l1!.has(k)) this.l1Expiry.delete(k);
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.client.isOpen) {
      try {
        await this.client.close();
      } catch {
        this.client.destroy();
      }
    } else {
      try {
        this.client.destroy();
      } catch {
        /* never connected */
      }
    }
  }

  private async ready(): Promise<BufferClient> {
    if (this.closed) throw new Error('RedisCacheStore is closed');
    if (this.client.isReady) return this.client;
    if (!this.client.isOpen) {
      this.connecting ??= this.client.connect().catch((err: Error) => {
        this.lastError = err;
        this.connecting = undefined;
        throw err;
      });
      await this.withTimeout(this.connecting);
      return this.client;
    }
    throw new Error(
      `Redis not ready (reconnecting): ${this.lastError?.message ?? 'connection lost'}`,
    );
  }

  private withTimeout<T>(p: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const t = setTimeout(
        () => reject(new Error(`Redis command timed out after ${this.timeoutMs} ms`)),
        this.timeoutMs,
      );
      p.then(
        (v) => {
          clearTimeout(t);
          resolve(v);
        },
        (e: unknown) => {
          clearTimeout(t);
          reject(e as Error);
        },
      );
    });
  }
}
