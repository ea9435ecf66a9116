import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLoad } from './load-generator';

/**
 * A real run: the generator (in this process) against a tiny node:http server in a child
 * process on 127.0.0.1:0. The server answers by arrival order, 10 requests per cycle:
 * 0 -> 600 ms late (past the 300 ms deadline), 1 -> 503, 2 -> 429, 3 -> 500,
 * 4 -> connection destroyed, 5..9 -> 200. `/slow` answers 200 after 200 ms, `/ok` at once,
 * `/not-modified` 304 at once.
 */
const SERVER = `
const http = require('node:http');
let n = 0;
const server = http.createServer((req, res) => {
  if (req.url === '/slow') { setTimeout(() => res.end('ok'), 200); return; }
  if (req.url === '/reset') { n = 0; res.end('reset'); return; }
  if (req.url === '/ok') { res.end('ok'); return; }
  if (req.url === '/not-modified') { res.statusCode = 304; res.end(); return; }
  const i = n++ % 10;
  if (i === 0) setTimeout(() => res.end('late'), 600);
  else if (i === 1) { res.statusCode = 503; res.end(); }
  else if (i === 2) { res.statusCode = 429; res.end(); }
  else if (i === 3) { res.statusCode = 500; res.end(); }
  else if (i === 4) req.socket.destroy();
  else res.end('ok');
});
server.keepAliveTimeout = 30000;
server.listen(0, '127.0.0.1', () => process.stdout.write(server.address().port + '\\n'));
setTimeout(() => process.exit(0), 60000).unref();
`;

let child: ChildProcess;
let target: string;

async function resetCounter(): Promise<void> {
  const res = await fetch(`${target}/reset`);
  await res.text();
}

beforeAll(async () => {
  child = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [chunk] = (await once(child.stdout!, 'data')) as [Buffer];
  target = `http://127.0.0.1:${Number(chunk.toString().trim())}`;
});

afterAll(async () => {
  if (child.exitCode === null) {
    child.kill('SIGKILL');
    await once(child, 'exit');
  }
});

