import { SteadyOptionsError } from '@steady/core';
import { resolveHttpClientOptions } from './http-client-options.validation';

describe('resolveHttpClientOptions', () => {
  it('defaults: private in-memory cache, 64 MiB / 10 000 entries / 2 MiB max entry, retries off', () => {
    const o = resolveHttpClientOptions();
    expect(o.name).toBe('default');
    expect(o.retries).toBe(0);
    expect(o.cache).toMatchObject({
      shared: false,
      store: { kind: 'default' },
      maxSize: 64 * 1024 * 1024,
      maxCount: 10_000,
      maxEntrySize: 2 * 1024 * 1024,
      heuristicFraction: 0.1,
      coalesce: true,
    });
  });

  it.each([
    [{ retries: -1 }, 'retries'],
    [{ timeoutMs: 0 }, 'timeoutMs'],
    [{ baseUrl: 'ftp://x' }, 'baseUrl'],
    [{ name: 'has space' }, 'name'],
    [{ cache: { maxSize: 10 } }, 'cache.maxSize'],
    [{ cache: { type: 'public' } }, 'cache.type'],
    [{ cache: { heuristicFraction: 2 } }, 'cache.heuristicFraction'],
    [{ cache: { store: 'disk' } }, 'cache.store'],
    [{ cache: { store: { redis: 'http://x' } } }, 'cache.store.redis'],
    [{ cache: { maxAge: 5 } }, 'maxAge'],
    [{ timeout: 5 }, 'timeout'],
  ])('rejects %j naming %s', (options, option) => {
    let err: unknown;
    try {
      resolveHttpClientOptions(options as never);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SteadyOptionsError);
    expect((err as Error).message).toContain(option);
  });

  it('accepts a Redis URL, an L1 and the cache-manager store', () => {
    const r = resolveHttpClientOptions({
      cache: { store: { redis: { url: 'redis://127.0.0.1:6379', l1: {} } } },
    });
    expect(r.cache && r.cache.store).toMatchObject({
      kind: 'redis',
      options: {
        url: 'redis://127.0.0.1:6379',
        prefix: 'steady:http-cache',
        l1: { maxCount: 1000, ttlMs: 1000 },
      },
    });
    expect(resolveHttpClientOptions({ cache: { store: 'cache-manager' } }).cache).toMatchObject({
      store: { kind: 'cache-manager' },
    });
    expect(resolveHttpClientOptions({ cache: false }).cache).toBe(false);
  });
});
