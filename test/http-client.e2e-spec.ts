/**
 * @steady/http-client against a real Nest origin on Express and Fastify (port 0): cache hits, 304 revalidation
 * through `request()` and through `fetch` + `client.dispatcher`, coalescing, invalidation, errors, metrics, named
 * clients, forRootAsync and the app's CACHE_MANAGER as the store.
 */
import { CacheModule } from '@nestjs/cache-manager';
import {
  Controller,
  Get,
  Headers,
  Injectable,
  Module,
  Param,
  Post,
  Req,
  Res,
} from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import {
  createHttpClient,
  HttpClient,
  HttpClientError,
  HttpClientModule,
  InjectHttpClient,
  getHttpClientToken,
  HttpCacheStore,
  MemoryCacheStore,
} from '@steady/http-client';
import { MetricsModule, MetricsService } from '@steady/metrics';
import { createServer, get as httpGet } from 'node:http';
import { fetch } from 'undici';
import { getFreePort } from './support/free-port';
import { ADAPTERS, createTestApp, type TestApp } from './support/nest-app';

@Injectable()
class OriginState {
  hits = new Map<string, number>();
  lastHeaders = new Map<string, Record<string, unknown>>();
  version = 1;
  see(route: string, headers: Record<string, unknown>): number {
    const n = (this.hits.get(route) ?? 0) + 1;
    this.hits.set(route, n);
    this.lastHeaders.set(route, headers);
    return n;
  }
  count(route: string): number {
    return this.hits.get(route) ?? 0;
  }
}

interface AnyReply {
  setHeader?(k: string, v: string | string[]): void;
  header?(k: string, v: string | string[]): void;
  status(code: number): unknown;
}

function set(res: AnyReply, name: string, value: string): void {
  if (typeof res.setHeader === 'function') res.setHeader(name, value);
  else res.header!(name, value);
}

function setMany(res: AnyReply, name: string, values: string[]): void {
  if (typeof res.setHeader === 'function') res.setHeader(name, values);
  else res.header!(name, values);
}

@Controller()
class OriginController {
  constructor(private readonly state: OriginState) {}

  @Get('users/:id')
  user(
    @Param('id') id: string,
    @Headers() h: Record<string, unknown>,
    @Res({ passthrough: true }) res: AnyReply,
  ) {
    const n = this.state.see(`users/${id}`, h);
    set(res, 'cache-control', 'max-age=60');
    return { id, name: `user ${id}`, served: n };
  }

  @Get('validated')
  validated(@Headers() h: Record<string, unknown>, @Res({ passthrough: true }) res: AnyReply) {
    this.state.see('validated', h);
    set(res, 'cache-control', 'max-age=0');
    set(res, 'etag', '"v1"');
    set(res, 'x-version', String(this.state.version));
    if (h['if-none-match'] === '"v1"') {
      res.status(304);
      return undefined;
    }
    set(res, 'content-type', 'text/plain');
    return 'body-v1';
  }

  @Get('slow')
  async slow(@Headers() h: Record<string, unknown>, @Res({ passthrough: true }) res: AnyReply) {
    this.state.see('slow', h);
    await new Promise((r) => setTimeout(r, 100));
    set(res, 'cache-control', 'max-age=60');
    return { slow: true };
  }

  // Two Vary lines on the wire: `Vary: Accept` and `Vary: X-User-Id` (undici#5582).
  @Get('me')
  me(@Headers() h: Record<string, unknown>, @Res({ passthrough: true }) res: AnyReply) {
    this.state.see('me', h);
    setMany(res, 'vary', ['Accept', 'X-User-Id']);
    set(res, 'cache-control', 'max-age=60');
    return { user: h['x-user-id'] ?? null };
  }

  // undici#3959: `Vary: Accept-Encoding` must still be cached.
  @Get('encoded')
  encoded(@Headers() h: Record<string, unknown>, @Res({ passthrough: true }) res: AnyReply) {
    this.state.see('encoded', h);
    set(res, 'vary', 'Accept-Encoding');
    set(res, 'cache-control', 'max-age=60');
    return { encoding: h['accept-encoding'] ?? null };
  }

  @Get('hang')
  async hang() {
    await new Promise((r) => setTimeout(r, 2000));
    return 'late';
  }

  @Get('missing')
  missing(@Res({ passthrough: true }) res: AnyReply) {
    res.status(404);
    set(res, 'cache-control', 'max-age=60');
    return { error: 'not found' };
  }

  @Post('users/:id')
  update(@Param('id') id: string, @Req() _req: unknown) {
    this.state.see(`post users/${id}`, {});
    return { id, updated: true };
  }
}

