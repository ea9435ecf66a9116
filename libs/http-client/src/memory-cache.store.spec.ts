import { MemoryCacheStore } from './memory-cache.store';
import { entrySize, type StoredResponse } from './http-cache-store.interface';

function entry(id: string, bytes: number, deleteAt = Date.now() + 60_000): StoredResponse {
  return {
    meta: {
      id,
      status: 200,
      statusText: 'OK',
      headers: {},
      vary: {},
      requestTime: 0,
      responseTime: 0,
      staleAt: deleteAt,
      deleteAt,
    },
    body: Buffer.alloc(bytes),
  };
}

describe('MemoryCacheStore', () => {
  it('evicts least recently used URLs one at a time when the count bound is passed (not half the cache)', async () => {
    const store = new MemoryCacheStore({ maxSize: 10 * 1024 * 1024, maxCount: 100 });
    for (let i = 0; i < 100; i++) await store.set(`k${i}`, entry('-', 10));
    await store.get('k0'); // k0 becomes most recently used
    await store.set('k100', entry('-', 10));
    expect(store.stats.count).toBe(100);
    expect(await store.get('k1')).toBeUndefined(); // the least recently used went
    expect(await store.get('k0')).toBeDefined();
    expect(await store.get('k2')).toBeDefined();
    expect(await store.get('k100')).toBeDefined();
  });

  it('keeps total bytes under maxSize', async () => {
    const one = entrySize(entry('-', 1000));
    const store = new MemoryCacheStore({ maxSize: one * 10, maxCount: 1000 });
    for (let i = 0; i < 25; i++) await store.set(`k${i}`, entry('-', 1000));
    expect(store.stats.bytes).toBeLessThanOrEqual(one * 10);
    expect(store.stats.count).toBe(10);
    expect(await store.get('k24')).toBeDefined();
    expect(await store.get('k14')).toBeUndefined();
  });

  it('does not store an entry larger than the whole cache', async () => {
    const store = new MemoryCacheStore({ maxSize: 2048, maxCount: 10 });
    await store.set('big', entry('-', 4096));
    expect(await store.get('big')).toBeUndefined();
    expect(store.stats.bytes).toBe(0);
  });

  it('holds several variants per URL, replaces one by id, drops expired ones on write', async () => {
    const store = new MemoryCacheStore({ maxSize: 1024 * 1024, maxCount: 100 });
    await store.set('u', entry('a', 1));
    await store.set('u', entry('b', 2));
    await store.set('u', entry('old', 3, Date.now() - 1));
    await store.set('u', entry('a', 5));
    const ids = (await store.get('u'))!.map((v) => `${v.meta.id}:${v.body.length}`);
    expect(ids).toEqual(['b:2', 'a:5']);
    expect(store.stats.count).toBe(2);
    await store.delete('u');
    expect(store.stats).toEqual({ bytes: 0, count: 0, keys: 0 });
  });
});
