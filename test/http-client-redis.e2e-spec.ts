/**
 * @steady/http-client with its Redis store against a real redis-server started here: two client instances share
 * one cache; bodies are stored as raw bytes under a versioned key with TTL = deleteAt and no SCAN/KEYS; Redis
 * killed (SIGKILL) in the middle of a request loop → every request still succeeds (a miss); Redis back on the same
 * port → hits again. Origin: a Nest app on Express and on Fastify.
 */
import { Controller, Get, Injectable, Module, Param, Res } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import KeyvRedis, { Keyv } from '@keyv/redis';
import {
  CacheManagerCacheStore,
  HttpClient,
  HttpClientModule,
  type HttpClientModuleOptions,
} from '@steady/http-client';
import { createCache } from 'cache-manager';
import { sleep } from './support/children';
import { getFreePort } from './support/free-port';
import { ADAPTERS, createTestApp, type TestApp } from './support/nest-app';
import { startRedisServer, type RedisServerHandle } from './support/redis-server';

@Injectable()
class Hits {
  n = 0;
}

const BODY = 'x'.repeat(4096);

@Controller()
class DirectoryController {
  constructor(private readonly hits: Hits) {}

  @Get('entries/:id')
  entry(
    @Param('id') id: string,
    @Res({ passthrough: true })
    res: { setHeader?: (k: string, v: string) => void; header?: (k: string, v: string) => void },
  ) {
    this.hits.n++;
    const set = (k: string, v: string) => (res.setHeader ? res.setHeader(k, v) : res.header!(k, v));
    set('cache-control', 'max-age=60');
    set('etag', `"${id}"`);
    set('content-type', 'text/plain');
    return `${id}:${BODY}`;
  }
}

@Module({ controllers: [DirectoryController], providers: [Hits] })
class DirectoryModule {}

async function makeClient(
  options: HttpClientModuleOptions,
): Promise<{ ref: TestingModule; client: HttpClient }> {
  const ref = await Test.createTestingModule({
    imports: [HttpClientModule.forRoot(options)],
  }).compile();
  await ref.init();
  return { ref, client: ref.get(HttpClient) };
}