@Module({ controllers: [OriginController], providers: [OriginState] })
class OriginModule {}

describe.each(ADAPTERS)('@steady/http-client against a %s origin', (adapter) => {
  let origin: TestApp;
  let state: OriginState;
  let moduleRef: TestingModule;
  let client: HttpClient;
  let metrics: MetricsService;

  beforeAll(async () => {
    origin = await createTestApp(adapter, { imports: [OriginModule] });
    state = origin.app.get(OriginState);
    moduleRef = await Test.createTestingModule({
      imports: [
        MetricsModule.forRoot(),
        HttpClientModule.forRoot({
          baseUrl: origin.url,
          cache: { cacheStatusHeader: true },
          timeoutMs: 10_000,
        }),
      ],
    }).compile();
    await moduleRef.init();
    client = moduleRef.get(HttpClient);
    metrics = moduleRef.get(MetricsService);
  });

  afterAll(async () => {
    await moduleRef?.close();
    await origin?.close();
  });

  it('MISS then HIT: the second GET never reaches the origin; json() parses', async () => {
    const a = await client.get('/users/1');
    const b = await client.get('/users/1');
    expect([a.cacheStatus, b.cacheStatus]).toEqual(['MISS', 'HIT']);
    expect(b.headers['cache-status']).toBe('steady; hit');
    expect(await client.json<{ served: number }>('/users/1')).toMatchObject({ id: '1', served: 1 });
    expect(state.count('users/1')).toBe(1);
  });

  it('a 304 revalidation updates the served headers and keeps the stored body', async () => {
    state.version = 1;
    const first = await client.get('/validated');
    state.version = 2;
    const second = await client.get('/validated');
    expect(first.text()).toBe('body-v1');
    expect(second.cacheStatus).toBe('REVALIDATED');
    expect(second.status).toBe(200);
    expect(second.text()).toBe('body-v1');
    expect(second.headers['x-version']).toBe('2');
    expect(state.lastHeaders.get('validated')?.['if-none-match']).toBe('"v1"');
  });

  it('fetch through client.dispatcher: cached, and revalidation sends no Cache-Control: no-cache', async () => {
    const before = state.count('validated');
    const r1 = await fetch(`${origin.url}/users/fetch`, { dispatcher: client.dispatcher });
    const r2 = await fetch(`${origin.url}/users/fetch`, { dispatcher: client.dispatcher });
    expect(await r1.json()).toMatchObject({ served: 1 });
    expect(await r2.json()).toMatchObject({ served: 1 });
    expect(r2.headers.get('cache-status')).toBe('steady; hit');
    expect(state.count('users/fetch')).toBe(1);
    const v = await fetch(`${origin.url}/validated`, { dispatcher: client.dispatcher });
    expect(v.status).toBe(200);
    expect(await v.text()).toBe('body-v1');
    expect(state.count('validated')).toBe(before + 1);
    const seen = state.lastHeaders.get('validated')!;
    expect(seen['if-none-match']).toBe('"v1"');
    expect(seen['cache-control']).toBeUndefined();
  });

  it('50 concurrent cold GETs against a 100 ms route reach the origin once', async () => {
    const all = await Promise.all(Array.from({ length: 50 }, () => client.get('/slow')));
    expect(all.every((r) => r.status === 200)).toBe(true);
    expect(state.count('slow')).toBe(1);
    expect(client.stats.coalesced).toBe(49);
  });

  it('undici#5582: repeated Vary lines on the wire keep users apart (no cross-user leak)', async () => {
    const alice = await client.get('/me', {
      headers: { accept: 'application/json', 'x-user-id': 'alice' },
    });
    const bob = await client.get('/me', {
      headers: { accept: 'application/json', 'x-user-id': 'bob' },
    });
    const alice2 = await client.get('/me', {
      headers: { accept: 'application/json', 'x-user-id': 'alice' },
    });
    expect(alice.json()).toEqual({ user: 'alice' });
    expect(bob.json()).toEqual({ user: 'bob' });
    expect([bob.cacheStatus, alice2.cacheStatus]).toEqual(['MISS', 'HIT']);
    expect(alice2.json()).toEqual({ user: 'alice' });
    expect(state.count('me')).toBe(2);
    // the origin really sends two Vary lines
    const raw = await new Promise<string[]>((resolve, reject) =>
      httpGet(`${origin.url}/me`, (res) => {
        res.resume();
        resolve(
          res.rawHeaders.filter(
            (_, i) => i % 2 === 0 && res.rawHeaders[i].toLowerCase() === 'vary',
          ),
        );
      }).on('error', reject),
    );
    expect(raw.length).toBe(2);
  });

  it('undici#3959: `Vary: Accept-Encoding` responses are cached per encoding', async () => {
    await client.get('/encoded', { headers: { 'accept-encoding': 'gzip' } });
    await client.get('/encoded', { headers: { 'accept-encoding': 'br' } });
    const gz = await client.get('/encoded', { headers: { 'accept-encoding': 'gzip' } });
    const br = await client.get('/encoded', { headers: { 'accept-encoding': 'br' } });
    expect([gz.cacheStatus, br.cacheStatus]).toEqual(['HIT', 'HIT']);
    expect([gz.json(), br.json()]).toEqual([{ encoding: 'gzip' }, { encoding: 'br' }]);
    expect(state.count('encoded')).toBe(2);
  });

  it('a POST invalidates the stored GET response', async () => {
    await client.get('/users/7');
    expect((await client.get('/users/7')).cacheStatus).toBe('HIT');
    const post = await client.request('/users/7', {
      method: 'POST',
      body: '{}',
      headers: { 'content-type': 'application/json' },
    });
    expect(post.cacheStatus).toBe('BYPASS');
    const after = await client.get('/users/7');
    expect(after.cacheStatus).toBe('MISS');
    expect(state.count('users/7')).toBe(2);
  });

  it('a POST through fetch + client.dispatcher invalidates too', async () => {
    await client.get('/users/8');
    expect((await client.get('/users/8')).cacheStatus).toBe('HIT');
    const post = await fetch(`${origin.url}/users/8`, {
      method: 'POST',
      body: '{}',
      headers: { 'content-type': 'application/json' },
      dispatcher: client.dispatcher,
    });
    expect(post.status).toBe(201);
    await post.arrayBuffer();
    expect((await client.get('/users/8')).cacheStatus).toBe('MISS');
  });

  it('json() throws a typed error on a non-2xx status; a 404 with max-age is cached', async () => {
    await expect(client.json('/missing')).rejects.toMatchObject({
      name: 'HttpClientError',
      kind: 'status',
      status: 404,
    });
    expect((await client.get('/missing')).cacheStatus).toBe('HIT');
  });

  it('timeouts and refused connections are HttpClientErrors naming the URL and cause', async () => {
    const t = await client.get('/hang', { timeoutMs: 300 }).catch((e: unknown) => e);
    expect(t).toBeInstanceOf(HttpClientError);
    expect(t).toMatchObject({ kind: 'timeout' });
    expect((t as Error).message).toContain(`${origin.url}/hang`);
    const port = await getFreePort();
    const refused = await client.get(`http://127.0.0.1:${port}/x`).catch((e: unknown) => e);
    expect(refused).toMatchObject({ kind: 'network', code: 'ECONNREFUSED' });
    expect((refused as Error).message).toContain(`http://127.0.0.1:${port}/x`);
  });

  it('a caller abort ends the request with kind "aborted" and leaves no listener on the caller signal', async () => {
    const controller = new AbortController();
    const pending = client
      .get('/hang', { signal: controller.signal, timeoutMs: 5000 })
      .catch((e: unknown) => e);
    setTimeout(() => controller.abort(), 50);
    expect(await pending).toMatchObject({ name: 'HttpClientError', kind: 'aborted' });
    const late = await client.get('/users/abort-ok', { signal: new AbortController().signal });
    expect(late.status).toBe(200);
  });

  it("a request waiting on another caller's flight (coalesced) ends at its own abort", async () => {
    const leader = client.get('/hang', { timeoutMs: 5000 }).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 20));
    const controller = new AbortController();
    const started = Date.now();
    const follower = client.get('/hang', { signal: controller.signal }).catch((e: unknown) => e);
    setTimeout(() => controller.abort(), 50);
    expect(await follower).toMatchObject({ name: 'HttpClientError', kind: 'aborted' });
    expect(Date.now() - started).toBeLessThan(1500);
    await leader;
  });

  it('registers the contract metrics', async () => {
    const text = (await metrics.render()).body;
    expect(text).toMatch(/steady_http_client_requests_total\{client="default",cache="hit"\} [1-9]/);
    expect(text).toMatch(
      /steady_http_client_requests_total\{client="default",cache="miss"\} [1-9]/,
    );
    expect(text).toMatch(
      /steady_http_client_requests_total\{client="default",cache="revalidated"\} [1-9]/,
    );
    expect(text).toMatch(/steady_http_client_coalesced_requests_total\{client="default"\} (49|50)/);
    expect(text).toMatch(
      /steady_http_client_origin_duration_seconds_count\{client="default"\} [1-9]/,
    );
    expect(text).toContain('# TYPE steady_http_client_store_errors_total counter');
  });
});

