import { entrySize, type HttpCacheStore, type StoredResponse } from './http-cache-store.interface';

export interface MemoryCacheStoreOptions {
  /** Total bytes (bodies + header estimate) kept; least recently used URLs are evicted beyond it. */
  maxSize: number;
  /** Number of stored responses (variants) kept. */
  maxCount: number;
}

interface Slot {
  variants: StoredResponse[];
  size: number;
}

/**
 * In-process LRU: a `Map` in recency order (a hit moves the URL to the end), bounded by total bytes and entry
 * count; overflow evicts from the least recently used end only as much as needed — never half the cache.
 * Expired variants (past `deleteAt`) are dropped when their URL is touched and as eviction reaches them.
 *
 * @publicApi
 */
export class MemoryCacheStore implements HttpCacheStore {
  private readonly slots = new Map<string, Slot>();
  private bytes = 0;
  private count = 0;

  constructor(protected readonly options: MemoryCacheStoreOptions) {}

  /** Current totals, for tests and gauges. */
  get stats(): { bytes: number; count: number; keys: number } {
    return { bytes: this.bytes, count: this.count, keys: this.slots.size };
  }

  get(key: string): Promise<StoredResponse[] | undefined> {
    return Promise.resolve(this.getSync(key));
  }

  /** Whether `key` is stored (does not count as a use). */
  has(key: string): boolean {
    return this.slots.has(key);
  }

  getSync(key: string): StoredResponse[] | undefined {
    const slot = this.slots.get(key);
    if (!slot) return undefined;
    this.slots.delete(key);
    this.slots.set(key, slot);
    return slot.variants;
  }

  set(key: string, entry: StoredResponse): Promise<void> {
    this.setSync(key, entry);
    return Promise.resolve();
  }

  setSync(key: string, entry: StoredResponse): void {
    const size = entrySize(entry);
    if (size > this.options.maxSize) return;
    const now = Date.now();
    const old = this.slots.get(key);
    const kept = old
      ? old.variants.filter((v) => v.meta.id !== entry.meta.id && v.meta.deleteAt > now)
      : [];
    if (old) this.remove(key, old);
    const variants = [...kept, entry];
    const slot: Slot = { variants, size: variants.reduce((a, v) => a + entrySize(v), 0) };
    this.slots.set(key, slot);
    this.bytes += slot.size;
    this.count += variants.length;
    this.evict(key);
  }

  delete(key: string): Promise<void> {
    const slot = this.slots.get(key);
    if (slot) this.remove(key, slot);
    return Promise.resolve();
  }

  clear(): void {
    this.slots.clear();
    this.bytes = 0;
    this.count = 0;
  }

  private remove(key: string, slot: Slot): void {
    this.slots.delete(key);
    this.bytes -= slot.size;
    this.count -= slot.variants.length;
  }

  /** Evicts least recently used URLs (never `keep`, just written) until both bounds hold. */
  private evict(keep: string): void {
    if (this.bytes <= this.options.maxSize && this.count <= this.options.maxCount) return;
    for (const [key, slot] of this.slots) {
      if (this.bytes <= this.options.maxSize && this.count <= this.options.maxCount) return;
      if (key === keep) continue;
      this.remove(key, slot);
    }
    // Only `keep` is left and it alone exceeds the count bound: trim its oldest variants.
    const slot = this.slots.get(keep);
    while (slot && this.count > this.options.maxCount && slot.variants.length > 1) {
      const v = slot.variants.shift()!;
      const s = entrySize(v);
      slot.size -= s;
      this.bytes -= s;
      this.count--;
    }
  }
}
