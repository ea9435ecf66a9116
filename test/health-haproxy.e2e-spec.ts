/**
 * The drain behind a real HAProxy (strict: `retries 0`, `retry-on none`, so the balancer hides no app error), with
 * two sample instances: in-process apps on port 0 (programmatic drain, control run, detection times) and child
 * processes of the built sample (SIGTERM).
 */
import type { INestApplication } from '@nestjs/common';
import { DrainService, enableDrainHooks, HaproxyAgentServer } from '@steady/health';
import { execFile } from 'node:child_process';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { createSampleApp } from '../apps/sample/src/sample.bootstrap';
import { sampleConfig, type SampleConfig } from '../apps/sample/src/sample.config';
import { outputTail, spawnManaged, type ManagedChild } from './support/children';
import { getFreePort, LOOPBACK } from './support/free-port';
import {
  isServerUp,
  SRV_ADMIN_DRAIN_MASK,
  SRV_OP,
  startHaproxy,
  type HaproxyBackendServer,
  type HaproxyHandle,
  type ServerStateRow,
  type StartHaproxyOptions,
} from './support/haproxy';
import {
  failures,
  httpRequest,
  runKeepAliveLoad,
  type LoadResult,
} from './support/keep-alive-load';
import { ADAPTERS, type AdapterName } from './support/nest-app';

const READY = '/health/ready';
const MAILBOX = '/mailboxes/bob@example.com/mails';
/** HAProxy checks: every 100 ms, 2 failures mark a server down — so the drain waits 2 × 100 + 100 ms. */
const CHECK = { inter: 100, fastinter: 100, fall: 2, rise: 2 };
const DRAIN_ENV = { lbFall: CHECK.fall, lbIntervalMs: CHECK.fastinter, lbMarginMs: 100 };
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

interface Instance {
  name: string;
  app: INestApplication;
  port: number;
  url: string;
  drain: DrainService;
}

/** The sample, created by its own bootstrap code, drain-enabled (no signals: this is the test process). */
async function startInstance(
  name: string,
  adapter: AdapterName,
  drain: Partial<SampleConfig['drain']> = {},
): Promise<Instance> {
  const config = sampleConfig({
    adapter,
    host: LOOPBACK,
    logLevel: 'error',
    shedding: { eventLoop: false }, // the load generator shares this event loop
    drain: { ...DRAIN_ENV, ...drain },
  });
  const app = await createSampleApp(config);
  enableDrainHooks(app, { signals: [] });
  await app.listen(0, LOOPBACK);
  const port = (app.getHttpServer() as Server).address() as { port: number };
  return {
    name,
    app,
    port: port.port,
    url: `http://${LOOPBACK}:${port.port}`,
    drain: app.get(DrainService),
  };
}

async function closeInstance(i: Instance | undefined): Promise<void> {
  if (i && i.drain.state === 'serving') await i.app.close();
  else if (i) await i.drain.drain('test teardown'); // joins the drain under way; resolves once it has exited
}

function haproxyFor(
  servers: HaproxyBackendServer[],
  extra: Partial<StartHaproxyOptions> = {},
): Promise<HaproxyHandle> {
  return startHaproxy({
    backends: servers,
    httpCheck: { path: READY },
    defaultCheck: CHECK,
    // which instance answered, for the assertions that both served
    extra: {
      backend: ['http-response set-header x-served-by %s'],
      // log only what went wrong (status, resets, aborts), for the failure messages
      defaults: ['option httplog', 'option dontlog-normal'],
    },
    logLevel: 'info',
    ...extra,
  });
}

const row = (rows: ServerStateRow[], name: string): ServerStateRow => {
  const r = rows.find((x) => x.serverName === name);
  if (!r) throw new Error(`no server ${name} in ${rows.map((x) => x.serverName).join(', ')}`);
  return r;
};

/**
 * Polls the stats socket every 10 ms until `predicate` holds for `server`; returns the ms since `since`.
 * Bounded by `timeoutMs`.
 */
async function msUntil(
  haproxy: HaproxyHandle,
  server: string,
  predicate: (r: ServerStateRow) => boolean,
  since: number,
  timeoutMs = 5_000,
): Promise<number> {
  const end = since + timeoutMs;
  while (performance.now() < end) {
    if (predicate(row(await haproxy.serversState(), server))) return performance.now() - since;
    await sleep(10);
  }
  throw new Error(`${server} did not change state within ${timeoutMs} ms`);
}

/**
 * Polls an instance's liveness every 25 ms until its server stops accepting; returns the statuses seen. A
 * connection reset counts as "stopped accepting" only once the drain is closing (a connection caught in the accept
 * queue when the listener closes); before that it fails the test.
 */
async function livenessUntilClosed(i: Instance, timeoutMs = 5_000): Promise<string[]> {
  const statuses: string[] = [];
  const end = performance.now() + timeoutMs;
  while (performance.now() < end) {
    try {
      const sentIn = i.drain.state;
      const r = await httpRequest(`${i.url}/health/live`);
      statuses.push(
        r.status === 200 ? '200' : `${r.status} (sent ${sentIn}, now ${i.drain.state}) ${r.body}`,
      );
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ECONNREFUSED') return statuses;
      if (code === 'ECONNRESET' && !['serving', 'draining'].includes(i.drain.state))
        return statuses;
      throw err;
    }
    await sleep(25);
  }
  throw new Error(`${i.url} still accepting after ${timeoutMs} ms`);
}