@Injectable()
class Consumer {
  constructor(
    @InjectHttpClient('directory') readonly directory: HttpClient,
    @InjectHttpClient('billing') readonly billing: HttpClient,
  ) {}
}

describe('@steady/http-client module wiring', () => {
  let origin: TestApp;

  beforeAll(async () => {
    origin = await createTestApp('express', { imports: [OriginModule] });
  });
  afterAll(async () => {
    await origin?.close();
  });

  it('named clients, forRootAsync, and the app CACHE_MANAGER as the store', async () => {
    const url = origin.url;
    const moduleRef = await Test.createTestingModule({
      imports: [
        CacheModule.register({ isGlobal: true }),
        HttpClientModule.forRoot({
          name: 'directory',
          baseUrl: url,
          cache: { store: 'cache-manager' },
        }),
        HttpClientModule.forRootAsync({
          name: 'billing',
          useFactory: async () => ({ baseUrl: url, cache: false }),
        }),
      ],
      providers: [Consumer],
    }).compile();
    const consumer = moduleRef.get(Consumer);
    expect(moduleRef.get(getHttpClientToken('directory'))).toBe(consumer.directory);
    expect(consumer.directory.name).toBe('directory');
    await consumer.directory.get('/users/named');
    expect((await consumer.directory.get('/users/named')).cacheStatus).toBe('HIT');
    expect((await consumer.billing.get('/users/named')).cacheStatus).toBe('BYPASS');
    expect(origin.app.get(OriginState).count('users/named')).toBe(2);
    await moduleRef.close();
  });

  it('an HttpCacheStore provider (global) is used when cache.store is not set', async () => {
    const store = new MemoryCacheStore({ maxSize: 1 << 20, maxCount: 10 });
    @Module({
      providers: [{ provide: HttpCacheStore, useValue: store }],
      exports: [HttpCacheStore],
    })
    class StoreModule {}
    const moduleRef = await Test.createTestingModule({
      imports: [
        { module: StoreModule, global: true },
        HttpClientModule.forRoot({ baseUrl: origin.url }),
      ],
    }).compile();
    await moduleRef.get(HttpClient).get('/users/provided');
    expect(store.stats.count).toBe(1);
    await moduleRef.close();
  });

  it('createHttpClient(): the same client without Nest DI', async () => {
    const c = createHttpClient({ baseUrl: origin.url });
    try {
      await c.get('/users/standalone');
      expect((await c.get('/users/standalone')).cacheStatus).toBe('HIT');
    } finally {
      await c.close();
    }
    expect(() => createHttpClient({ retries: -1 })).toThrow(/retries/);
  });

  it("store 'cache-manager' without CacheModule fails at startup naming the option", async () => {
    await expect(
      Test.createTestingModule({
        imports: [HttpClientModule.forRoot({ cache: { store: 'cache-manager' } })],
      }).compile(),
    ).rejects.toThrow(/cache\.store/);
  });
});