describe.each(ADAPTERS)('@steady/http-client Redis store (%s origin)', (adapter) => {
  let origin: TestApp;
  let redis: RedisServerHandle;
  let a: { ref: TestingModule; client: HttpClient };
  let b: { ref: TestingModule; client: HttpClient };
  const prefix = `steady-test-${adapter}`;

  beforeAll(async () => {
    redis = await startRedisServer();
    origin = await createTestApp(adapter, { imports: [DirectoryModule] });
    const options: HttpClientModuleOptions = {
      baseUrl: origin.url,
      cache: { store: { redis: { url: redis.url, prefix, commandTimeoutMs: 200 } } },
    };
    a = await makeClient(options);
    b = await makeClient(options);
  });

  afterAll(async () => {
    await a?.ref.close();
    await b?.ref.close();
    await origin?.close();
    await redis?.stop();
  });

  it('two client instances share the cache', async () => {
    const first = await a.client.get('/entries/shared');
    const second = await b.client.get('/entries/shared');
    expect([first.cacheStatus, second.cacheStatus]).toEqual(['MISS', 'HIT']);
    expect(second.text()).toBe(`shared:${BODY}`);
    expect(origin.app.get(Hits).n).toBe(1);
  });

  it('stores the body as raw bytes in a versioned per-URL hash with TTL = deleteAt, without SCAN or KEYS', async () => {
    await a.client.get('/entries/layout');
    const key = `${prefix}:v2:${origin.url}/entries/layout`;
    const bodyLen = Buffer.byteLength(`layout:${BODY}`);
    expect(await redis.command('HSTRLEN', key, 'b-')).toBe(bodyLen);
    const fields = (await redis.command('HKEYS', key)) as string[];
    expect(fields.sort()).toEqual(['b-', 'm-']);
    // v2 metadata: [status, headers, vary, responseTime, Δrequest, Δstale, Δdelete(, statusText)]
    const m = JSON.parse((await redis.command('HGET', key, 'm-')) as string) as number[];
    const meta = { deleteAt: m[3] + m[6] };
    // The whole entry (field names + values: metadata + body) within 1.05x the body.
    const metaLen = (await redis.command('HSTRLEN', key, 'm-')) as number;
    expect(metaLen + bodyLen + 'm-b-'.length).toBeLessThanOrEqual(1.05 * bodyLen);
    const pttl = (await redis.command('PTTL', key)) as number;
    // max-age=60 + 300 s retention (etag) → deleteAt ≈ now + 360 s; the key expires then.
    expect(Math.abs(Date.now() + pttl - meta.deleteAt)).toBeLessThan(2000);
    expect(pttl).toBeGreaterThan(350_000);
    const stats = (await redis.command('INFO', 'commandstats')) as string;
    expect(stats).not.toMatch(/cmdstat_(scan|keys):/);
    expect(stats).toMatch(/cmdstat_hgetall:/);
  });

  it('a variant whose metadata does not decode (e.g. a v1 JSON object) is a miss and is removed, then stored anew', async () => {
    await a.client.get('/entries/corrupt');
    const key = `${prefix}:v2:${origin.url}/entries/corrupt`;
    await redis.command(
      'HSET',
      key,
      'm-',
      JSON.stringify({ id: '-', status: 200, deleteAt: 9e15 }),
    );
    const hits = origin.app.get(Hits).n;
    const r = await b.client.get('/entries/corrupt');
    expect(r.cacheStatus).toBe('MISS');
    expect(r.text()).toBe(`corrupt:${BODY}`);
    expect(origin.app.get(Hits).n).toBe(hits + 1);
    expect((await b.client.get('/entries/corrupt')).cacheStatus).toBe('HIT');
    const m = JSON.parse((await redis.command('HGET', key, 'm-')) as string) as unknown;
    expect(Array.isArray(m)).toBe(true);
  });

  it('the optional L1 answers repeated hits in process, without a Redis round trip', async () => {
    const c = await makeClient({
      baseUrl: origin.url,
      cache: { store: { redis: { url: redis.url, prefix: `${prefix}-l1`, l1: { ttlMs: 5000 } } } },
    });
    try {
      const hgetalls = async () =>
        Number(
          /cmdstat_hgetall:calls=(\d+)/.exec(
            (await redis.command('INFO', 'commandstats')) as string,
          )?.[1] ?? 0,
        );
      expect((await c.client.get('/entries/l1')).cacheStatus).toBe('MISS');
      const before = await hgetalls();
      for (let i = 0; i < 5; i++)
        expect((await c.client.get('/entries/l1')).cacheStatus).toBe('HIT');
      expect(await hgetalls()).toBe(before);
    } finally {
      await c.ref.close();
    }
  });

  it("through cache-manager + Keyv + @keyv/redis (store: 'cache-manager' style): works, bodies become :base64: text", async () => {
    const keyvRedis = new KeyvRedis(redis.url);
    const cache = createCache({
      stores: [new Keyv({ store: keyvRedis, namespace: `${prefix}-cm` })],
    });
    const c = await makeClient({
      baseUrl: origin.url,
      cache: { store: new CacheManagerCacheStore(cache) },
    });
    try {
      const first = await c.client.get('/entries/cm');
      const second = await c.client.get('/entries/cm');
      expect([first.cacheStatus, second.cacheStatus]).toEqual(['MISS', 'HIT']);
      expect(second.body.equals(first.body)).toBe(true);
      const keys = (await redis.command('KEYS', `*${prefix}-cm*`)) as string[];
      expect(keys.length).toBe(1);
      const raw = (await redis.command('GET', keys[0])) as string;
      expect(raw).toContain(':base64:');
      expect(raw.length).toBeGreaterThan(1.3 * first.body.length);
    } finally {
      await c.ref.close();
      await cache.disconnect();
    }
  });

  it('Redis killed mid-run: every request still succeeds (miss); restarted on the same port: hits again', async () => {
    const port = redis.port;
    const results: { ok: boolean; status?: CacheLabel; ms: number }[] = [];
    let stop = false;
    const loop = async (i: number) => {
      for (let n = 0; !stop && n < 10_000; n++) {
        const t = performance.now();
        try {
          const r = await a.client.get(`/entries/loop-${i % 5}`);
          results.push({
            ok: r.status === 200 && r.body.length > 4096,
            status: r.cacheStatus,
            ms: performance.now() - t,
          });
        } catch {
          results.push({ ok: false, ms: performance.now() - t });
        }
        await sleep(5);
      }
    };
    const loops = Array.from({ length: 10 }, (_, i) => loop(i));
    await sleep(300);
    const hitsBeforeKill = results.filter((r) => r.status === 'HIT').length;
    redis.child.process.kill('SIGKILL');
    await redis.child.exited;
    const killedAt = results.length;
    await sleep(700);
    const duringOutage = results.slice(killedAt);
    redis = await startRedisServer({ port });
    const restartedAt = results.length;
    // The client reconnects by itself (backoff ≤ 2 s); wait for hits again, bounded.
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && !results.slice(restartedAt).some((r) => r.status === 'HIT'))
      await sleep(50);
    stop = true;
    await Promise.all(loops);

    expect(hitsBeforeKill).toBeGreaterThan(0);
    expect(results.filter((r) => !r.ok)).toEqual([]);
    expect(duringOutage.length).toBeGreaterThan(10);
    expect(duringOutage.every((r) => r.status === 'MISS')).toBe(true);
    expect(Math.max(...duringOutage.map((r) => r.ms))).toBeLessThan(1500);
    expect(results.slice(restartedAt).some((r) => r.status === 'HIT')).toBe(true);
    expect(a.client.stats.storeErrors.get ?? 0).toBeGreaterThan(0);
  }, 30_000);
});

describe('@steady/http-client Redis store: Redis unreachable from the start', () => {
  let origin: TestApp;
  beforeAll(async () => {
    origin = await createTestApp('express', { imports: [DirectoryModule] });
  });
  afterAll(() => origin?.close());

  it('every request succeeds as a miss, none waits on Redis for long', async () => {
    const port = await getFreePort(); // nothing listens there
    const c = await makeClient({
      baseUrl: origin.url,
      cache: { store: { redis: { url: `redis://127.0.0.1:${port}`, commandTimeoutMs: 200 } } },
    });
    try {
      const times: number[] = [];
      for (let i = 0; i < 20; i++) {
        const t = performance.now();
        const r = await c.client.get('/entries/no-redis');
        times.push(performance.now() - t);
        expect([r.status, r.cacheStatus]).toEqual([200, 'MISS']);
      }
      expect(Math.max(...times)).toBeLessThan(1000);
      expect(times.slice(1).reduce((a, b) => a + b, 0) / 19).toBeLessThan(500);
      expect(c.client.stats.storeErrors.get).toBeGreaterThan(0);
    } finally {
      await c.ref.close();
    }
  });
});

type CacheLabel = 'HIT' | 'MISS' | 'REVALIDATED' | 'STALE' | 'ERROR' | 'BYPASS';
