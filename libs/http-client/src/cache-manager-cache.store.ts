import type { HttpCacheStore, StoredResponse } from './http-cache-store.interface';

/** The part of cache-manager 7's `Cache` (and `@nestjs/cache-manager`'s `CACHE_MANAGER`) this store uses. */
export interface CacheManagerLike {
  get<T>(key: string): Promise<T | undefined | null>;
  set<T>(key: string, value: T, ttl?: number): Promise<unknown>;
  del(key: string): Promise<unknown>;
}

interface Record {
  v: number;
  variants: { meta: StoredResponse['meta']; body: unknown }[];
}

/**
 * Stores responses in any cache-manager 7 cache (memory, `@keyv/redis`, any Keyv adapter) — e.g. the app's
 * `CACHE_MANAGER`, so one cache configuration serves the app. One value per URL holds its variants; the TTL is the
 * latest `deleteAt`. Bodies are handed over as Buffers; Keyv's JSON serializer (used by its Redis adapter) turns
 * them into `:base64:` text, ~1.33x; use `{ redis }` for raw-byte bodies.
 *
 * @publicApi
 */
export class CacheManagerCacheStore implements HttpCacheStore {
  constructor(
    protected readonly cache: CacheManagerLike,
    protected readonly prefix = 'steady:http-cache:v1:',
  ) {}

  async get(key: string): Promise<StoredResponse[] | undefined> {
    const rec = await this.cache.get<Record>(this.prefix + key);
    if (!rec || rec.v !== 1 || !Array.isArray(rec.variants)) return undefined;
    return rec.variants.map((x) => ({ meta: x.meta, body: toBuffer(x.body) }));
  }

  async set(key: string, entry: StoredResponse): Promise<void> {
    const now = Date.now();
    const old = await this.cache.get<Record>(this.prefix + key);
    const kept =
      old?.v === 1
        ? old.variants.filter((x) => x.meta.id !== entry.meta.id && x.meta.deleteAt > now)
        : [];
    const variants = [...kept, { meta: entry.meta, body: entry.body }];
    const deleteAt = Math.max(...variants.map((x) => x.meta.deleteAt));
    await this.cache.set<Record>(
      this.prefix + key,
      { v: 1, variants },
      Math.max(1, Math.ceil(deleteAt - now)),
    );
  }

  async delete(key: string): Promise<void> {
    await this.cache.del(this.prefix + key);
  }
}

function toBuffer(body: unknown): Buffer {
  if (Buffer.isBuffer(body)) return body;
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (typeof body === 'string') return Buffer.from(body, 'base64');
  const b = body as { type?: string; data?: number[] };
  if (b && b.type === 'Buffer' && Array.isArray(b.data)) return Buffer.from(b.data);
  throw new Error('unreadable cached body');
}
