import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import {
  createServer as createHttpServer,
  request,
  type IncomingHttpHeaders,
  type Server as HttpServer,
} from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { liveChildPids, resolveBinary } from './support/children';
import { canConnect } from './support/free-port';
import {
  CHK_RES,
  HAPROXY_INSTALL_HINT,
  isServerUp,
  renderHaproxyConfig,
  SRV_ADMIN,
  SRV_ADMIN_DRAIN_MASK,
  SRV_OP,
  startHaproxy,
  type HaproxyHandle,
  type ServerStateRow,
} from './support/haproxy';

interface HttpResult {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One GET on a fresh connection (no pooled keep-alive sockets left behind). */
function httpGet(url: string): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, timeout: 5_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      );
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
}

/** A tiny backend: 200/503 on /ready depending on `ready`, 200 with an identifying header elsewhere. */
class TestBackend {
  readonly server: HttpServer;
  ready = true;
  readyHits = 0;
  trafficPaths: string[] = [];
  port = 0;

  constructor(readonly id: string) {
    this.server = createHttpServer((req, res) => {
      if (req.url === '/ready') {
        this.readyHits++;
        res.writeHead(this.ready ? 200 : 503, { 'content-type': 'text/plain' });
        res.end(this.ready ? 'ready' : 'not ready');
        return;
      }
      this.trafficPaths.push(req.url ?? '');
      res.writeHead(200, { 'content-type': 'application/json', 'x-steady-backend': this.id });
      res.end(JSON.stringify({ backend: this.id, path: req.url }));
    });
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    if (address === null || typeof address === 'string') throw new Error('no backend port');
    this.port = address.port;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A minimal HAProxy agent-check responder: answers one line, e.g. "up ready" or "drain". */
class TestAgent {
  readonly server: TcpServer;
  reply = 'up ready';
  hits = 0;
  port = 0;

  constructor() {
    this.server = createTcpServer((socket) => {
      this.hits++;
      socket.on('error', () => undefined); // HAProxy may RST right after reading the line
      socket.end(`${this.reply}\n`);
    });
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    if (address === null || typeof address === 'string') throw new Error('no agent port');
    this.port = address.port;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function only(rows: ServerStateRow[], name: string): ServerStateRow {
  const row = rows.find((r) => r.serverName === name);
  if (row === undefined) throw new Error(`no server ${name} in ${JSON.stringify(rows)}`);
  return row;
}

describe('startHaproxy (real haproxy child in front of a node:http backend)', () => {
  const backend = new TestBackend('backend-one');
  let haproxy: HaproxyHandle;

  beforeAll(async () => {
    await backend.listen();
    haproxy = await startHaproxy({
      backends: [{ name: 'app', host: '127.0.0.1', port: backend.port }],
      httpCheck: { path: '/ready' },
      defaultCheck: { inter: 100, fastinter: 50, fall: 2, rise: 2 },
    });
  });

  afterAll(async () => {
    await haproxy?.stop();
    await backend.close();
  });

  it('writes its config and admin socket into a private temp dir', async () => {
    expect(dirname(haproxy.socketPath)).toBe(dirname(haproxy.configPath));
    expect(haproxy.config).toContain(`stats socket ${haproxy.socketPath} mode 600 level admin`);
    expect(haproxy.config).toContain(`bind 127.0.0.1:${haproxy.frontendPort}`);
    expect(haproxy.config).toMatch(/option httpchk\n\s+http-check send meth GET uri \/ready /);
    const socketStat = await stat(haproxy.socketPath);
    expect(socketStat.isSocket()).toBe(true);
    expect(socketStat.mode & 0o777).toBe(0o600);
    expect(processExists(haproxy.pid)).toBe(true);
    expect(liveChildPids()).toContain(haproxy.pid);
  });

  it('reports the server UP on the admin socket after passing /ready checks', async () => {
    const rows = await haproxy.serversState();
    expect(rows).toHaveLength(1);
    const app = only(rows, 'app');
    expect(app.backendName).toBe('be');
    expect(app.port).toBe(backend.port);
    expect(app.opState).toBe(SRV_OP.RUNNING);
    expect(app.adminState).toBe(0);
    expect(app.checkResult).toBe(CHK_RES.PASSED);
    expect(isServerUp(app)).toBe(true);
    expect(backend.readyHits).toBeGreaterThan(0);
  });

  it('routes a real HTTP request through the frontend to the backend', async () => {
    const res = await httpGet(`${haproxy.url}/hello?via=haproxy`);
    expect(res.status).toBe(200);
    expect(res.headers['x-steady-backend']).toBe('backend-one');
    expect(JSON.parse(res.body)).toEqual({ backend: 'backend-one', path: '/hello?via=haproxy' });
    expect(backend.trafficPaths).toContain('/hello?via=haproxy');
  });

  it('answers 503 while the server is in maint, and routes again when it is ready', async () => {
    expect(await haproxy.adminCommand('set server be/app state maint')).toMatch(/^\s*$/);
    const rows = await haproxy.waitForServers(
      (r) => (only(r, 'app').adminState & SRV_ADMIN.FMAINT) !== 0,
    );
    expect(only(rows, 'app').opState).toBe(SRV_OP.STOPPED);
    const before = backend.trafficPaths.length;
    const res = await httpGet(`${haproxy.url}/during-maint`);
    expect(res.status).toBe(503);
    expect(res.headers['x-steady-backend']).toBeUndefined();
    expect(backend.trafficPaths.length).toBe(before);

    await haproxy.adminCommand('set server be/app state ready');
    await haproxy.waitForServers((r) => r.every(isServerUp));
    expect((await httpGet(`${haproxy.url}/after-maint`)).status).toBe(200);
  });

  it('marks the server DOWN when /ready fails, and UP again when it recovers', async () => {
    backend.ready = false;
    try {
      const down = await haproxy.waitForServers((r) => only(r, 'app').opState === SRV_OP.STOPPED, {
        timeoutMs: 3_000,
      });
      expect(only(down, 'app').checkResult).toBe(CHK_RES.FAILED);
      expect((await httpGet(`${haproxy.url}/while-down`)).status).toBe(503);
    } finally {
      backend.ready = true;
    }
    await haproxy.waitForServers((r) => r.every(isServerUp), { timeoutMs: 3_000 });
    expect((await httpGet(`${haproxy.url}/after-recovery`)).status).toBe(200);
  });

  it('rejects an unknown backend on the admin socket with a clear error', async () => {
    expect(await haproxy.adminCommand('show servers state no-such-backend')).toMatch(
      /Can't find backend/,
    );
  });
});

describe('startHaproxy with an agent-check', () => {
  const backend = new TestBackend('backend-agent');
  const agent = new TestAgent();
  let haproxy: HaproxyHandle;

  beforeAll(async () => {
    await Promise.all([backend.listen(), agent.listen()]);
    haproxy = await startHaproxy({
      backendName: 'agented',
      backends: [
        {
          name: 'app',
          host: '127.0.0.1',
          port: backend.port,
          agent: { port: agent.port, inter: 50 },
        },
      ],
      httpCheck: { path: '/ready' },
    });
  });

  afterAll(async () => {
    await haproxy?.stop();
    await Promise.all([backend.close(), agent.close()]);
  });

  it('renders agent-check options and polls the agent', async () => {
    expect(haproxy.config).toContain(`agent-check agent-port ${agent.port} agent-inter 50ms`);
    await haproxy.waitForServers(() => agent.hits > 0, { timeoutMs: 2_000 });
    expect(only(await haproxy.serversState(), 'app').raw.srv_agent_port).toBe(String(agent.port));
  });

  it('an agent "drain" takes the server out of rotation, "up ready" brings it back', async () => {
    agent.reply = 'drain';
    const drained = await haproxy.waitForServers(
      (r) => (only(r, 'app').adminState & SRV_ADMIN_DRAIN_MASK) !== 0,
      { timeoutMs: 2_000 },
    );
    // HAProxy 2.6 maps an agent "drain" to the forced-drain bit; the server stays running.
    expect(only(drained, 'app').adminState & SRV_ADMIN.FDRAIN).toBe(SRV_ADMIN.FDRAIN);
    expect(only(drained, 'app').opState).toBe(SRV_OP.RUNNING);
    expect(isServerUp(only(drained, 'app'))).toBe(false);

    agent.reply = 'up ready';
    await haproxy.waitForServers((r) => r.every(isServerUp), { timeoutMs: 2_000 });
    expect((await httpGet(`${haproxy.url}/after-drain`)).status).toBe(200);
  });
});

describe('startHaproxy lifecycle and failures', () => {
  it('stop() sends SIGTERM, awaits the exit, removes the temp dir, closes the port; twice is fine', async () => {
    const backend = new TestBackend('backend-lifecycle');
    await backend.listen();
    try {
      const hp = await startHaproxy({
        backends: [{ name: 'app', host: '127.0.0.1', port: backend.port }],
        httpCheck: { path: '/ready' },
      });
      expect(await canConnect(hp.frontendPort)).toBe(true);

      const exit = await hp.stop();
      expect(exit.code !== null || exit.signal !== null).toBe(true);
      expect(hp.child.exitInfo()).toEqual(exit);
      expect(processExists(hp.pid)).toBe(false);
      expect(liveChildPids()).not.toContain(hp.pid);
      expect(await canConnect(hp.frontendPort)).toBe(false);
      await expect(stat(dirname(hp.socketPath))).rejects.toMatchObject({ code: 'ENOENT' });
      await expect(hp.adminCommand('show info')).rejects.toThrow(/ENOENT|ECONNREFUSED/);
      expect(await hp.stop()).toEqual(exit);
    } finally {
      await backend.close();
    }
  });

  it('times out, bounded, when a server never passes its check, and leaves no child', async () => {
    const backend = new TestBackend('backend-never-ready');
    backend.ready = false;
    await backend.listen();
    const before = liveChildPids();
    try {
      await expect(
        startHaproxy({
          backends: [{ name: 'app', host: '127.0.0.1', port: backend.port }],
          httpCheck: { path: '/ready' },
          startTimeoutMs: 1_000,
        }),
      ).rejects.toThrow(/did not reach the expected state within \d+ ms[\s\S]*app: op=0/);
      expect(liveChildPids()).toEqual(before);
    } finally {
      await backend.close();
    }
  });

  it('an invalid config fails with the HAProxy output tail', async () => {
    await expect(
      startHaproxy({
        backends: [{ name: 'app', host: '127.0.0.1', port: 9 }],
        extra: { backend: ['this-is-not-a-keyword'] },
      }),
    ).rejects.toThrow(/exited early[\s\S]*this-is-not-a-keyword/);
  });

  it('every rendered option is accepted by `haproxy -c`', async () => {
    const config = renderHaproxyConfig(
      {
        backends: [
          {
            name: 'a',
            host: '127.0.0.1',
            port: 18081,
            check: { inter: '1s', fastinter: 100, downinter: 500, fall: 3, rise: 1, port: 18091 },
            agent: { port: 18181, inter: 200, addr: '127.0.0.1', send: 'hello' },
            weight: 50,
          },
          { name: 'b', host: '127.0.0.1', port: 18082, check: false },
        ],
        httpCheck: { path: '/health/ready', disableOn404: true },
        balance: 'leastconn',
        retries: 2,
        timeouts: { connect: 500, client: '30s', server: '30s', httpKeepAlive: '10s' },
        extra: {
          defaults: ['option redispatch 1', 'retry-on conn-failure empty-response'],
          frontend: ['http-request set-header x-steady-test 1'],
        },
      },
      { frontendPort: 18080, socketPath: '/tmp/steady-haproxy-check.sock' },
    );
    expect(config).toContain('http-check disable-on-404');
    expect(config).not.toContain('http-check expect');
    expect(config).not.toContain('retry-on none');
    const binary = resolveBinary('haproxy', HAPROXY_INSTALL_HINT);
    const dir = await mkdtemp(join(tmpdir(), 'steady-haproxy-check-'));
    try {
      const file = join(dir, 'haproxy.cfg');
      await writeFile(file, config);
      const { stdout, stderr } = await promisify(execFile)(binary, ['-c', '-f', file], {
        timeout: 10_000,
      }).catch((err: Error & { stderr?: string }) => {
        throw new Error(`haproxy -c rejected the config: ${err.stderr ?? err.message}\n${config}`);
      });
      expect(`${stdout}${stderr}`).toMatch(/Configuration file is valid/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a missing binary fails with the install command, never a skip', async () => {
    await expect(
      startHaproxy({
        binary: '/nonexistent/haproxy',
        backends: [{ name: 'app', host: '127.0.0.1', port: 9 }],
      }),
    ).rejects.toThrow(HAPROXY_INSTALL_HINT);
  });
});
