/**
 * @steady/http-client: what a cache hit costs, what coalescing saves, what Redis adds.
 *
 *   npm run bench:http-client
 *
 * The origin (bench/fixtures/http-client-origin.ts) runs in its own process, pinned to CPU 1 when taskset is
 * available; the clients run here, pinned to CPU 0. Every scenario is interleaved (variant order rotated per run)
 * and reported as the median of BENCH_RUNS runs.
 *
 * 1. hit       4 KiB JSON, BENCH_HIT_REQUESTS sequential requests per variant and run after a warm-up: p50, p99,
 *              req/s. Variants: the uncached origin round trip (undici.request), undici request +
 *              interceptors.cache, Steady request(), Steady via fetch + dispatcher, got 14 + its cacheable-request
 *              cache (Map), axios + axios-cache-interceptor. Goals: Steady p50 <= undici cache p50 and req/s >=;
 *              Steady p50 < the uncached round trip.
 * 2. stampede  50 concurrent cold GETs against a 100 ms route, per variant: requests that reached the origin.
 *              Goal: Steady 1.
 * 3. redis     (needs redis-server; started here on a free loopback port) a raw Redis GET of a 4 KiB value vs a
 *              Steady hit from the Redis store (and with the optional L1); bytes Redis holds for the entry vs the
 *              body: the whole entry = the sum of field-name and value byte lengths over HGETALL of the URL's
 *              hash (metadata + body + field names), and the body field alone. Goals: Redis hit p50 <= 2x the raw
 *              GET p50; whole entry <= 1.05x the body. (MEMORY USAGE, with Redis' own per-key overhead, is
 *              reported for information only.)
 *
 * Env: BENCH_RUNS (5), BENCH_HIT_REQUESTS (3000), BENCH_WARMUP (300), BENCH_ONLY (hit,stampede,redis),
 * BENCH_RESULTS_DIR (bench/results), BENCH_NAME (http-client), BENCH_NO_PIN=1.
 */
import './http-client-alias';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createClient } from '@keyv/redis';
import { RESP_TYPES } from '@redis/client';
import { Agent, fetch, interceptors, request } from 'undici';
import {
  HttpClient,
  MemoryCacheStore,
  RedisCacheStore,
  resolveHttpClientOptions,
} from '../libs/http-client/src';
import { envInt, findRepoRoot } from './lib/runner';
import { median, percentile, round } from './lib/stats';
import { formatTable } from './lib/table';

const root = findRepoRoot();
const runs = envInt('BENCH_RUNS', 5, 1, 101);
const hitRequests = envInt('BENCH_HIT_REQUESTS', 3000, 50, 1_000_000);
const warmup = envInt('BENCH_WARMUP', 300, 10, 100_000);
const only = (process.env.BENCH_ONLY ?? 'hit,stampede,redis').split(',').filter(Boolean);
const resultsDir = path.resolve(root, process.env.BENCH_RESULTS_DIR ?? 'bench/results');
const name = process.env.BENCH_NAME ?? 'http-client';
const pin =
  process.env.BENCH_NO_PIN !== '1' && spawnSync('taskset', ['-c', '0', 'true']).status === 0;

function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

interface Variant {
  name: string;
  /** One request returning the body length. */
  get(url: string): Promise<number>;
  close(): Promise<void>;
}

async function startOrigin(): Promise<{ child: ChildProcess; base: string }> {
  const entry = path.join(__dirname, 'fixtures', 'http-client-origin.js');
  const cmd = pin ? 'taskset' : process.execPath;
  const args = pin ? ['-c', '1', process.execPath, entry] : [entry];
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /READY (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`origin exited (${code})`)));
    setTimeout(() => reject(new Error('origin did not start in 10 s')), 10_000).unref();
  });
  return { child, base: `http://127.0.0.1:${port}` };
}