describe('load generator against a real server', () => {
  it('open loop: 50 req/s for 1 s, every request accounted for', async () => {
    await resetCounter();
    const t0 = performance.now();
    const r = await runLoad({
      mode: 'open',
      target,
      request: { path: '/mixed' },
      rate: 50,
      durationMs: 1000,
      deadlineMs: 300,
    });
    const wall = performance.now() - t0;

    expect(r.scheduled).toBe(50);
    expect(r.sent).toBe(50);
    expect(r.dropped).toBe(0);
    expect(r.aborted).toBe(false);
    expect(r.sent).toBe(r.ok + r.shed + r.timeouts + r.errors);
    expect(r.timeouts).toBe(5); // the late ones, aborted at the deadline
    expect(r.shed503).toBe(5);
    expect(r.shed429).toBe(5);
    expect(r.shed).toBe(10);
    expect(r.errorStatus).toBe(5);
    expect(r.errorNetwork).toBe(5);
    expect(r.ok).toBe(25);
    expect(r.statusCounts).toEqual({ '200': 25, '429': 5, '500': 5, '503': 5 });
    expect(r.latencyMs.count).toBe(25);
    expect(r.latencyMs.max).toBeLessThan(300);
    expect(r.goodput).toBeCloseTo(25, 5);
    expect(r.sendRate).toBeGreaterThan(45);
    expect(r.sendRate).toBeLessThan(55);
    // last request intended at 980 ms; a late one is aborted 300 ms later at most
    expect(wall).toBeLessThan(1000 + 300 + 500);
    expect(wall).toBeGreaterThan(980);
  });

  it('open loop keeps its schedule while requests are outstanding, and drops beyond maxOutstanding', async () => {
    const r = await runLoad({
      mode: 'open',
      target,
      request: { path: '/slow' }, // 200 ms each
      rate: 100,
      durationMs: 300,
      deadlineMs: 1000,
      maxOutstanding: 10,
    });
    // ~20 requests are due before the first answer comes back: 10 in flight, the rest dropped
    expect(r.scheduled).toBe(30);
    expect(r.sent + r.dropped).toBe(30);
    expect(r.dropped).toBeGreaterThan(0);
    expect(r.sent).toBe(r.ok);
    // measured from the intended time, so the wait for a free slot is never hidden
    expect(r.latencyMs.min).toBeGreaterThanOrEqual(199);
  });

  it('closed loop: workers send back-to-back, and counts add up', async () => {
    await resetCounter();
    const r = await runLoad({
      mode: 'closed',
      target,
      request: { path: '/mixed' },
      connections: 4,
      durationMs: 500,
      deadlineMs: 100,
    });
    expect(r.sent).toBeGreaterThan(20);
    expect(r.scheduled).toBe(r.sent);
    expect(r.sent).toBe(r.ok + r.shed + r.timeouts + r.errors);
    expect(r.timeouts).toBeGreaterThan(0);
    expect(r.shed).toBeGreaterThan(0);
    expect(r.ok).toBeGreaterThan(0);
    expect(r.aborted).toBe(false);
  });

  it('warm-up traffic is sent first and kept out of the counts', async () => {
    const r = await runLoad({
      mode: 'open',
      target,
      request: { path: '/ok' },
      rate: 20,
      durationMs: 200,
      deadlineMs: 500,
      warmupMs: 150,
    });
    expect(r.warmup?.sent).toBeGreaterThan(0);
    expect(r.warmup?.ok).toBe(r.warmup?.sent);
    expect(r.sent).toBe(4);
    expect(r.ok).toBe(4);
  });

  it('okStatuses: a 304 counts as ok, with its latency, only when asked', async () => {
    const run = (okStatuses?: number[]) =>
      runLoad({
        mode: 'closed',
        target,
        request: { path: '/not-modified', ...(okStatuses ? { okStatuses } : {}) },
        connections: 2,
        durationMs: 200,
        deadlineMs: 500,
      });
    const plain = await run();
    expect(plain.ok).toBe(0);
    expect(plain.errorStatus).toBe(plain.sent);
    const revalidation = await run([304]);
    expect(revalidation.ok).toBe(revalidation.sent);
    expect(revalidation.latencyMs.count).toBe(revalidation.sent);
    expect(revalidation.statusCounts).toEqual({ '304': revalidation.sent });
    await expect(run([99])).rejects.toThrow('request.okStatuses[0] must be within 100..599');
  });

  it('hard timeout bounds a run even if the server never answers', async () => {
    const r = await runLoad({
      mode: 'closed',
      target,
      request: { path: '/slow' },
      connections: 2,
      durationMs: 1000,
      deadlineMs: 10_000,
      hardTimeoutMs: 100,
    });
    expect(r.aborted).toBe(true);
    expect(r.inFlightAtEnd).toBe(2);
    expect(r.sent).toBe(r.ok + r.shed + r.timeouts + r.errors + r.inFlightAtEnd);
  });
});

describe('load generator: mixes, step loads and timelines', () => {
  it('spreads a mix by weight, with per-label deadlines and counts', async () => {
    const r = await runLoad({
      mode: 'open',
      target,
      request: { path: '/ok' },
      mix: [
        {
          label: 'fast',
          weight: 3,
          request: { path: '/ok', headers: { 'x-steady-priority': 'critical' } },
        },
        { label: 'aborted', weight: 1, request: { path: '/slow' }, deadlineMs: 50 },
      ],
      rate: 40,
      durationMs: 1000,
      deadlineMs: 1000,
    });
    expect(r.byLabel).toEqual({
      fast: { sent: 30, ok: 30, shed: 0, timeouts: 0, errors: 0 },
      aborted: { sent: 10, ok: 0, shed: 0, timeouts: 10, errors: 0 },
    });
    expect(r.timeouts).toBe(10);
    expect(r.ok).toBe(30);
  });

  it('follows a step load and reports a timeline of intended send time', async () => {
    const r = await runLoad({
      mode: 'open',
      target,
      request: { path: '/ok' },
      steps: [
        { durationMs: 500, rate: 20 },
        { durationMs: 500, rate: 60 },
      ],
      rate: 60,
      durationMs: 1000,
      deadlineMs: 500,
      timelineBucketMs: 250,
    });
    expect(r.scheduled).toBe(10 + 30);
    expect(r.sent).toBe(40);
    expect(r.timeline?.map((b) => b.ok)).toEqual([5, 5, 15, 15]);
    expect(r.timeline?.map((b) => b.atMs)).toEqual([0, 250, 500, 750]);
  });

  it('rejects steps that do not add up', async () => {
    await expect(
      runLoad({
        mode: 'open',
        target,
        request: { path: '/ok' },
        steps: [{ durationMs: 500, rate: 20 }],
        rate: 20,
        durationMs: 1000,
        deadlineMs: 500,
      }),
    ).rejects.toThrow(/sum of the steps/);
  });
});
