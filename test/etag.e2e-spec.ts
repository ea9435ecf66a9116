import {
  Body,
  Controller,
  Get,
  Header,
  Injectable,
  Module,
  NotFoundException,
  Param,
  Patch,
  Post,
  StreamableFile,
  type DynamicModule,
} from '@nestjs/common';
import {
  CacheControl,
  ETag,
  EtagModule,
  EtagService,
  LastModified,
  ShallowETag,
  SkipEtag,
  type EtagModuleOptions,
} from '@steady/etag';
import { MetricsModule } from '@steady/metrics';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { request as undiciRequest } from 'undici';
import { httpRequest } from './support/keep-alive-load';
import { ADAPTERS, createTestApp, type AdapterName, type TestApp } from './support/nest-app';

interface Item {
  id: string;
  title: string;
  read: boolean;
  version: number;
  updatedAt: Date;
}

/** The "database": versions, and what the resolvers saw. */
@Injectable()
class ItemStore {
  readonly items = new Map<string, Item>();
  handlerCalls = 0;
  resolverCalls = 0;
  lastCacheControl: string | undefined;
  constructor() {
    this.reset();
  }
  reset(): void {
    this.items.clear();
    this.items.set('a', {
      id: 'a',
      title: 'first',
      read: false,
      version: 1,
      updatedAt: new Date(1_700_000_000_000),
    });
    this.handlerCalls = 0;
    this.resolverCalls = 0;
  }
  /** Async, like a database lookup. */
  async version(id: string, cacheControl?: string): Promise<number | undefined> {
    this.resolverCalls++;
    this.lastCacheControl = cacheControl;
    await new Promise((r) => setImmediate(r));
    return this.items.get(id)?.version;
  }
  get(id: string): Item {
    this.handlerCalls++;
    const item = this.items.get(id);
    if (!item) throw new NotFoundException(`item ${id} not found`);
    return item;
  }
}

const BIG = {
  rows: Array.from({ length: 200 }, (_, i) => ({ i, text: `row ${i} of the listing` })),
};

@Controller('items')
class ItemsController {
  constructor(private readonly store: ItemStore) {}

  @Get(':id')
  @ETag((req, ctx) => ctx.get(ItemStore).version(req.params.id, req.headers['cache-control']))
  @LastModified((req, ctx) => ctx.get(ItemStore).items.get(req.params.id)?.updatedAt)
  @CacheControl({ private: true, maxAge: 0, mustRevalidate: true })
  @Header('Vary', 'Accept')
  @Header('Content-Location', '/items/a')
  @Header('Expires', 'Thu, 01 Jan 2037 00:00:00 GMT')
  @Header('Content-Language', 'en')
  get(@Param('id') id: string): Item {
    return this.store.get(id);
  }

  @Patch(':id')
  @ETag((req, ctx) => ctx.get(ItemStore).version(req.params.id), { requireIfMatch: true })
  patch(@Param('id') id: string, @Body() body: { read?: boolean }): Item {
    const item = this.store.get(id);
    item.read = body.read ?? item.read;
    item.version++;
    item.updatedAt = new Date();
    return item;
  }

  @Post()
  create(@Body() body: { title: string }) {
    return { id: 'new', title: body.title };
  }
}

@Controller()
class MiscController {
  handled = 0;

  @Get('listing')
  listing() {
    this.handled++;
    return BIG;
  }

  @Get('text')
  text() {
    return 'plain text body';
  }

  @Get('big')
  @ShallowETag({ maxBodyBytes: 1024 })
  big() {
    return BIG;
  }

  @Get('file')
  file() {
    return new StreamableFile(Readable.from([Buffer.from('file contents')]), {
      type: 'text/plain',
    });
  }

  @Get('nonce')
  @SkipEtag()
  nonce() {
    return { nonce: Math.random() };
  }

  @Get('own-etag')
  @Header('ETag', '"mine"')
  own() {
    return { mine: true };
  }

  @Get('odd-version')
  @ETag(() => 'version with "quotes" and spaces')
  odd() {
    return { odd: true };
  }

