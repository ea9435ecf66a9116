import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import request from 'supertest';
import { ADAPTERS } from './support/nest-app';

const root = resolve(__dirname, '..');
const main = resolve(root, 'dist/apps/sample/apps/sample/src/main.js');

interface Running {
  child: ChildProcess;
  url: string;
  output: () => string;
}

/** Starts the built sample the way `npm start` does, on a free port, and waits for its "listening" line. */
async function startBuiltSample(env: Record<string, string>): Promise<Running> {
  const child = spawn(process.execPath, [main], {
    cwd: root,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (c) => (out += c));
  child.stderr!.on('data', (c) => (out += c));
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`sample did not start in 15 s:\n${out}`)),
      15_000,
    );
    const check = () => {
      const m = /Steady sample mail service on (http:\/\/[^\s]+) /.exec(out);
      if (m) {
        clearTimeout(timer);
        resolveUrl(m[1]);
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`sample exited with ${code}:\n${out}`));
    });
  });
  return { child, url, output: () => out };
}

describe('the built sample, as `npm start` runs it', () => {
  beforeAll(async () => {
    await promisify(execFile)('npx', ['nest', 'build', 'sample'], { cwd: root, timeout: 120_000 });
  }, 150_000);

  it.each(ADAPTERS)(
    'serves mail routes and /metrics on %s, and shuts down cleanly on SIGTERM',
    async (adapter) => {
      // a short load-balancer wait: nothing probes this instance
      const s = await startBuiltSample({
        STEADY_ADAPTER: adapter,
        DRAIN_LB_FALL: '1',
        DRAIN_LB_INTERVAL_MS: '50',
        DRAIN_LB_MARGIN_MS: '0',
      });
      try {
        expect(s.output()).toContain(`(${adapter})`);
        const metrics = await request(s.url).get('/metrics').expect(200);
        expect(metrics.text).toContain('steady_in_flight_requests');
        expect(metrics.text).toContain('process_cpu_user_seconds_total');
        const created = await request(s.url)
          .post('/mails')
          .send({ from: 'a@example.com', to: ['b@example.com'], subject: 'hi', body: 'hello' })
          .expect(201);
        await request(s.url).get(`/mails/${created.body.id}`).expect(200);
        await request(s.url).get('/mailboxes/b@example.com/mails').expect(200);
        await request(s.url).get('/health/ready').expect(200);
        await request(s.url).get('/health/live').expect(200);
      } finally {
        const exited = once(s.child, 'exit');
        s.child.kill('SIGTERM');
        const [code, signal] = await exited;
        // The drain runs first (readiness DOWN, load-balancer wait, in-flight), then Nest closes the app
        // (lifecycle hooks run), then the signal is re-raised so the supervisor sees it.
        expect(s.output()).toContain('draining (SIGTERM): readiness DOWN');
        expect(s.output()).toContain('shut down cleanly after SIGTERM');
        expect(s.output().indexOf('closing: stopped accepting')).toBeLessThan(
          s.output().indexOf('shut down cleanly after SIGTERM'),
        );
        expect({ code, signal }).toEqual({ code: null, signal: 'SIGTERM' });
      }
    },
  );

  it('refuses to start on a bad variable, naming it', async () => {
    const child = spawn(process.execPath, [main], {
      cwd: root,
      env: { ...process.env, PORT: '0', STEADY_ADAPTER: 'koa' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stderr!.on('data', (c) => (out += c));
    child.stdout!.on('data', (c) => (out += c));
    const [code] = await once(child, 'exit');
    expect(code).toBe(1);
    expect(out).toContain(
      'invalid option "STEADY_ADAPTER": expected one of "express", "fastify", got "koa"',
    );
  });
});
