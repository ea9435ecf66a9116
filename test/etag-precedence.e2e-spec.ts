/**
 * The RFC 9110 §13.2 precedence matrix, on Express and Fastify: every combination of If-Match ×
 * If-Unmodified-Since × If-None-Match × If-Modified-Since (valid, stale, `*`, weak, list and malformed values)
 * × GET/HEAD/POST/PUT/DELETE × a handler that answers 2xx or 404, for a deep route (@ETag + @LastModified,
 * evaluated before the handler) and a shallow one (body hash + the handler's Last-Modified, after it).
 *
 * The expected result of each row is derived below from the text of RFC 9110, token by token — it does not
 * call the library's evaluator. Each row also checks whether the handler ran.
 */
import {
  Controller,
  Delete,
  Get,
  Header,
  Headers,
  HttpCode,
  Injectable,
  Module,
  NotFoundException,
  Param,
  Post,
  Put,
} from '@nestjs/common';
import {
  CacheControl,
  ETag,
  EtagModule,
  LastModified,
  ShallowETag,
  formatHttpDate,
} from '@steady/etag';
import { createHash } from 'node:crypto';
import { Pool } from 'undici';
import { ADAPTERS, createTestApp, type TestApp } from './support/nest-app';

const LM = 1_700_000_000; // the resource's last modification, seconds
const LM_HEADER = formatHttpDate(LM);
const BODY = { id: 'r1', title: 'the resource', n: 42 };
/** The shallow (strong) tag of BODY as both adapters serialize it. */
const SHALLOW_OPAQUE = createHash('sha1').update(JSON.stringify(BODY)).digest('base64url');
const DEEP_OPAQUE = 'v2';

type Mode = 'deep' | 'shallow';
type Outcome = 'ok' | 'missing';
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE'] as const;
type Method = (typeof METHODS)[number];
const HANDLER_STATUS: Record<Method, number> = {
  GET: 200,
  HEAD: 200,
  POST: 201,
  PUT: 200,
  DELETE: 204,
};

// Header values, as tokens. `cur` is the current tag, `old` a stale one.
const IF_MATCH = ['-', 'cur', 'old', '*', 'weak-cur', 'unquoted-cur'] as const;
const IF_UNMODIFIED_SINCE = ['-', 'after', 'before', 'garbage'] as const;
const IF_NONE_MATCH = [
  '-',
  'cur',
  'old',
  '*',
  'weak-cur',
  'list-with-cur',
  'unquoted-cur',
] as const;
const IF_MODIFIED_SINCE = ['-', 'after', 'before', 'garbage'] as const;
type Row = {
  mode: Mode;
  outcome: Outcome;
  method: Method;
  im: (typeof IF_MATCH)[number];
  ius: (typeof IF_UNMODIFIED_SINCE)[number];
  inm: (typeof IF_NONE_MATCH)[number];
  ims: (typeof IF_MODIFIED_SINCE)[number];
};

function tagValue(token: string, opaque: string): string {
  switch (token) {
    case 'cur':
      return `"${opaque}"`;
    case 'old':
      return '"stale-1"';
    case '*':
      return '*';
    case 'weak-cur':
      return `W/"${opaque}"`;
    case 'list-with-cur':
      return `"stale-1", W/"${opaque}"`;
    case 'unquoted-cur':
      return opaque;
  }
  throw new Error(token);
}

function dateValue(token: string): string {
  if (token === 'after') return formatHttpDate(LM + 3600);
  if (token === 'before') return formatHttpDate(LM - 3600);
  return 'not a date';
}

function requestHeaders(row: Row, opaque: string): Record<string, string> {
  const h: Record<string, string> = {};
  if (row.im !== '-') h['if-match'] = tagValue(row.im, opaque);
  if (row.ius !== '-') h['if-unmodified-since'] = dateValue(row.ius);
  if (row.inm !== '-') h['if-none-match'] = tagValue(row.inm, opaque);
  if (row.ims !== '-') h['if-modified-since'] = dateValue(row.ims);
  return h;
}

/**
 * RFC 9110 §13.2.2, for a representation with a **strong** current tag and a Last-Modified of LM.
 * `exists` is false for a resource with no current representation.
 */
