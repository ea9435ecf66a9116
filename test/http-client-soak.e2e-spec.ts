/**
 * Soak: 100 000 requests over 1 000 keys with `max-age=1` (half with an ETag, so both re-fetch and 304
 * revalidation paths run) through one client with the default in-memory store, 50 concurrent callers. After forced
 * GC, heap and external memory must plateau (late samples no higher than the middle ones plus a small margin) and no
 * `MaxListenersExceededWarning` (or any other process warning) may be emitted. The origin is a plain node:http
 * server (it only sees misses and revalidations; the subject is the client's memory).
 */
import { HttpClient, resolveHttpClientOptions, MemoryCacheStore } from '@steady/http-client';
import { createServer, type Server } from 'node:http';
import { fetch } from 'undici';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const TOTAL = Number(process.env.HTTP_CLIENT_SOAK_REQUESTS ?? 100_000);
const KEYS = 1000;
const CONCURRENCY = 50;
const MIN_DURATION_MS = 3000;

function measure(): { heap: number; external: number } {
  gc();
  gc();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, external: m.external + m.arrayBuffers };
}

describe('@steady/http-client soak', () => {
  let server: Server;
  let base: string;
  let originRequests = 0;
  let notModified = 0;

  beforeAll(async () => {
    server = createServer((req, res) => {
      originRequests++;
      const id = req.url!.slice(1);
      const withEtag = Number(id.replace(/\D/g, '')) % 2 === 0;
      const headers: Record<string, string> = {
        'cache-control': 'max-age=1',
        'content-type': 'application/json',
      };
      if (withEtag) {
        headers.etag = `"${id}"`;
        if (req.headers['if-none-match'] === `"${id}"`) {
          notModified++;
          res.writeHead(304, headers).end();
          return;
        }
      }
      res.writeHead(200, headers).end(JSON.stringify({ id, pad: 'p'.repeat(512) }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const address = server.address();
    if (!address || typeof address === 'string') throw new Error('no address');
    base = `http://127.0.0.1:${address.port}`;
  });

  afterAll(async () => {
    await new Promise((r) => server.close(r));
  });

  it(`${TOTAL} requests over ${KEYS} keys at max-age=1: memory plateaus, no MaxListenersExceededWarning`, async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
    process.on('warning', onWarning);
    const resolved = resolveHttpClientOptions({ baseUrl: base, connections: 16 });
    const store = new MemoryCacheStore({ maxSize: 64 * 1024 * 1024, maxCount: 10_000 });
    const client = new HttpClient(resolved, store);
    const samples: { at: number; heap: number; external: number }[] = [];
    const started = Date.now();
    let done = 0;
    let failures = 0;
    let nextSample = TOTAL / 5;
    try {
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async (_, w) => {
          for (let i = w; i < TOTAL; i += CONCURRENCY) {
            // Spread over at least MIN_DURATION_MS, so every key expires (max-age=1) and is refreshed a few times
            // even on a fast machine.
            const wait = started + (i / TOTAL) * MIN_DURATION_MS - Date.now();
            if (wait > 1) await new Promise((r) => setTimeout(r, wait));
            const res = await client.get(`/k${(i * 7919) % KEYS}`);
            if (res.status !== 200) failures++;
            done++;
            if (done >= nextSample) {
              nextSample += TOTAL / 5;
              samples.push({ at: done, ...measure() });
            }
          }
        }),
      );
      samples.push({ at: done, ...measure() });
    } finally {
      process.off('warning', onWarning);
      await client.close();
    }
    const elapsed = Date.now() - started;
    const stats = client.stats.requests;
    const mib = (n: number) => (n / 1048576).toFixed(1);
    console.log(
      `soak: ${done} requests in ${elapsed} ms; origin ${originRequests} (304: ${notModified}); ` +
        `hit ${stats.hit} miss ${stats.miss} revalidated ${stats.revalidated}; store ${store.stats.count} entries ` +
        `${mib(store.stats.bytes)} MiB; heap/external MiB after GC: ` +
        samples.map((s) => `${s.at}:${mib(s.heap)}/${mib(s.external)}`).join(' '),
    );
    expect(failures).toBe(0);
    expect(done).toBe(TOTAL);
    expect(warnings).toEqual([]);
    expect(store.stats.count).toBeLessThanOrEqual(KEYS);
    expect(stats.hit).toBeGreaterThan(TOTAL / 2);
    expect(elapsed).toBeGreaterThanOrEqual(MIN_DURATION_MS - 50);
    expect(stats.revalidated + stats.miss).toBeGreaterThan(2 * KEYS); // every key expired and was refreshed
    // Plateau: the last samples are not above the middle ones by more than a small margin.
    const mid = samples[1];
    const last = samples[samples.length - 1];
    expect(last.heap - mid.heap).toBeLessThan(4 * 1048576);
    expect(last.external - mid.external).toBeLessThan(4 * 1048576);
  }, 120_000);

  // Plain undici 7 fetch() given one long-lived signal warns by itself after 1500 calls (its listeners go with GC),
  // so the fetch() calls here carry no signal; the client's own request() calls share one.
  it('2 000 fetch() calls through client.dispatcher and 20 000 request() calls sharing one long-lived AbortSignal: no listener warnings', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
    process.on('warning', onWarning);
    const client = new HttpClient(
      resolveHttpClientOptions({ baseUrl: base }),
      new MemoryCacheStore({ maxSize: 1 << 24, maxCount: 5000 }),
    );
    const shared = new AbortController();
    let ok = 0;
    try {
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async (_, w) => {
          for (let i = w; i < 20_000; i += CONCURRENCY) {
            if (i % 10 === 0) {
              const r = await fetch(`${base}/f${i % KEYS}`, { dispatcher: client.dispatcher });
              await r.arrayBuffer();
              if (r.status !== 200) continue;
            }
            const c = await client.get(`/s${i % KEYS}`, { signal: shared.signal });
            if (c.status === 200) ok++;
          }
        }),
      );
    } finally {
      process.off('warning', onWarning);
      await client.close();
    }
    expect(ok).toBe(20_000);
    expect(warnings).toEqual([]);
  }, 120_000);
});