/** The load result and what HAProxy logged as abnormal (the config logs nothing else), for failure messages. */
function describeLoad(r: LoadResult, haproxy?: HaproxyHandle): string {
  return `${JSON.stringify(r)}${haproxy ? `\nhaproxy:\n${haproxy.output().slice(-3000)}` : ''}`;
}

describe.each(ADAPTERS)(
  'drain behind a real HAProxy, in-process sample instances (%s)',
  (adapter) => {
    let a: Instance | undefined;
    let b: Instance | undefined;
    let haproxy: HaproxyHandle | undefined;

    afterEach(async () => {
      await haproxy?.stop();
      await Promise.all([closeInstance(a), closeInstance(b)]);
      haproxy = a = b = undefined;
    });

    async function startPair(drain: Partial<SampleConfig['drain']> = {}, agentOnA = false) {
      a = await startInstance('a', adapter, drain);
      b = await startInstance('b', adapter, drain);
      const agentPort = a.app.get(HaproxyAgentServer).port;
      return haproxyFor(
        [
          {
            name: 'a',
            host: LOOPBACK,
            port: a.port,
            ...(agentOnA ? { agent: { port: agentPort!, inter: 200 } } : {}),
          },
          { name: 'b', host: LOOPBACK, port: b.port },
        ],
        agentOnA ? { defaultCheck: { inter: 2000, fastinter: 2000, fall: 3, rise: 1 } } : {},
      );
    }

    it('drain(): 16 keep-alive clients see 0 non-200 and 0 socket errors (wait ended by refused probes)', async () => {
      // close once HAProxy has had `fall` checks refused (+ margin), whatever the checks cost on this busy loop;
      // a 3 s delay is the ceiling
      haproxy = await startPair({ lbProbes: CHECK.fall, lbDelayMs: 3_000 });
      const load = runKeepAliveLoad({
        url: `${haproxy.url}${MAILBOX}`,
        clients: 16,
        durationMs: 2_500,
        tagHeader: 'x-served-by',
      });
      await sleep(600);
      const drained = a!.drain.drain('programmatic');
      const status = await drained;
      const result = await load;
      expect(failures(result), describeLoad(result, haproxy)).toBe(0);
      expect(result.ok).toBeGreaterThan(200);
      expect(status.refusedProbes).toBeGreaterThanOrEqual(CHECK.fall);
      expect(status.durations.lbWait).toBeLessThan(3_000);
      expect(result.byTag.a, 'a served before the drain').toBeGreaterThan(0);
      expect(result.byTag.b, describeLoad(result)).toBeGreaterThan(0);
      expect(status).toMatchObject({ state: 'exited', forcedRequests: 0, inFlight: 0 });
      const rows = await haproxy.serversState();
      expect(row(rows, 'a').opState).toBe(SRV_OP.STOPPED);
      expect(row(rows, 'b').opState).toBe(SRV_OP.RUNNING);
    });

    it('control: a naive close (app.close() at once, no load-balancer wait) fails requests', async () => {
      haproxy = await startPair();
      const load = runKeepAliveLoad({
        url: `${haproxy.url}${MAILBOX}`,
        clients: 16,
        durationMs: 1_500,
      });
      await sleep(500);
      await a!.app.close(); // what app.enableShutdownHooks() does on SIGTERM
      const result = await load;
      expect(failures(result), describeLoad(result)).toBeGreaterThan(0);
    });

    it('httpchk: HAProxy marks the instance down within fall × fastinter + 100 ms; liveness 200 throughout', async () => {
      haproxy = await startPair();
      const flippedAt = performance.now();
      const drained = a!.drain.drain('timing');
      const liveness = livenessUntilClosed(a!);
      const downMs = await msUntil(haproxy, 'a', (r) => r.opState === SRV_OP.STOPPED, flippedAt);
      expect(downMs).toBeLessThanOrEqual(CHECK.fall * CHECK.fastinter + 100);
      // the drain kept serving until HAProxy had marked it down
      expect(a!.drain.status().durations.lbWait ?? Infinity).toBeGreaterThanOrEqual(downMs - 20);
      const statuses = await liveness;
      expect(statuses.length).toBeGreaterThanOrEqual(5);
      expect(statuses.filter((s) => s !== '200')).toEqual([]);
      expect((await drained).refusedProbes).toBeGreaterThanOrEqual(CHECK.fall);
    });

    it('agent-check: HAProxy drains the instance within agent-inter + 50 ms; liveness 200 throughout', async () => {
      // a slow httpchk (2 s × 3) so that only the agent can be this fast
      haproxy = await startPair({ agentPort: 0, agentIntervalMs: 200, lbMarginMs: 50 }, true);
      expect(a!.drain.options.lbWaitMs).toBe(250);
      const flippedAt = performance.now();
      const drained = a!.drain.drain('agent');
      const liveness = livenessUntilClosed(a!);
      const drainMs = await msUntil(
        haproxy,
        'a',
        (r) => (r.adminState & SRV_ADMIN_DRAIN_MASK) !== 0,
        flippedAt,
      );
      expect(drainMs).toBeLessThanOrEqual(200 + 50);
      const statuses = await liveness;
      expect(statuses.length).toBeGreaterThanOrEqual(3);
      expect(statuses.filter((s) => s !== '200')).toEqual([]);
      await drained;
    });
  },
);