async function peers(): Promise<Variant[]> {
  const plain = new Agent();
  const undiciCache = new Agent().compose(interceptors.cache());
  const steady = new HttpClient(
    resolveHttpClientOptions({}),
    new MemoryCacheStore({ maxSize: 1 << 26, maxCount: 10_000 }),
  );
  const steadyFetch = new HttpClient(
    resolveHttpClientOptions({}),
    new MemoryCacheStore({ maxSize: 1 << 26, maxCount: 10_000 }),
  );
  const { default: got } = (await import('got')) as typeof import('got');
  const gotCached = got.extend({ cache: new Map(), retry: { limit: 0 } });
  const axios = (await import('axios')).default;
  const { setupCache } = await import('axios-cache-interceptor');
  const ax = setupCache(axios.create());
  return [
    {
      name: 'origin, no cache (undici.request)',
      get: async (url) => {
        const r = await request(url.replace('/hit/', '/plain/'), { dispatcher: plain });
        return (await r.body.arrayBuffer()).byteLength;
      },
      close: () => plain.close(),
    },
    {
      name: 'undici request + interceptors.cache',
      get: async (url) => {
        const r = await request(url, { dispatcher: undiciCache });
        return (await r.body.arrayBuffer()).byteLength;
      },
      close: () => undiciCache.close(),
    },
    {
      name: 'steady request()',
      get: async (url) => (await steady.get(url)).body.length,
      close: () => steady.close(),
    },
    {
      name: 'steady fetch + dispatcher',
      get: async (url) =>
        (await (await fetch(url, { dispatcher: steadyFetch.dispatcher })).arrayBuffer()).byteLength,
      close: () => steadyFetch.close(),
    },
    {
      name: 'got 14 + cache (Map)',
      get: async (url) => (await gotCached(url).buffer()).length,
      close: async () => undefined,
    },
    {
      name: 'axios + axios-cache-interceptor',
      get: async (url) =>
        ((await ax.get(url, { responseType: 'arraybuffer' })).data as ArrayBuffer).byteLength,
      close: async () => undefined,
    },
  ];
}

const HIT_COLUMNS = [
  { header: 'variant' },
  { header: 'p50 µs', align: 'right' as const },
  { header: 'p99 µs', align: 'right' as const },
  { header: 'req/s', align: 'right' as const },
];

interface HitResult {
  p50us: number;
  p99us: number;
  rps: number;
}

async function measureHits(v: Variant, url: string): Promise<HitResult> {
  for (let i = 0; i < warmup; i++) await v.get(url);
  const lat = new Float64Array(hitRequests);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < hitRequests; i++) {
    const s = process.hrtime.bigint();
    const n = await v.get(url);
    lat[i] = Number(process.hrtime.bigint() - s) / 1000;
    if (n < 1000) throw new Error(`${v.name}: short body (${n} bytes)`);
  }
  const total = Number(process.hrtime.bigint() - t0) / 1e9;
  const arr = Array.from(lat);
  return {
    p50us: round(percentile(arr, 50), 1),
    p99us: round(percentile(arr, 99), 1),
    rps: Math.round(hitRequests / total),
  };
}

async function benchHits(base: string): Promise<Record<string, HitResult>> {
  const variants = await peers();
  const perRun = new Map<string, HitResult[]>();
  for (let r = 0; r < runs; r++) {
    const order = variants.map((_, i) => variants[(i + r) % variants.length]);
    for (const v of order) {
      const res = await measureHits(v, `${base}/hit/r${r}`);
      perRun.set(v.name, [...(perRun.get(v.name) ?? []), res]);
      log(`hit run ${r + 1}/${runs} ${v.name}: p50 ${res.p50us} µs, ${res.rps} req/s`);
    }
  }
  for (const v of variants) await v.close();
  const out: Record<string, HitResult> = {};
  for (const [k, rs] of perRun) {
    out[k] = {
      p50us: median(rs.map((x) => x.p50us)),
      p99us: median(rs.map((x) => x.p99us)),
      rps: median(rs.map((x) => x.rps)),
    };
  }
  return out;
}

async function benchStampede(base: string): Promise<Record<string, number>> {
  const out: Record<string, number[]> = {};
  for (let r = 0; r < runs; r++) {
    const variants = (await peers()).filter((v) => !v.name.startsWith('origin'));
    for (const v of variants) {
      const id = `${encodeURIComponent(v.name)}-${r}`;
      await Promise.all(Array.from({ length: 50 }, () => v.get(`${base}/slow/${id}`)));
      const count = Number(await (await request(`${base}/count/${id}`)).body.text());
      (out[v.name] ??= []).push(count);
      await v.close();
    }
    log(
      `stampede run ${r + 1}/${runs}: ${Object.entries(out)
        .map(([k, c]) => `${k} ${c[c.length - 1]}`)
        .join(', ')}`,
    );
  }
  return Object.fromEntries(Object.entries(out).map(([k, c]) => [k, median(c)]));
}

