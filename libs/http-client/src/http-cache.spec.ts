import type { HeaderRecord } from './cache-control';
import {
  HttpCache,
  type BufferedResponse,
  type CacheRequest,
  type HttpCacheOptions,
} from './http-cache';
import type { HttpCacheStore, StoredResponse } from './http-cache-store.interface';
import { MemoryCacheStore } from './memory-cache.store';

const OPTIONS: HttpCacheOptions = {
  shared: false,
  heuristicFraction: 0.1,
  staleRetentionSeconds: 300,
  maxEntrySize: 1024 * 1024,
  coalesce: true,
  staleIfDisconnected: true,
  revalidationBackoffMs: 1000,
};

interface Scripted {
  status?: number;
  statusText?: string;
  headers?: Record<string, string | string[] | undefined>;
  body?: Buffer;
  delayMs?: number;
}

/** A scripted downstream: `respond` decides each response; every request it sees is recorded. */
function origin(respond: (req: CacheRequest, n: number) => Scripted) {
  const seen: CacheRequest[] = [];
  const fetch = async (req: CacheRequest): Promise<BufferedResponse> => {
    seen.push(req);
    const r = respond(req, seen.length);
    if (r.delayMs) await new Promise((res) => setTimeout(res, r.delayMs));
    const headers: HeaderRecord = { date: new Date().toUTCString() };
    for (const [k, v] of Object.entries(r.headers ?? {})) if (v !== undefined) headers[k] = v;
    return {
      status: r.status ?? 200,
      statusText: r.statusText ?? 'OK',
      headers,
      body: r.body ?? Buffer.from(`body ${seen.length}`),
    };
  };
  return { fetch, seen };
}

function events() {
  const counts = { storeErrors: 0, coalesced: 0, revalidations: 0 };
  return {
    counts,
    sink: {
      storeError: () => counts.storeErrors++,
      coalesced: () => counts.coalesced++,
      backgroundRevalidation: () => counts.revalidations++,
    },
  };
}

function get(url: string, headers: HeaderRecord = {}, method = 'GET'): CacheRequest {
  return { method, url: new URL(url), headers };
}

const U = 'http://origin.test/resource';

function newCache(
  options: Partial<HttpCacheOptions> = {},
  store: HttpCacheStore = new MemoryCacheStore({ maxSize: 1 << 24, maxCount: 1000 }),
) {
  const ev = events();
  return { cache: new HttpCache(store, { ...OPTIONS, ...options }, ev.sink), ev, store };
}