function rfcEvaluate(row: Row, exists: boolean): 'proceed' | 304 | 412 {
  const safe = row.method === 'GET' || row.method === 'HEAD';
  // Step 1, §13.1.1: If-Match uses the strong comparison (§8.8.3.2): only an unquoted-free, non-weak tag equal
  // to the current strong tag matches; "*" is true iff a current representation exists; a malformed member
  // (unquoted) is not an entity-tag, so it matches nothing.
  if (row.im !== '-') {
    const passes = row.im === '*' ? exists : exists && row.im === 'cur';
    if (!passes) return 412;
  } else if (row.ius !== '-') {
    // Step 2, §13.1.4: only without If-Match; ignored if not a valid HTTP-date or without a modification date;
    // false when the last modification is after the given date.
    if (row.ius === 'before' && exists) return 412;
  }
  // Step 3, §13.1.2: If-None-Match uses the weak comparison: W/"cur" and a list containing it match; "*" is
  // false iff a current representation exists. False -> 304 for GET/HEAD, else 412.
  if (row.inm !== '-') {
    const matches =
      row.inm === '*' ? exists : exists && ['cur', 'weak-cur', 'list-with-cur'].includes(row.inm);
    if (matches) return safe ? 304 : 412;
    return 'proceed';
  }
  // Step 4, §13.1.3: GET/HEAD only, only without If-None-Match; ignored if not a valid HTTP-date; false (304)
  // when the last modification is at or before the given date.
  if (safe && row.ims === 'after' && exists) return 304;
  return 'proceed';
}

interface Expected {
  status: number;
  handlerRuns: boolean;
}

function expected(row: Row): Expected {
  const safe = row.method === 'GET' || row.method === 'HEAD';
  const handler = (): Expected =>
    row.outcome === 'missing'
      ? { status: 404, handlerRuns: true }
      : { status: HANDLER_STATUS[row.method], handlerRuns: true };
  if (row.mode === 'shallow') {
    // Without a deep validator, writes cannot be evaluated before they happen (documented: ignored), and
    // GET/HEAD are evaluated after the handler: §13.2.1 says to ignore preconditions when the response would
    // not be 2xx, so a 404 stays a 404.
    if (!safe || row.outcome === 'missing') return handler();
    const r = rfcEvaluate(row, true);
    return r === 'proceed' ? handler() : { status: r, handlerRuns: true };
  }
  // Deep: evaluated before the handler, which never runs on 304/412.
  if (row.outcome === 'missing' && safe) {
    // §13.2.1: a GET/HEAD of a resource with no representation would be a 404 ("detected before significant
    // processing"), which takes precedence over the preconditions.
    return handler();
  }
  // Writes to a missing resource: §13.1.1 — If-Match is false without a current representation (the server
  // cannot tell a 404 from a create before the handler, and must not write).
  const r = rfcEvaluate(row, row.outcome === 'ok');
  return r === 'proceed' ? handler() : { status: r, handlerRuns: false };
}

@Injectable()
class Calls {
  readonly rows = new Set<string>();
}

function respond(calls: Calls, row: string | undefined, outcome: string): typeof BODY {
  if (row) calls.rows.add(row);
  if (outcome !== 'ok') throw new NotFoundException('no such resource');
  return BODY;
}

const deepTag = (req: { params: Record<string, string> }) =>
  req.params.outcome === 'ok' ? DEEP_OPAQUE : undefined;
const deepDate = (req: { params: Record<string, string> }) =>
  req.params.outcome === 'ok' ? new Date(LM * 1000) : undefined;

@Controller('deep/:outcome')
@ETag(deepTag)
@LastModified(deepDate)
@CacheControl({ maxAge: 60, mustRevalidate: true })
class DeepController {
  constructor(private readonly calls: Calls) {}
  @Get() get(@Param('outcome') o: string, @Headers('x-row') r?: string) {
    return respond(this.calls, r, o);
  }
  @Post() post(@Param('outcome') o: string, @Headers('x-row') r?: string) {
    return respond(this.calls, r, o);
  }
  @Put() put(@Param('outcome') o: string, @Headers('x-row') r?: string) {
    return respond(this.calls, r, o);
  }
  @Delete() @HttpCode(204) del(@Param('outcome') o: string, @Headers('x-row') r?: string) {
    respond(this.calls, r, o);
  }
}

@Controller('shallow/:outcome')
@ShallowETag({ weak: false })
@CacheControl({ maxAge: 60, mustRevalidate: true })
class ShallowController {
  constructor(private readonly calls: Calls) {}
  @Get() @Header('Last-Modified', LM_HEADER) get(
    @Param('outcome') o: string,
    @Headers('x-row') r?: string,
  ) {
    return respond(this.calls, r, o);
  }
  @Post() post(@Param('outcome') o: string, @Headers('x-row') r?: string) {
    return respond(this.calls, r, o);
  }
  @Put() put(@Param('outcome') o: string, @Headers('x-row') r?: string) {
    return respond(this.calls, r, o);
  }
  @Delete() @HttpCode(204) del(@Param('outcome') o: string, @Headers('x-row') r?: string) {
    respond(this.calls, r, o);
  }
}