  @Get('vary')
  @Header('Vary', 'Accept-Encoding')
  @Header('Content-Location', '/vary')
  @Header('Content-Language', 'en')
  vary() {
    return { vary: true };
  }
}

function appModule(options: EtagModuleOptions = {}, metrics = true): DynamicModule {
  @Module({
    imports: [
      ...(metrics ? [MetricsModule.forRoot({ defaultMetrics: false })] : []),
      EtagModule.forRoot(options),
    ],
    controllers: [ItemsController, MiscController],
    providers: [ItemStore],
  })
  class AppModule {}
  return { module: AppModule };
}

const sha1 = (s: string) => createHash('sha1').update(s).digest('base64url');

/** One request on a fresh connection with exactly these headers (no client adds anything). */
const raw = (port: number, method: string, path: string, headers: Record<string, string> = {}) =>
  httpRequest(`http://127.0.0.1:${port}${path}`, { method, headers });

describe.each(ADAPTERS)('@steady/etag (%s)', (adapter: AdapterName) => {
  let t: TestApp;
  let store: ItemStore;
  beforeAll(async () => {
    t = await createTestApp(adapter, appModule());
    store = t.app.get(ItemStore);
  });
  afterAll(() => t?.close());
  beforeEach(() => store.reset());

  describe('revalidation from real clients', () => {
    it('a Node fetch() revalidation gets 304, although fetch sends Cache-Control: no-cache', async () => {
      const first = await fetch(`${t.url}/items/a`);
      expect(first.status).toBe(200);
      const tag = first.headers.get('etag');
      expect(tag).toBe('"1"');
      await first.text();
      const again = await fetch(`${t.url}/items/a`, { headers: { 'if-none-match': tag! } });
      expect(again.status).toBe(304);
      expect(await again.text()).toBe('');
      expect(store.lastCacheControl).toBe('no-cache'); // what fetch added: the trap was exercised
      expect(store.handlerCalls).toBe(1);
    });

    it('an undici request() revalidation gets 304', async () => {
      const first = await undiciRequest(`${t.url}/items/a`);
      const tag = first.headers.etag as string;
      await first.body.text();
      const again = await undiciRequest(`${t.url}/items/a`, { headers: { 'if-none-match': tag } });
      expect(again.statusCode).toBe(304);
      expect(await again.body.text()).toBe('');
      // a shallow resource too
      const list = await undiciRequest(`${t.url}/listing`);
      const listTag = list.headers.etag as string;
      await list.body.text();
      const listAgain = await undiciRequest(`${t.url}/listing`, {
        headers: { 'if-none-match': listTag },
      });
      expect(listAgain.statusCode).toBe(304);
      await listAgain.body.text();
    });
  });

  describe('deep validators', () => {
    it('answers 304 before the handler, with the validators a 200 carries and no content headers', async () => {
      const ok = await raw(t.port, 'GET', '/items/a');
      expect(ok.status).toBe(200);
      expect(ok.headers).toMatchObject({
        etag: '"1"',
        'last-modified': 'Tue, 14 Nov 2023 22:13:20 GMT',
        'cache-control': 'private, must-revalidate, max-age=0',
        vary: 'Accept',
        'content-location': '/items/a',
        'content-language': 'en',
      });
      const calls = store.handlerCalls;
      for (const method of ['GET', 'HEAD']) {
        const nm = await raw(t.port, method, '/items/a', { 'if-none-match': '"1"' });
        expect(nm.status).toBe(304);
        expect(nm.body).toBe('');
        expect(nm.headers).toMatchObject({
          etag: '"1"',
          'cache-control': 'private, must-revalidate, max-age=0',
          vary: 'Accept',
          'content-location': '/items/a',
          expires: 'Thu, 01 Jan 2037 00:00:00 GMT',
        });
        expect(nm.headers.date).toBeDefined();
        for (const dropped of [
          'content-type',
          'content-length',
          'content-language',
          'last-modified',
        ]) {
          expect(nm.headers[dropped]).toBeUndefined();
        }
      }
      const ims = await raw(t.port, 'GET', '/items/a', {
        'if-modified-since': ok.headers['last-modified']!,
      });
      expect(ims.status).toBe(304);
      expect(ims.headers['last-modified']).toBeUndefined(); // the ETag is there
      expect(store.handlerCalls).toBe(calls); // none of the 304s called the handler
    });

    it('GET of a missing resource reaches the handler (404), whatever the preconditions', async () => {
      const res = await raw(t.port, 'GET', '/items/zzz', {
        'if-none-match': '*',
        'if-match': '"1"',
      });
      expect(res.status).toBe(404);
      expect(res.headers.etag).toBeUndefined();
      expect(res.headers['cache-control']).toBeUndefined();
    });

    it('guards writes: 428 without If-Match, 412 when stale — neither calls the handler — then 200 with the new ETag', async () => {
      const patch = (headers: Record<string, string>) =>
        undiciRequest(`${t.url}/items/a`, {
          method: 'PATCH',
          headers: { 'content-type': 'application/json', ...headers },
          body: JSON.stringify({ read: true }),
        });
      const missing = await patch({});
      expect(missing.statusCode).toBe(428);
      expect(await missing.body.json()).toMatchObject({
        statusCode: 428,
        error: 'Precondition Required',
      });
      const stale = await patch({ 'if-match': '"0"' });
      expect(stale.statusCode).toBe(412);
      expect(stale.headers.etag).toBe('"1"'); // what to fetch before retrying
      expect(await stale.body.json()).toMatchObject({ statusCode: 412 });
      const weak = await patch({ 'if-match': 'W/"1"' }); // strong comparison: a weak tag never matches
      expect(weak.statusCode).toBe(412);
      await weak.body.text();
      const garbage = await patch({ 'if-match': 'garbage, ,"' });
      expect(garbage.statusCode).toBe(412);
      await garbage.body.text();
      expect(store.handlerCalls).toBe(0);

      const gone = await undiciRequest(`${t.url}/items/zzz`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      expect(gone.statusCode).toBe(404); // nothing to overwrite: no 428, the handler answers
      await gone.body.text();
      const goneIfMatch = await undiciRequest(`${t.url}/items/zzz`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json', 'if-match': '*' },
        body: '{}',
      });
      expect(goneIfMatch.statusCode).toBe(412); // If-Match: * is false without a representation
      await goneIfMatch.body.text();
      expect(store.handlerCalls).toBe(1);
      store.handlerCalls = 0;

      const ok = await patch({ 'if-match': '"1"' });
      expect(ok.statusCode).toBe(200);
      expect(ok.headers.etag).toBe('"2"');
      expect(await ok.body.json()).toMatchObject({ read: true, version: 2 });
      expect(store.handlerCalls).toBe(1);
      const replay = await patch({ 'if-match': '"1"' }); // the same write again: lost-update protection
      expect(replay.statusCode).toBe(412);
      await replay.body.text();
      expect(store.handlerCalls).toBe(1);

      const old = await raw(t.port, 'GET', '/items/a', { 'if-none-match': '"1"' });
      expect(old.status).toBe(200);
      expect(old.headers.etag).toBe('"2"');
      const fresh = await raw(t.port, 'GET', '/items/a', { 'if-none-match': '"2"' });
      expect(fresh.status).toBe(304);
    });

    it('hashes a version that is not a valid opaque tag into one', async () => {
      const res = await raw(t.port, 'GET', '/odd-version');
      expect(res.headers.etag).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
      const again = await raw(t.port, 'GET', '/odd-version', {
        'if-none-match': res.headers.etag!,
      });
      expect(again.status).toBe(304);
    });
  });

  describe('shallow ETags', () => {
    it('tags GET bodies weakly, the same for HEAD, and answers 304 after the handler', async () => {
      const body = JSON.stringify(BIG);
      const res = await raw(t.port, 'GET', '/listing');
      expect(res.headers.etag).toBe(`W/"${sha1(body)}"`);
      expect(res.body).toBe(body);
      const head = await raw(t.port, 'HEAD', '/listing');
      expect(head.headers.etag).toBe(res.headers.etag);
      expect(head.headers['content-length']).toBe(String(Buffer.byteLength(body)));
      const misc = t.app.get(MiscController);
      const before = misc.handled;
      for (const inm of [res.headers.etag!, `"${sha1(body)}"`, `"x", ${res.headers.etag}`, '*']) {
        const nm = await raw(t.port, 'GET', '/listing', { 'if-none-match': inm });
        expect(nm.status).toBe(304);
        expect(nm.body).toBe('');
        expect(nm.headers['content-type']).toBeUndefined();
        expect(nm.headers['content-length']).toBeUndefined();
      }
      const headNm = await raw(t.port, 'HEAD', '/listing', { 'if-none-match': res.headers.etag! });
      expect(headNm.status).toBe(304);
      expect(headNm.headers['content-length']).toBeUndefined();
      expect(misc.handled).toBe(before + 5); // shallow: the handler always runs
      // If-Match on GET uses the strong comparison: a weak shallow tag never matches it
      const im = await raw(t.port, 'GET', '/listing', { 'if-match': res.headers.etag! });
      expect(im.status).toBe(412);
      expect(JSON.parse(im.body)).toMatchObject({ statusCode: 412 });
    });

    it('tags string bodies, honours a handler-set ETag, and leaves writes untagged', async () => {
      const text = await raw(t.port, 'GET', '/text');
      expect(text.headers.etag).toBe(`W/"${sha1('plain text body')}"`);
      const own = await raw(t.port, 'GET', '/own-etag');
      expect(own.headers.etag).toBe('"mine"');
      expect((await raw(t.port, 'GET', '/own-etag', { 'if-none-match': '"mine"' })).status).toBe(
        304,
      );
      const post = await undiciRequest(`${t.url}/items`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'if-none-match': '*' },
        body: JSON.stringify({ title: 'x' }),
      });
      expect(post.statusCode).toBe(201); // no deep validator: a write's preconditions cannot be evaluated
      expect(post.headers.etag).toBeUndefined();
      await post.body.text();
    });

    it('skips streams, bodies above maxBodyBytes, @SkipEtag routes and ops endpoints', async () => {
      const file = await raw(t.port, 'GET', '/file');
      expect(file.body).toBe('file contents');
      expect(file.headers.etag).toBeUndefined();
      const big = await raw(t.port, 'GET', '/big');
      expect(big.status).toBe(200);
      expect(big.headers.etag).toBeUndefined();
      expect((await raw(t.port, 'GET', '/nonce')).headers.etag).toBeUndefined();
      expect((await raw(t.port, 'GET', '/metrics')).headers.etag).toBeUndefined();
      expect(t.app.get(EtagService).stats().tooLarge).toBeGreaterThanOrEqual(1);
    });

    it('keeps Vary and Content-Location on a shallow 304 and drops the content headers', async () => {
      const res = await raw(t.port, 'GET', '/vary');
      const nm = await raw(t.port, 'GET', '/vary', { 'if-none-match': res.headers.etag! });
      expect(nm.status).toBe(304);
      expect(nm.headers).toMatchObject({
        etag: res.headers.etag,
        vary: 'Accept-Encoding',
        'content-location': '/vary',
      });
      expect(nm.headers['content-language']).toBeUndefined();
      expect(nm.headers['content-type']).toBeUndefined();
    });
  });

  describe('bad input never causes a 500', () => {
    const cases: Array<[string, Record<string, string>, number]> = [
      ['unquoted If-None-Match', { 'if-none-match': '1' }, 200],
      ['lower-case w/', { 'if-none-match': 'w/"1"' }, 200],
      ['unterminated quote', { 'if-none-match': '"1' }, 200],
      ['only commas', { 'if-none-match': ',,, ,' }, 200],
      ['stars in a list', { 'if-none-match': '*, *' }, 200],
      ['W/W/', { 'if-none-match': 'W/W/"1"' }, 200],
      ['obs-text inside a tag', { 'if-none-match': '"caf\u00e9"' }, 200],
      ['garbage If-Modified-Since', { 'if-modified-since': 'yesterday' }, 200],
      ['ISO date', { 'if-modified-since': '2099-01-01T00:00:00Z' }, 200],
      ['impossible date', { 'if-modified-since': 'Tue, 31 Feb 2099 00:00:00 GMT' }, 200],
      ['epoch number', { 'if-modified-since': '99999999999999999999' }, 200],
      ['garbage If-Unmodified-Since', { 'if-unmodified-since': '-1' }, 200],
      ['garbage If-Match on GET', { 'if-match': 'nope' }, 412],
      ['valid tag after garbage', { 'if-none-match': 'nope, "1"' }, 304],
    ];
    it.each(cases)('%s', async (_name, headers, status) => {
      const deep = await raw(t.port, 'GET', '/items/a', headers);
      expect(deep.status).toBe(status);
      const shallow = await raw(t.port, 'GET', '/listing', headers);
      expect(shallow.status).toBe(status === 304 ? 200 : status); // "1" is not the listing's tag
    });

    it('huge header lists: parsed within Node limits, 431 beyond them', async () => {
      const list = Array.from({ length: 1_000 }, (_, i) => `"t${i}"`).join(', '); // ~9 KB
      expect((await raw(t.port, 'GET', '/items/a', { 'if-none-match': list })).status).toBe(200);
      expect(
        (await raw(t.port, 'GET', '/items/a', { 'if-none-match': `${list}, "1"` })).status,
      ).toBe(304);
      expect((await raw(t.port, 'GET', '/listing', { 'if-match': list })).status).toBe(412);
      const junk = 'W/'.repeat(6_000); // 12 KB of near-tags
      expect((await raw(t.port, 'GET', '/items/a', { 'if-none-match': junk })).status).toBe(200);
      const tooBig = await raw(t.port, 'GET', '/items/a', {
        'if-none-match': `"${'x'.repeat(40_000)}"`,
      });
      expect(tooBig.status).toBe(431); // Node's header limit answers first
    });

    it('counts malformed headers', async () => {
      await raw(t.port, 'GET', '/items/a', { 'if-none-match': 'unquoted' });
      await raw(t.port, 'GET', '/items/a', { 'if-modified-since': 'soon' });
      const { malformed } = t.app.get(EtagService).stats();
      expect(malformed['if-none-match']).toBeGreaterThanOrEqual(1);
      expect(malformed['if-modified-since']).toBeGreaterThanOrEqual(1);
    });
  });

  it('reports conditional requests, 304s, 412s and saved bytes as steady_etag_* metrics', async () => {
    const ok = await raw(t.port, 'GET', '/items/a');
    await raw(t.port, 'GET', '/items/a', { 'if-none-match': ok.headers.etag! }); // deep 304
    const list = await raw(t.port, 'GET', '/listing');
    await raw(t.port, 'GET', '/listing', { 'if-none-match': list.headers.etag! }); // shallow 304
    await raw(t.port, 'GET', '/items/a', { 'if-match': '"0"' }); // deep 412
    const text = (await raw(t.port, 'GET', '/metrics')).body;
    const value = (series: string) => {
      const line = text.split('\n').find((l) => l.startsWith(series));
      return line === undefined ? undefined : Number(line.slice(series.length + 1));
    };
    expect(value('steady_etag_not_modified_responses_total{kind="deep"}')).toBeGreaterThanOrEqual(
      1,
    );
    expect(
      value('steady_etag_not_modified_responses_total{kind="shallow"}'),
    ).toBeGreaterThanOrEqual(1);
    expect(
      value('steady_etag_precondition_failed_responses_total{kind="deep"}'),
    ).toBeGreaterThanOrEqual(1);
    expect(
      value('steady_etag_conditional_requests_total{method="GET",kind="deep"}'),
    ).toBeGreaterThanOrEqual(2);
    expect(value('steady_etag_saved_bytes_total{kind="deep"}')).toBeGreaterThanOrEqual(
      ok.body.length,
    );
    expect(value('steady_etag_saved_bytes_total{kind="shallow"}')).toBeGreaterThanOrEqual(
      list.body.length,
    );
    expect(text).toContain('steady_etag_precondition_required_responses_total');
  });
});