const root = resolve(__dirname, '..');
/** The sample built into its own directory, so this suite never races the other suites that build `dist/apps/sample`. */
const BUILD_DIR = 'dist/test-health-sample';
const main = resolve(root, BUILD_DIR, 'apps/sample/src/main.js');

async function startChild(
  name: string,
  adapter: AdapterName,
): Promise<{ child: ManagedChild; port: number }> {
  const port = await getFreePort();
  const child = await spawnManaged(name, process.execPath, [main], {
    cwd: root,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: LOOPBACK,
      STEADY_ADAPTER: adapter,
      SHED_EVENT_LOOP: 'false',
      DRAIN_LB_FALL: String(CHECK.fall),
      DRAIN_LB_INTERVAL_MS: String(CHECK.fastinter),
      // timed wait: 2 × 100 + 1000 ms — the margin covers checks slowed down by everything else this 2-core
      // machine runs (docs/health.md: keep lb.marginMs above the checks' duration under load)
      DRAIN_LB_MARGIN_MS: '1000',
    },
  });
  const end = performance.now() + 20_000;
  while (!child.output().includes('Steady sample mail service on')) {
    if (child.exitInfo()) throw new Error(`${name} exited:\n${outputTail(child)}`);
    if (performance.now() > end) throw new Error(`${name} did not start:\n${outputTail(child)}`);
    await sleep(20);
  }
  return { child, port };
}

describe('SIGTERM drain of the built sample behind a real HAProxy', () => {
  beforeAll(async () => {
    await mkdir(resolve(root, 'dist/.health-e2e'), { recursive: true });
    await writeFile(
      resolve(root, 'dist/.health-e2e/tsconfig.json'),
      JSON.stringify({
        extends: '../../apps/sample/tsconfig.app.json',
        compilerOptions: { outDir: '../test-health-sample' },
        include: ['../../apps/sample/src/**/*', '../../libs/*/src/**/*'],
        exclude: ['../../node_modules', '../../dist', '../../**/*.spec.ts'],
      }),
    );
    let buildOutput = '';
    await promisify(execFile)(
      'npx',
      ['nest', 'build', 'sample', '-p', 'dist/.health-e2e/tsconfig.json'],
      { cwd: root, timeout: 150_000 },
    ).catch((err: { stdout?: string; message: string }) => {
      // type errors in someone else's library are reported, and the sample is still emitted
      buildOutput = `${err.message}\n${err.stdout ?? ''}`;
    });
    await stat(main).catch(() => {
      throw new Error(`the sample was not built into ${BUILD_DIR}:\n${buildOutput}`);
    });
  }, 180_000);

  it.each(ADAPTERS)(
    'SIGTERM (twice) on one of two instances under 16 keep-alive clients: 0 failures, one drain, clean exit (%s)',
    async (adapter) => {
      const a = await startChild('sample-a', adapter);
      const b = await startChild('sample-b', adapter);
      let haproxy: HaproxyHandle | undefined;
      try {
        haproxy = await haproxyFor([
          { name: 'a', host: LOOPBACK, port: a.port },
          { name: 'b', host: LOOPBACK, port: b.port },
        ]);
        const load = runKeepAliveLoad({
          url: `${haproxy.url}${MAILBOX}`,
          clients: 16,
          durationMs: 3_500,
          tagHeader: 'x-served-by',
        });
        await sleep(800);
        const killedAt = performance.now();
        a.child.process.kill('SIGTERM');
        await sleep(100);
        a.child.process.kill('SIGTERM'); // a second signal joins the drain under way
        const downMs = await msUntil(haproxy, 'a', (r) => r.opState === SRV_OP.STOPPED, killedAt);
        const exit = await a.child.exited;
        const result = await load;
        const out = a.child.output();
        expect(failures(result), describeLoad(result, haproxy)).toBe(0);
        expect(result.byTag.a, describeLoad(result)).toBeGreaterThan(0);
        expect(result.byTag.b, describeLoad(result)).toBeGreaterThan(0);
        expect(exit, outputTail(a.child)).toEqual({ code: null, signal: 'SIGTERM' });
        expect(
          out.match(/draining \(SIGTERM\): readiness DOWN/g),
          outputTail(a.child),
        ).toHaveLength(1);
        expect(out, outputTail(a.child)).toContain('ignoring signal trigger "SIGTERM"');
        expect(out, outputTail(a.child)).toContain('shut down cleanly after SIGTERM');
        expect(downMs).toBeLessThan(2_000);
      } finally {
        await haproxy?.stop();
        await Promise.all([a.child.stop(), b.child.stop()]);
      }
    },
    30_000,
  );
});