describe('@steady/http-client retries', () => {
  it('retries an idempotent request after a connection reset only when asked to (off by default)', async () => {
    let n = 0;
    const server = createServer((req, res) => {
      n++;
      if (n % 2 === 1) {
        req.socket.destroy(); // every other request: the connection is reset before any response
        return;
      }
      res.end('ok');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as { port: number };
    const url = `http://127.0.0.1:${port}/x`;
    const moduleRef = await Test.createTestingModule({
      imports: [
        HttpClientModule.forRoot({ name: 'once', cache: false }),
        HttpClientModule.forRoot({ name: 'retrying', cache: false, retries: 1, retryDelayMs: 10 }),
      ],
    }).compile();
    try {
      const once = moduleRef.get<HttpClient>(getHttpClientToken('once'));
      const retrying = moduleRef.get<HttpClient>(getHttpClientToken('retrying'));
      await expect(once.get(url)).rejects.toMatchObject({
        name: 'HttpClientError',
        kind: 'network',
      });
      expect(n).toBe(1);
      n = 2; // the next request is reset again
      const r = await retrying.get(url);
      expect([r.status, r.text(), n]).toEqual([200, 'ok', 4]);
      await expect(retrying.request(url, { method: 'POST', body: 'x' })).rejects.toMatchObject({
        kind: 'network',
      });
      expect(n).toBe(5); // POST is not retried
    } finally {
      await moduleRef.close();
      await new Promise((r) => server.close(r));
    }
  });
});