describe('HttpCache', () => {
  it('serves a fresh response from the cache with an Age header', async () => {
    const { cache } = newCache();
    const o = origin(() => ({ headers: { 'cache-control': 'max-age=60' } }));
    const a = await cache.handle(get(U), o.fetch);
    const b = await cache.handle(get(U), o.fetch);
    expect([a.cacheStatus, b.cacheStatus]).toEqual(['MISS', 'HIT']);
    expect(b.body.toString()).toBe('body 1');
    expect(b.headers.age).toBe('0');
    expect(o.seen).toHaveLength(1);
  });

  it('stores nothing without freshness or validators: no fixed-TTL fallback', async () => {
    const { cache } = newCache();
    const o = origin(() => ({}));
    await cache.handle(get(U), o.fetch);
    const b = await cache.handle(get(U), o.fetch);
    expect(b.cacheStatus).toBe('MISS');
    expect(o.seen).toHaveLength(2);
  });

  it('heuristic freshness is 10 % of Date − Last-Modified, only for the RFC status list', async () => {
    const { cache } = newCache();
    const now = Date.now();
    const headers = {
      date: new Date(now).toUTCString(),
      'last-modified': new Date(now - 1000_000).toUTCString(),
    };
    const ok = origin(() => ({ headers }));
    await cache.handle(get(U), ok.fetch);
    expect((await cache.handle(get(U), ok.fetch)).cacheStatus).toBe('HIT');
    const created = origin(() => ({ status: 201, headers }));
    await cache.handle(get(`${U}/201`), created.fetch);
    await cache.handle(get(`${U}/201`), created.fetch);
    expect(created.seen).toHaveLength(2);
  });

  it('a 304 updates both the stored and the served headers', async () => {
    const { cache } = newCache();
    const o = origin((req, n) =>
      n === 1
        ? {
            headers: {
              'cache-control': 'max-age=0',
              etag: '"v1"',
              'x-version': 'A',
              'content-type': 'text/plain',
            },
          }
        : {
            status: 304,
            statusText: 'Not Modified',
            headers: {
              'cache-control': 'max-age=60',
              etag: '"v1"',
              'x-version': 'B',
              'content-length': '99',
            },
            body: Buffer.alloc(0),
          },
    );
    await cache.handle(get(U), o.fetch);
    const validated = await cache.handle(get(U), o.fetch);
    expect(o.seen[1].headers['if-none-match']).toBe('"v1"');
    expect(validated.cacheStatus).toBe('REVALIDATED');
    expect(validated.status).toBe(200);
    expect(validated.headers['x-version']).toBe('B'); // served
    expect(validated.headers['content-type']).toBe('text/plain');
    expect(validated.headers['content-length']).toBeUndefined(); // a 304's Content-Length is not taken
    expect(validated.body.toString()).toBe('body 1');
    const hit = await cache.handle(get(U), o.fetch);
    expect(hit.cacheStatus).toBe('HIT'); // max-age=60 from the 304 is stored
    expect(hit.headers['x-version']).toBe('B');
    expect(o.seen).toHaveLength(2);
  });

  it('revalidates with If-Modified-Since when there is only Last-Modified', async () => {
    const { cache } = newCache();
    const lm = 'Wed, 01 Jan 2020 00:00:00 GMT';
    const o = origin((r, n) =>
      n === 1
        ? { headers: { 'cache-control': 'no-cache', 'last-modified': lm } }
        : { status: 304, headers: {} },
    );
    await cache.handle(get(U), o.fetch);
    const r = await cache.handle(get(U), o.fetch);
    expect(o.seen[1].headers['if-modified-since']).toBe(lm);
    expect(r.cacheStatus).toBe('REVALIDATED');
  });

  describe('Vary', () => {
    it("undici#5582: repeated Vary lines are split on commas, so user B never gets user A's response", async () => {
      const { cache } = newCache({ shared: true });
      const o = origin((req) => ({
        headers: {
          'cache-control': 'public, max-age=60',
          vary: ['Accept', 'X-User-Id, Accept-Language'],
        },
        body: Buffer.from(`for ${String(req.headers['x-user-id'])}`),
      }));
      const a = await cache.handle(
        get(U, { accept: 'application/json', 'x-user-id': 'alice' }),
        o.fetch,
      );
      const b = await cache.handle(
        get(U, { accept: 'application/json', 'x-user-id': 'bob' }),
        o.fetch,
      );
      const a2 = await cache.handle(
        get(U, { accept: 'application/json', 'x-user-id': 'alice' }),
        o.fetch,
      );
      expect(a.body.toString()).toBe('for alice');
      expect(b.body.toString()).toBe('for bob');
      expect(b.cacheStatus).toBe('MISS');
      expect(a2.cacheStatus).toBe('HIT');
      expect(a2.body.toString()).toBe('for alice');
    });

    it('undici#3959: `Vary: Accept-Encoding` responses are cached and selected by Accept-Encoding', async () => {
      const { cache } = newCache();
      const o = origin((req) => ({
        headers: {
          'cache-control': 'max-age=60',
          vary: 'Accept-Encoding',
          ...(req.headers['accept-encoding'] ? { 'content-encoding': 'gzip' } : {}),
        },
      }));
      await cache.handle(get(U, { 'accept-encoding': 'gzip' }), o.fetch);
      await cache.handle(get(U), o.fetch);
      const gz = await cache.handle(get(U, { 'accept-encoding': 'gzip' }), o.fetch);
      const plain = await cache.handle(get(U), o.fetch);
      expect([gz.cacheStatus, plain.cacheStatus]).toEqual(['HIT', 'HIT']);
      expect(gz.headers['content-encoding']).toBe('gzip');
      expect(plain.headers['content-encoding']).toBeUndefined();
      expect(o.seen).toHaveLength(2);
    });

    it('matches an absent request header only with absent', async () => {
      const { cache } = newCache();
      const o = origin(() => ({ headers: { 'cache-control': 'max-age=60', vary: 'X-Tenant' } }));
      await cache.handle(get(U), o.fetch);
      expect((await cache.handle(get(U, { 'x-tenant': '' }), o.fetch)).cacheStatus).toBe('MISS');
      expect((await cache.handle(get(U), o.fetch)).cacheStatus).toBe('HIT');
    });

    it('Accept-Language case and spacing select the same variant; another language does not', async () => {
      const { cache } = newCache();
      const o = origin(() => ({
        headers: { 'cache-control': 'max-age=60', vary: 'Accept-Language' },
      }));
      await cache.handle(get(U, { 'accept-language': 'en, de' }), o.fetch);
      expect(
        (await cache.handle(get(U, { 'accept-language': 'EN ,  De' }), o.fetch)).cacheStatus,
      ).toBe('HIT');
      expect((await cache.handle(get(U, { 'accept-language': 'fr' }), o.fetch)).cacheStatus).toBe(
        'MISS',
      );
    });

    it('never stores `Vary: *`', async () => {
      const { cache, store } = newCache();
      const o = origin(() => ({ headers: { 'cache-control': 'max-age=60', vary: 'Accept, *' } }));
      await cache.handle(get(U), o.fetch);
      expect(await store.get(U)).toBeUndefined();
    });
  });

  describe('coalescing', () => {
    it('50 concurrent cold GETs reach the origin once', async () => {
      const { cache, ev } = newCache();
      const o = origin(() => ({ delayMs: 50, headers: { 'cache-control': 'max-age=60' } }));
      const all = await Promise.all(
        Array.from({ length: 50 }, () => cache.handle(get(U), o.fetch)),
      );
      expect(o.seen).toHaveLength(1);
      expect(ev.counts.coalesced).toBe(49);
      expect(new Set(all.map((r) => r.body.toString()))).toEqual(new Set(['body 1']));
    });

    it('a joiner whose Vary-selected headers differ from the leader asks the origin itself', async () => {
      const { cache } = newCache();
      const o = origin((req) => ({
        delayMs: 30,
        headers: { 'cache-control': 'max-age=60', vary: 'x-user' },
        body: Buffer.from(String(req.headers['x-user'])),
      }));
      const [a, b] = await Promise.all([
        cache.handle(get(U, { 'x-user': 'a' }), o.fetch),
        cache.handle(get(U, { 'x-user': 'b' }), o.fetch),
      ]);
      expect([a.body.toString(), b.body.toString()]).toEqual(['a', 'b']);
      expect(o.seen).toHaveLength(2);
    });

    it('never shares a flight across credentials or for unsafe methods (undici#4817)', async () => {
      const { cache } = newCache();
      const o = origin(() => ({ delayMs: 30, headers: { 'cache-control': 'max-age=60' } }));
      await Promise.all([
        cache.handle(get(U, { authorization: 'Bearer a' }), o.fetch),
        cache.handle(get(U, { authorization: 'Bearer b' }), o.fetch),
        cache.handle({ ...get(U, {}, 'POST'), body: 'x' }, o.fetch),
        cache.handle({ ...get(U, {}, 'POST'), body: 'x' }, o.fetch),
      ]);
      expect(o.seen).toHaveLength(4);
    });
  });

  it('stale-while-revalidate: serves stale and revalidates once in the background per window', async () => {
    const { cache, ev } = newCache();
    let n = 0;
    const o = origin(() => {
      n++;
      return n === 1
        ? {
            headers: {
              'cache-control': 'max-age=1, stale-while-revalidate=60',
              etag: '"a"',
              date: new Date(Date.now() - 5000).toUTCString(),
            },
          }
        : {
            delayMs: 50,
            status: 304,
            headers: { 'cache-control': 'max-age=60, stale-while-revalidate=60', etag: '"a"' },
          };
    });
    await cache.handle(get(U), o.fetch);
    const stale = await Promise.all(
      Array.from({ length: 20 }, () => cache.handle(get(U), o.fetch)),
    );
    expect(stale.every((r) => r.cacheStatus === 'STALE')).toBe(true);
    await vi.waitFor(() => expect(ev.counts.revalidations).toBe(1));
    expect(o.seen).toHaveLength(2);
    expect(o.seen[1].headers['if-none-match']).toBe('"a"');
    expect((await cache.handle(get(U), o.fetch)).cacheStatus).toBe('HIT');
  });

  it('stale-if-error serves the stale response on a 5xx and on a network error', async () => {
    const { cache } = newCache({ staleIfDisconnected: false });
    let mode: 'ok' | '503' | 'down' = 'ok';
    const o = origin(() =>
      mode === '503'
        ? { status: 503 }
        : { headers: { 'cache-control': 'max-age=0, stale-if-error=60' } },
    );
    const fetch = async (req: CacheRequest) => {
      if (mode === 'down') throw Object.assign(new Error('ECONNREFUSED'), { kind: 'network' });
      return o.fetch(req);
    };
    await cache.handle(get(U), fetch);
    mode = '503';
    const a = await cache.handle(get(U), fetch);
    mode = 'down';
    const b = await cache.handle(get(U), fetch);
    expect([a.status, a.cacheStatus, b.status, b.cacheStatus]).toEqual([
      200,
      'STALE',
      200,
      'STALE',
    ]);
  });

  it('must-revalidate + origin unreachable → a generated 504 (RFC 9111 §5.2.2.2), not the stale response', async () => {
    const { cache } = newCache();
    let down = false;
    const o = origin(() => ({
      headers: { 'cache-control': 'max-age=0, must-revalidate', etag: '"x"' },
    }));
    const fetch = async (req: CacheRequest) => {
      if (down) throw Object.assign(new Error('closed'), { kind: 'network' });
      return o.fetch(req);
    };
    await cache.handle(get(U), fetch);
    down = true;
    const r = await cache.handle(get(U), fetch);
    expect([r.status, r.cacheStatus]).toEqual([504, 'ERROR']);
  });

  it('unsafe methods invalidate the URL and same-origin Location / Content-Location, not other origins', async () => {
    const { cache, store } = newCache();
    const o = origin((req) =>
      req.method === 'POST'
        ? {
            status: 201,
            headers: { location: '/other', 'content-location': 'http://elsewhere.test/x' },
          }
        : { headers: { 'cache-control': 'max-age=60' } },
    );
    for (const u of [U, 'http://origin.test/other', 'http://elsewhere.test/x'])
      await cache.handle(get(u), o.fetch);
    await cache.handle({ ...get(U, {}, 'POST'), body: '{}' }, o.fetch);
    expect(await store.get(U)).toBeUndefined();
    expect(await store.get('http://origin.test/other')).toBeUndefined();
    expect(await store.get('http://elsewhere.test/x')).toBeDefined();
  });

  it('a POST response with explicit freshness and Content-Location = its URL is reused for GETs (RFC 9110 §9.3.3)', async () => {
    const { cache, store } = newCache();
    const o = origin((req) =>
      req.method === 'POST'
        ? {
            headers: { 'cache-control': 'max-age=60', 'content-location': '/resource' },
            body: Buffer.from('posted'),
          }
        : {},
    );
    await cache.handle({ ...get(U, {}, 'POST'), body: 'x' }, o.fetch);
    const r = await cache.handle(get(U), o.fetch);
    expect([r.cacheStatus, r.body.toString()]).toEqual(['HIT', 'posted']);
    // another Content-Location, or no explicit freshness: not stored
    const o2 = origin(() => ({ headers: { 'content-location': '/resource' } }));
    await cache.handle({ ...get(`${U}/2`, {}, 'POST'), body: 'x' }, o2.fetch);
    expect(await store.get(`${U}/2`)).toBeUndefined();
  });

  it('request directives: no-cache revalidates, max-age limits age, only-if-cached gives 504 on a miss', async () => {
    const { cache } = newCache();
    const o = origin(() => ({
      headers: { 'cache-control': 'max-age=60', date: new Date(Date.now() - 10_000).toUTCString() },
    }));
    await cache.handle(get(U), o.fetch);
    expect(
      (await cache.handle(get(U, { 'cache-control': 'max-age=5' }), o.fetch)).cacheStatus,
    ).toBe('MISS');
    expect((await cache.handle(get(U, { 'cache-control': 'no-cache' }), o.fetch)).cacheStatus).toBe(
      'MISS',
    );
    expect((await cache.handle(get(U, { pragma: 'no-cache' }), o.fetch)).cacheStatus).toBe('MISS');
    expect(o.seen).toHaveLength(4);
    const miss = await cache.handle(
      get(`${U}/cold`, { 'cache-control': 'only-if-cached' }),
      o.fetch,
    );
    expect(miss.status).toBe(504);
    expect(o.seen).toHaveLength(4);
  });

  it('a failing store degrades to a miss, never a failed request', async () => {
    const broken: HttpCacheStore = {
      get: () => Promise.reject(new Error('store down')),
      set: () => Promise.reject(new Error('store down')),
      delete: () => Promise.reject(new Error('store down')),
    };
    const { cache, ev } = newCache({}, broken);
    const o = origin(() => ({ headers: { 'cache-control': 'max-age=60' } }));
    const r = await cache.handle(get(U), o.fetch);
    await cache.handle({ ...get(U, {}, 'DELETE') }, o.fetch);
    expect([r.status, r.cacheStatus]).toEqual([200, 'MISS']);
    expect(ev.counts.storeErrors).toBe(3);
  });

  it('does not store bodies above maxEntrySize but still returns them', async () => {
    const { cache, store } = newCache({ maxEntrySize: 100 });
    const o = origin(() => ({
      headers: { 'cache-control': 'max-age=60' },
      body: Buffer.alloc(101),
    }));
    const r = await cache.handle(get(U), o.fetch);
    expect(r.body.length).toBe(101);
    expect(await store.get(U)).toBeUndefined();
  });

  it('shared mode: no `private`, s-maxage wins, Authorization needs public', async () => {
    const { cache, store } = newCache({ shared: true });
    const priv = origin(() => ({ headers: { 'cache-control': 'private, max-age=60' } }));
    await cache.handle(get(`${U}/p`), priv.fetch);
    expect(await store.get(`${U}/p`)).toBeUndefined();
    const auth = origin(() => ({ headers: { 'cache-control': 'max-age=60' } }));
    await cache.handle(get(`${U}/a`, { authorization: 'x' }), auth.fetch);
    expect(await store.get(`${U}/a`)).toBeUndefined();
    const s = origin(() => ({ headers: { 'cache-control': 'max-age=0, s-maxage=60' } }));
    await cache.handle(get(`${U}/s`), s.fetch);
    expect((await cache.handle(get(`${U}/s`), s.fetch)).cacheStatus).toBe('HIT');
  });

  it('a fresh immutable response is not revalidated by a reload (max-age=0)', async () => {
    const { cache } = newCache();
    const o = origin(() => ({
      headers: { 'cache-control': 'max-age=600, immutable', etag: '"i"' },
    }));
    await cache.handle(get(U), o.fetch);
    expect(
      (await cache.handle(get(U, { 'cache-control': 'max-age=0' }), o.fetch)).cacheStatus,
    ).toBe('HIT');
  });

  it('HEAD is answered from a stored GET response without a body', async () => {
    const { cache } = newCache();
    const o = origin(() => ({ headers: { 'cache-control': 'max-age=60', 'content-length': '6' } }));
    await cache.handle(get(U), o.fetch);
    const head = await cache.handle(get(U, {}, 'HEAD'), o.fetch);
    expect([head.cacheStatus, head.body.length, head.headers['content-length']]).toEqual([
      'HIT',
      0,
      '6',
    ]);
  });

  it('strips hop-by-hop fields before storing', async () => {
    const { cache, store } = newCache();
    const o = origin(() => ({
      headers: {
        'cache-control': 'max-age=60',
        connection: 'x-hop',
        'x-hop': '1',
        'keep-alive': 'timeout=5',
        'x-end': '1',
      },
    }));
    await cache.handle(get(U), o.fetch);
    const [stored] = (await store.get(U)) as StoredResponse[];
    expect(Object.keys(stored.meta.headers).sort()).toEqual(['cache-control', 'date', 'x-end']);
  });
});