@Module({
  imports: [EtagModule.forRoot()],
  controllers: [DeepController, ShallowController],
  providers: [Calls],
})
class MatrixModule {}

function allRows(): Row[] {
  const rows: Row[] = [];
  for (const mode of ['deep', 'shallow'] as const)
    for (const outcome of ['ok', 'missing'] as const)
      for (const method of METHODS)
        for (const im of IF_MATCH)
          for (const ius of IF_UNMODIFIED_SINCE)
            for (const inm of IF_NONE_MATCH)
              for (const ims of IF_MODIFIED_SINCE)
                rows.push({ mode, outcome, method, im, ius, inm, ims });
  return rows;
}

const name = (r: Row) =>
  `${r.mode} ${r.outcome} ${r.method} If-Match:${r.im} IUS:${r.ius} INM:${r.inm} IMS:${r.ims}`;

describe.each(ADAPTERS)('RFC 9110 precedence matrix (%s)', (adapter) => {
  let t: TestApp;
  let pool: Pool;
  beforeAll(async () => {
    t = await createTestApp(adapter, MatrixModule);
    pool = new Pool(t.url, { connections: 16 });
  });
  afterAll(async () => {
    await pool?.close();
    await t?.close();
  });

  it('expected statuses cover every outcome the RFC allows', () => {
    const statuses = new Set(allRows().map((r) => expected(r).status));
    expect([...statuses].sort()).toEqual([200, 201, 204, 304, 404, 412]);
  });

  it('answers every row as RFC 9110 says, calling the handler only when it must', async () => {
    const rows = allRows();
    const calls = t.app.get(Calls);
    calls.rows.clear();
    const failures: string[] = [];
    const batch = 64;
    for (let i = 0; i < rows.length; i += batch) {
      await Promise.all(
        rows.slice(i, i + batch).map(async (row, j) => {
          const id = String(i + j);
          const opaque = row.mode === 'deep' ? DEEP_OPAQUE : SHALLOW_OPAQUE;
          const res = await pool.request({
            method: row.method,
            path: `/${row.mode}/${row.outcome}`,
            headers: { ...requestHeaders(row, opaque), 'x-row': id },
          });
          await res.body.text();
          const want = expected(row);
          const h = res.headers;
          const problems: string[] = [];
          if (res.statusCode !== want.status)
            problems.push(`status ${res.statusCode}, want ${want.status}`);
          if (res.statusCode === 304) {
            if (h.etag !== `"${opaque}"`) problems.push(`304 ETag ${String(h.etag)}`);
            if (h['cache-control'] !== 'must-revalidate, max-age=60')
              problems.push('304 without Cache-Control');
            if (h['content-type'] !== undefined || h['content-length'] !== undefined) {
              problems.push('304 with content headers');
            }
          }
          const safe = row.method === 'GET' || row.method === 'HEAD';
          if (res.statusCode === 200 && safe) {
            if (h.etag !== `"${opaque}"`) problems.push(`200 ETag ${String(h.etag)}`);
            if (h['last-modified'] !== LM_HEADER)
              problems.push(`200 Last-Modified ${String(h['last-modified'])}`);
            if (h['cache-control'] !== 'must-revalidate, max-age=60')
              problems.push('200 without Cache-Control');
          }
          if (res.statusCode === 404 && h['cache-control'] !== undefined)
            problems.push('404 with Cache-Control');
          if (row.mode === 'shallow' && !safe && h.etag !== undefined)
            problems.push('ETag on a shallow write');
          if (problems.length > 0) failures.push(`${name(row)}: ${problems.join('; ')}`);
        }),
      );
    }
    // The handler ran exactly for the rows that must reach it.
    rows.forEach((row, i) => {
      const ran = calls.rows.has(String(i));
      if (ran !== expected(row).handlerRuns) {
        failures.push(`${name(row)}: handler ${ran ? 'ran' : 'did not run'}, want the opposite`);
      }
    });
    expect(rows.length).toBe(2 * 2 * 5 * 6 * 4 * 7 * 4);
    expect(failures.slice(0, 20)).toEqual([]);
  }, 120_000);
});