async function startRedis(): Promise<{ child: ChildProcess; url: string; port: number }> {
  const probe = spawnSync('redis-server', ['--version']);
  if (probe.error)
    throw new Error('redis-server not found: apt-get update && apt-get install -y redis-server');
  const net = await import('node:net');
  const port = await new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
  const dir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'bench-redis-'));
  const child = spawn(
    'redis-server',
    [
      '--bind',
      '127.0.0.1',
      '--port',
      String(port),
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
    ],
    { stdio: 'ignore' },
  );
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const sock = net.connect(port, '127.0.0.1', () => {
        sock.end();
        resolve(true);
      });
      sock.on('error', () => resolve(false));
    });
    if (ok) return { child, url, port };
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('redis-server did not start');
}

interface RedisResult {
  rawGet: HitResult;
  steadyRedis: HitResult;
  steadyRedisL1: HitResult;
  bodyBytes: number;
  /** The hash fields of the entry, and their value lengths. */
  fields: Record<string, number>;
  storedBodyBytes: number;
  storedMetaBytes: number;
  fieldNameBytes: number;
  /** Field names + values over HGETALL: everything the entry stores. */
  entryBytes: number;
  memoryUsageBytes: number;
}

async function benchRedis(base: string): Promise<RedisResult> {
  const redis = await startRedis();
  try {
    const raw = createClient({ url: redis.url }).withTypeMapping({
      [RESP_TYPES.BLOB_STRING]: Buffer,
    });
    await raw.connect();
    const value = Buffer.alloc(4096, 120);
    await raw.set('bench:raw', value);
    const store = new RedisCacheStore({ url: redis.url, commandTimeoutMs: 1000 });
    const storeL1 = new RedisCacheStore({
      url: redis.url,
      prefix: 'bench-l1',
      commandTimeoutMs: 1000,
      l1: { maxSize: 1 << 24, maxCount: 1000, ttlMs: 1000 },
    });
    const viaRedis = new HttpClient(resolveHttpClientOptions({}), store);
    const viaL1 = new HttpClient(resolveHttpClientOptions({}), storeL1);
    const variants: Variant[] = [
      {
        name: 'raw Redis GET (4 KiB)',
        get: async () => ((await raw.get('bench:raw')) as unknown as Buffer).length,
        close: async () => undefined,
      },
      {
        name: 'steady hit, Redis store',
        get: async (url) => (await viaRedis.get(url)).body.length,
        close: () => viaRedis.close(),
      },
      {
        name: 'steady hit, Redis + L1',
        get: async (url) => (await viaL1.get(url)).body.length,
        close: () => viaL1.close(),
      },
    ];
    const per = new Map<string, HitResult[]>();
    for (let r = 0; r < runs; r++) {
      for (const v of variants.map((_, i) => variants[(i + r) % variants.length])) {
        const res = await measureHits(v, `${base}/hit/redis`);
        per.set(v.name, [...(per.get(v.name) ?? []), res]);
        log(`redis run ${r + 1}/${runs} ${v.name}: p50 ${res.p50us} µs`);
      }
    }
    const med = (k: string): HitResult => {
      const rs = per.get(k)!;
      return {
        p50us: median(rs.map((x) => x.p50us)),
        p99us: median(rs.map((x) => x.p99us)),
        rps: median(rs.map((x) => x.rps)),
      };
    };
    const key = store.keyOf(`${base}/hit/redis`);
    const bodyBytes = (await viaRedis.get(`${base}/hit/redis`)).body.length;
    const hash = (await raw.hGetAll(key)) as unknown as Record<string, Buffer>;
    const fields: Record<string, number> = {};
    let storedBodyBytes = 0;
    let storedMetaBytes = 0;
    let fieldNameBytes = 0;
    for (const [f, v] of Object.entries(hash)) {
      fields[f] = v.length;
      fieldNameBytes += Buffer.byteLength(f);
      if (f.startsWith('b')) storedBodyBytes += v.length;
      else storedMetaBytes += v.length;
    }
    if (storedBodyBytes !== bodyBytes || Object.keys(hash).length !== 2)
      throw new Error(`unexpected Redis entry layout: ${JSON.stringify(fields)}`);
    const entryBytes = fieldNameBytes + storedBodyBytes + storedMetaBytes;
    const memoryUsageBytes = Number(await raw.sendCommand(['MEMORY', 'USAGE', key]));
    for (const v of variants) await v.close();
    await raw.close();
    return {
      rawGet: med(variants[0].name),
      steadyRedis: med(variants[1].name),
      steadyRedisL1: med(variants[2].name),
      bodyBytes,
      fields,
      storedBodyBytes,
      storedMetaBytes,
      fieldNameBytes,
      entryBytes,
      memoryUsageBytes,
    };
  } finally {
    redis.child.kill('SIGTERM');
  }
}

