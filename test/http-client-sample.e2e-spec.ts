/**
 * The sample's address-book lookups through @steady/http-client: memory cache by default, Redis with REDIS_URL
 * (a real redis-server started here), on Express and Fastify; the Cache-Status header and the metrics show it.
 */
import request from 'supertest';
import { REDIS_SCHEMA_VERSION } from '@steady/http-client';
import { AddressBookOrigin } from '../apps/sample/src/address-book/address-book.origin';
import { AppModule } from '../apps/sample/src/app.module';
import { sampleConfig } from '../apps/sample/src/sample.config';
import { ADAPTERS, createTestApp, type TestApp } from './support/nest-app';
import { startRedisServer, type RedisServerHandle } from './support/redis-server';

function startSample(adapter: (typeof ADAPTERS)[number]): Promise<TestApp> {
  const cfg = sampleConfig({ spamScanner: { latencyMs: 1 } });
  return createTestApp(
    adapter,
    AppModule.forRoot({ ...cfg, shedding: { ...cfg.shedding, eventLoop: false } }),
    {
      bodyLimit: cfg.maxBodyBytes,
    },
  );
}

describe.each(ADAPTERS)('sample address book through @steady/http-client (%s)', (adapter) => {
  describe('default: in-memory cache and the in-process stand-in', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startSample(adapter);
    });
    afterAll(() => t?.close());

    it('GET /contacts/:email: MISS, then HIT without reaching the downstream', async () => {
      const origin = t.app.get(AddressBookOrigin);
      const before = origin.requests;
      const a = await request(t.url).get('/contacts/alice@example.com').expect(200);
      const b = await request(t.url).get('/contacts/alice@example.com').expect(200);
      expect(a.body).toEqual({
        contact: { email: 'alice@example.com', displayName: 'Alice', department: 'mail' },
        cache: 'MISS',
      });
      expect(b.body.cache).toBe('HIT');
      expect(origin.requests - before).toBe(1);
      const metrics = await request(t.url).get('/metrics').expect(200);
      expect(metrics.text).toMatch(
        /steady_http_client_requests_total\{[^}]*client="address-book"[^}]*cache="hit"[^}]*\} [1-9]/,
      );
    });

    it('rejects what is not an email with a 404', async () => {
      await request(t.url).get('/contacts/not-an-email').expect(404);
    });
  });

  describe('REDIS_URL set: the cache lives in Redis', () => {
    let redis: RedisServerHandle;
    let t: TestApp;
    beforeAll(async () => {
      redis = await startRedisServer();
      process.env.REDIS_URL = redis.url;
      try {
        t = await startSample(adapter);
      } finally {
        delete process.env.REDIS_URL;
      }
    });
    afterAll(async () => {
      await t?.close();
      await redis?.stop();
    });

    it('stores the contact in Redis and answers the second lookup from it', async () => {
      await request(t.url).get('/contacts/bob@example.com').expect(200);
      const b = await request(t.url).get('/contacts/bob@example.com').expect(200);
      expect(b.body.cache).toBe('HIT');
      const keys = (await redis.command(
        'KEYS',
        `steady-sample:address-book:v${REDIS_SCHEMA_VERSION}:*`,
      )) as string[];
      expect(keys.some((k) => k.endsWith('/contacts/bob%40example.com'))).toBe(true);
    });
  });
});