describe.each(ADAPTERS)('@steady/etag options (%s)', (adapter: AdapterName) => {
  it('honorRequestNoCache: true restores Express behaviour: fetch() gets 200, undici 304', async () => {
    const t = await createTestApp(adapter, appModule({ honorRequestNoCache: true }, false));
    try {
      const first = await fetch(`${t.url}/items/a`);
      const tag = first.headers.get('etag')!;
      await first.text();
      const viaFetch = await fetch(`${t.url}/items/a`, { headers: { 'if-none-match': tag } });
      expect(viaFetch.status).toBe(200);
      await viaFetch.text();
      const viaUndici = await undiciRequest(`${t.url}/items/a`, {
        headers: { 'if-none-match': tag },
      });
      expect(viaUndici.statusCode).toBe(304);
      await viaUndici.body.text();
    } finally {
      await t.close();
    }
  });

  it('forRootAsync, weak: false, a module Cache-Control, and no metrics module', async () => {
    @Injectable()
    class Config {
      readonly etag: EtagModuleOptions = {
        weak: false,
        algorithm: 'sha256',
        cacheControl: 'no-cache',
      };
    }
    @Module({ providers: [Config], exports: [Config] })
    class ConfigModule {}
    @Module({
      imports: [
        EtagModule.forRootAsync({
          imports: [ConfigModule],
          inject: [Config],
          useFactory: (c: Config) => c.etag,
        }),
      ],
      controllers: [MiscController],
    })
    class AsyncModule {}
    const t = await createTestApp(adapter, AsyncModule);
    try {
      const res = await raw(t.port, 'GET', '/text');
      expect(res.headers.etag).toMatch(/^"[A-Za-z0-9_-]{43}"$/); // sha256, strong
      expect(res.headers['cache-control']).toBe('no-cache');
      expect((await raw(t.port, 'GET', '/text', { 'if-match': res.headers.etag! })).status).toBe(
        200,
      );
    } finally {
      await t.close();
    }
  });

  it('a bad option stops start-up with an error naming it', async () => {
    await expect(createTestApp(adapter, appModule({ maxBodyBytes: -1 }, false))).rejects.toThrow(
      '@steady/etag: invalid option "maxBodyBytes"',
    );
  });

  it('global: false manages only decorated routes; neither adapter tags or 304s the others', async () => {
    @Controller()
    class PlainController {
      calls = 0;
      @Get('plain') plain() {
        this.calls++;
        return { plain: true };
      }
      @Get('tagged') @ShallowETag() tagged() {
        return { tagged: true };
      }
      @Get('own') @Header('ETag', '"own"') own() {
        return { own: true };
      }
    }
    @Module({ imports: [EtagModule.forRoot({ global: false })], controllers: [PlainController] })
    class LocalModule {}
    const t = await createTestApp(adapter, LocalModule);
    try {
      const plain = await raw(t.port, 'GET', '/plain');
      expect(plain.headers.etag).toBeUndefined(); // Express's own weak ETag is off too
      // Express's req.fresh would answer 304 to a handler-set ETag; here neither adapter does on its own
      const own = await raw(t.port, 'GET', '/own', { 'if-none-match': '"own"' });
      expect(own.status).toBe(200);
      const tagged = await raw(t.port, 'GET', '/tagged');
      expect(tagged.headers.etag).toMatch(/^W\/"/);
      expect(
        (await raw(t.port, 'GET', '/tagged', { 'if-none-match': tagged.headers.etag! })).status,
      ).toBe(304);
    } finally {
      await t.close();
    }
  });
});

describe('@steady/etag replaceExpressEtag: false (express)', () => {
  it("leaves Express's own weak ETag on routes the module does not manage", async () => {
    @Controller()
    class C {
      @Get('x') @SkipEtag() x() {
        return { x: 1 };
      }
    }
    @Module({ imports: [EtagModule.forRoot({ replaceExpressEtag: false })], controllers: [C] })
    class M {}
    const t = await createTestApp('express', M);
    try {
      const res = await raw(t.port, 'GET', '/x');
      expect(res.headers.etag).toMatch(/^W\/"7-/); // Express's len-hash format
    } finally {
      await t.close();
    }
  });
});