async function main(): Promise<void> {
  if (pin) spawnSync('taskset', ['-p', '-c', '0', String(process.pid)], { stdio: 'ignore' });
  const origin = await startOrigin();
  const report: Record<string, unknown> = {
    name,
    date: new Date().toISOString(),
    node: process.version,
    runs,
    hitRequests,
    warmup,
    pinned: pin,
  };
  const gates: [string, boolean, string][] = [];
  try {
    if (only.includes('hit')) {
      const hits = await benchHits(origin.base);
      report.hit = hits;
      console.log('\n4 KiB hit, sequential (median of runs)\n');
      console.log(
        formatTable(
          HIT_COLUMNS,
          Object.entries(hits).map(([k, h]) => [
            k,
            String(h.p50us),
            String(h.p99us),
            String(h.rps),
          ]),
        ),
      );
      const s = hits['steady request()'];
      const u = hits['undici request + interceptors.cache'];
      const o = hits['origin, no cache (undici.request)'];
      gates.push([
        'hit p50 <= undici cache p50',
        s.p50us <= u.p50us,
        `${s.p50us} vs ${u.p50us} µs`,
      ]);
      gates.push(['hit req/s >= undici cache', s.rps >= u.rps, `${s.rps} vs ${u.rps}`]);
      gates.push([
        'hit faster than the uncached round trip',
        s.p50us < o.p50us,
        `${s.p50us} vs ${o.p50us} µs`,
      ]);
    }
    if (only.includes('stampede')) {
      const st = await benchStampede(origin.base);
      report.stampede = st;
      console.log(
        '\nstampede: 50 concurrent cold GETs, 100 ms origin → origin requests (median)\n',
      );
      console.log(
        formatTable(
          [{ header: 'variant' }, { header: 'origin requests', align: 'right' }],
          Object.entries(st).map(([k, n]) => [k, String(n)]),
        ),
      );
      gates.push([
        'stampede → 1 origin request',
        st['steady request()'] === 1,
        `${st['steady request()']}`,
      ]);
    }
    if (only.includes('redis')) {
      const r = await benchRedis(origin.base);
      report.redis = r;
      console.log('\nRedis (median of runs)\n');
      console.log(
        formatTable(
          HIT_COLUMNS,
          (
            [
              ['raw Redis GET (4 KiB)', r.rawGet],
              ['steady hit, Redis store', r.steadyRedis],
              ['steady hit, Redis + L1', r.steadyRedisL1],
            ] as const
          ).map(([k, x]) => [k, String(x.p50us), String(x.p99us), String(x.rps)]),
        ),
      );
      console.log(
        `\nbytes: body ${r.bodyBytes}; whole entry (HGETALL field names + values) ${r.entryBytes} ` +
          `(${round(r.entryBytes / r.bodyBytes, 3)}x) = body field ${r.storedBodyBytes} ` +
          `(${round(r.storedBodyBytes / r.bodyBytes, 3)}x) + metadata ${r.storedMetaBytes} + field names ${r.fieldNameBytes}; ` +
          `MEMORY USAGE of the key ${r.memoryUsageBytes} (${round(r.memoryUsageBytes / r.bodyBytes, 3)}x, incl. Redis' own overhead)`,
      );
      gates.push([
        'Redis hit p50 <= 2x raw GET',
        r.steadyRedis.p50us <= 2 * r.rawGet.p50us,
        `${r.steadyRedis.p50us} vs 2 x ${r.rawGet.p50us} µs`,
      ]);
      gates.push([
        'Redis whole entry bytes <= 1.05x body',
        r.entryBytes <= 1.05 * r.bodyBytes,
        `${r.entryBytes} / ${r.bodyBytes} = ${round(r.entryBytes / r.bodyBytes, 3)}x`,
      ]);
    }
  } finally {
    origin.child.kill('SIGTERM');
  }
  report.gates = gates.map(([g, ok, detail]) => ({ gate: g, pass: ok, detail }));
  console.log('\ngates\n');
  for (const [g, ok, detail] of gates) console.log(`${ok ? 'PASS' : 'FAIL'}  ${g}  (${detail})`);
  fs.mkdirSync(resultsDir, { recursive: true });
  const file = path.join(resultsDir, `${name}.json`);
  fs.writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
  console.log(`\nresults: ${path.relative(root, file)}${pin ? '' : ' (not pinned)'}`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
