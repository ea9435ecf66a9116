/**
 * Starts a real HAProxy (2.6 on Debian 12) in front of test backends:
 *
 *   haproxy -db -f <tmpdir>/haproxy.cfg
 *
 * The config is generated into a fresh temp dir together with the admin socket
 * (`stats socket <tmpdir>/admin.sock mode 600 level admin`). The helper waits, bounded, until the
 * runtime API reports every backend server UP (op_state 2, and a passed check when checks are on).
 * Missing binary → MissingBinaryError with the install line.
 *
 * Defaults are the "strict" test profile from docs/notes: `retries 0` + `retry-on none`, so the
 * load balancer never hides an app error; short timeouts; checks every 200 ms, fall 2, rise 2.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  outputTail,
  registerCleanup,
  resolveBinary,
  sleep,
  spawnManaged,
  type ExitInfo,
  type ManagedChild,
} from './children';
import { getFreePort, LOOPBACK } from './free-port';

export const HAPROXY_INSTALL_HINT = 'apt-get update && apt-get install -y haproxy';

/** A number is milliseconds; a string is passed through (`'2s'`, `'150ms'`). */
export type Duration = number | string;

/** Per-server health-check timing (`server ... check inter .. fall .. rise ..`). */
export interface HaproxyServerCheck {
  inter?: Duration;
  fastinter?: Duration;
  downinter?: Duration;
  fall?: number;
  rise?: number;
  /** Check a different port than the traffic port. */
  port?: number;
}

/** `agent-check`: HAProxy connects to `host:port` every `inter` and reads one line (`up`, `drain`, `50%`…). */
export interface HaproxyAgentCheck {
  port: number;
  /** `agent-inter`; default 200 ms. */
  inter?: Duration;
  /** `agent-addr`; default the server's host. */
  addr?: string;
  /** `agent-send`: a string sent to the agent on connect. */
  send?: string;
}

export interface HaproxyBackendServer {
  name: string;
  host: string;
  port: number;
  /** Check timing overrides; `false` disables health checks for this server. Default: checks on. */
  check?: HaproxyServerCheck | false;
  agent?: HaproxyAgentCheck;
  weight?: number;
  /** Raw extra server keywords, appended as is. */
  extra?: string[];
}

/** Backend-wide HTTP health check (`option httpchk` + `http-check ...`). */
export interface HaproxyHttpCheck {
  /** Readiness path; default '/'. */
  path?: string;
  /** Default 'GET'. */
  method?: string;
  /** Default 200. Ignored with `disableOn404` unless set explicitly. */
  expectStatus?: number;
  /** `http-check disable-on-404`: a 404 puts the server in NOLB (op_state 3) at once. */
  disableOn404?: boolean;
  /** Host header of the check request; default 'localhost'. */
  host?: string;
}

export interface HaproxyTimeouts {
  connect?: Duration;
  client?: Duration;
  server?: Duration;
  httpKeepAlive?: Duration;
  httpRequest?: Duration;
  check?: Duration;
}

export interface StartHaproxyOptions {
  /** The servers of the (single) backend. */
  backends: HaproxyBackendServer[];
  /** Default 'be'. */
  backendName?: string;
  /** Default 'fe'. */
  frontendName?: string;
  /** Frontend: fixed port (default: free one, port-in-use race retried once) and raw extra lines. */
  frontend?: { port?: number; extra?: string[] };
  /** HTTP health check; `false` → plain TCP checks. Default: `GET /` expecting 200. */
  httpCheck?: HaproxyHttpCheck | false;
  /** `default-server` check timing; default inter 200ms, fastinter 100ms, fall 2, rise 2. */
  defaultCheck?: HaproxyServerCheck;
  /** Default 'roundrobin'. */
  balance?: string;
  timeouts?: HaproxyTimeouts;
  /** Default 0 (then also `retry-on none`). */
  retries?: number;
  /** Log level of `log stdout`; default 'notice' (state changes, no per-request lines). */
  logLevel?: 'emerg' | 'alert' | 'crit' | 'err' | 'warning' | 'notice' | 'info' | 'debug';
  /** Raw extra lines per section, and raw extra sections appended at the end. */
  extra?: {
    global?: string[];
    defaults?: string[];
    frontend?: string[];
    backend?: string[];
    sections?: string[];
  };
  /** Wait until every server is UP; default true. With false only the runtime API is awaited. */
  waitForUp?: boolean;
  /** Start + readiness deadline; default 10 000 ms. */
  startTimeoutMs?: number;
  /** Binary name or path; default `$HAPROXY_BIN` or `haproxy`. */
  binary?: string;
}

/** SRV_ADMF_* bits of `srv_admin_state`. */
export const SRV_ADMIN = {
  FMAINT: 0x01,
  IMAINT: 0x02,
  CMAINT: 0x04,
  FDRAIN: 0x08,
  IDRAIN: 0x10,
  RMAINT: 0x20,
  HMAINT: 0x40,
} as const;
export const SRV_ADMIN_MAINT_MASK = 0x01 | 0x02 | 0x04 | 0x20 | 0x40;
export const SRV_ADMIN_DRAIN_MASK = 0x08 | 0x10;

/** `srv_op_state`: 0 stopped, 1 starting, 2 running, 3 stopping (NOLB). */
export const SRV_OP = { STOPPED: 0, STARTING: 1, RUNNING: 2, STOPPING: 3 } as const;

/** `srv_check_result`. */
export const CHK_RES = { UNKNOWN: 0, NEUTRAL: 1, FAILED: 2, PASSED: 3, CONDPASS: 4 } as const;
/** `srv_check_state` / `srv_agent_state` bit: the check is configured. */
export const CHK_ST_CONFIGURED = 0x02;

export interface ServerStateRow {
  backendId: number;
  backendName: string;
  serverId: number;
  serverName: string;
  address: string;
  opState: number;
  adminState: number;
  userWeight: number;
  initialWeight: number;
  secondsSinceChange: number;
  checkStatus: number;
  checkResult: number;
  checkHealth: number;
  checkState: number;
  agentState: number;
  port: number | null;
  /** Every column by its header name, as printed. */
  raw: Record<string, string>;
}

export interface HaproxyHandle {
  frontendPort: number;
  url: string;
  socketPath: string;
  configPath: string;
  config: string;
  backendName: string;
  pid: number;
  /** One runtime-API command over the admin socket; resolves with the raw answer. */
  adminCommand(cmd: string): Promise<string>;
  /** `show servers state <backend>`, parsed. */
  serversState(): Promise<ServerStateRow[]>;
  /** Polls `serversState()` until `predicate(rows)` holds; returns those rows. */
  waitForServers(
    predicate: (rows: ServerStateRow[]) => boolean,
    options?: { timeoutMs?: number; intervalMs?: number },
  ): Promise<ServerStateRow[]>;
  /** SIGTERM (SIGKILL after 5 s), await exit, remove the temp dir. Idempotent. */
  stop(): Promise<ExitInfo>;
  output(): string;
  readonly child: ManagedChild;
}

// ---------------------------------------------------------------------------------------------
// Pure parts: config rendering, `show servers state` parsing.

function duration(value: Duration): string {
  return typeof value === 'number' ? `${value}ms` : value;
}

const NAME = /^[A-Za-z0-9_.:-]+$/;
function checkName(kind: string, name: string): string {
  if (!NAME.test(name)) throw new Error(`haproxy: invalid ${kind} name ${JSON.stringify(name)}`);
  return name;
}

function checkTiming(check: HaproxyServerCheck): string[] {
  const words: string[] = [];
  if (check.inter !== undefined) words.push('inter', duration(check.inter));
  if (check.fastinter !== undefined) words.push('fastinter', duration(check.fastinter));
  if (check.downinter !== undefined) words.push('downinter', duration(check.downinter));
  if (check.fall !== undefined) words.push('fall', String(check.fall));
  if (check.rise !== undefined) words.push('rise', String(check.rise));
  if (check.port !== undefined) words.push('port', String(check.port));
  return words;
}

function serverLine(server: HaproxyBackendServer): string {
  const words = ['server', checkName('server', server.name), `${server.host}:${server.port}`];
  if (server.check !== false) words.push('check', ...checkTiming(server.check ?? {}));
  if (server.agent !== undefined) {
    const agent = server.agent;
    words.push('agent-check', 'agent-port', String(agent.port));
    words.push('agent-inter', duration(agent.inter ?? 200));
    if (agent.addr !== undefined) words.push('agent-addr', agent.addr);
    if (agent.send !== undefined) words.push('agent-send', JSON.stringify(agent.send));
  }
  if (server.weight !== undefined) words.push('weight', String(server.weight));
  words.push(...(server.extra ?? []));
  return words.join(' ');
}

/** Renders the whole config. Pure, so it is unit-tested without the binary. */
export function renderHaproxyConfig(
  options: StartHaproxyOptions,
  runtime: { frontendPort: number; socketPath: string },
): string {
  if (options.backends.length === 0) throw new Error('haproxy: at least one backend server');
  const be = checkName('backend', options.backendName ?? 'be');
  const fe = checkName('frontend', options.frontendName ?? 'fe');
  const t = options.timeouts ?? {};
  const retries = options.retries ?? 0;
  const defaultCheck: HaproxyServerCheck = {
    inter: 200,
    fastinter: 100,
    fall: 2,
    rise: 2,
    ...options.defaultCheck,
  };
  const extra = options.extra ?? {};
  const indent = (lines: readonly string[]): string[] => lines.map((l) => `    ${l}`);

  const lines: string[] = [
    '# generated by test/support/haproxy.ts',
    'global',
    ...indent([
      `stats socket ${runtime.socketPath} mode 600 level admin`,
      'stats timeout 10s',
      `log stdout format raw local0 ${options.logLevel ?? 'notice'}`,
      ...(extra.global ?? []),
    ]),
    '',
    'defaults',
    ...indent([
      'mode http',
      'log global',
      'option dontlognull',
      `timeout connect ${duration(t.connect ?? 1_000)}`,
      `timeout client ${duration(t.client ?? 10_000)}`,
      `timeout server ${duration(t.server ?? 10_000)}`,
      `timeout http-request ${duration(t.httpRequest ?? 5_000)}`,
      `timeout http-keep-alive ${duration(t.httpKeepAlive ?? 5_000)}`,
      `timeout check ${duration(t.check ?? 1_000)}`,
      `retries ${retries}`,
      ...(retries === 0 ? ['retry-on none'] : []),
      ...(extra.defaults ?? []),
    ]),
    '',
    `frontend ${fe}`,
    ...indent([
      `bind ${LOOPBACK}:${runtime.frontendPort}`,
      `default_backend ${be}`,
      ...(options.frontend?.extra ?? []),
      ...(extra.frontend ?? []),
    ]),
    '',
    `backend ${be}`,
    ...indent([
      `balance ${options.balance ?? 'roundrobin'}`,
      ...httpCheckLines(options.httpCheck),
      `default-server ${checkTiming(defaultCheck).join(' ')}`,
      ...options.backends.map(serverLine),
      ...(extra.backend ?? []),
    ]),
    ...(extra.sections ?? []).flatMap((section) => ['', section]),
    '',
  ];
  return lines.join('\n');
}

function httpCheckLines(check: HaproxyHttpCheck | false | undefined): string[] {
  if (check === false) return [];
  const c = check ?? {};
  const path = c.path ?? '/';
  if (/\s/.test(path)) throw new Error(`haproxy: check path must not contain spaces: ${path}`);
  const lines = [
    'option httpchk',
    `http-check send meth ${c.method ?? 'GET'} uri ${path} ver HTTP/1.1 hdr Host ${c.host ?? 'localhost'}`,
  ];
  if (c.disableOn404) lines.push('http-check disable-on-404');
  if (c.expectStatus !== undefined || !c.disableOn404) {
    lines.push(`http-check expect status ${c.expectStatus ?? 200}`);
  }
  return lines;
}

const NUMERIC_COLUMNS: Record<string, keyof ServerStateRow> = {
  be_id: 'backendId',
  srv_id: 'serverId',
  srv_op_state: 'opState',
  srv_admin_state: 'adminState',
  srv_uweight: 'userWeight',
  srv_iweight: 'initialWeight',
  srv_time_since_last_change: 'secondsSinceChange',
  srv_check_status: 'checkStatus',
  srv_check_result: 'checkResult',
  srv_check_health: 'checkHealth',
  srv_check_state: 'checkState',
  srv_agent_state: 'agentState',
};

/**
 * Parses `show servers state [backend]` (format version 1):
 *
 *   1
 *   # be_id be_name srv_id srv_name srv_addr srv_op_state ...
 *   3 be 1 a 127.0.0.1 2 0 1 1 5 15 3 3 6 0 0 0 - 18081 - 0 0 - - 0
 */
export function parseServersState(text: string): ServerStateRow[] {
  const lines = text.split('\n').map((l) => l.trim());
  const first = lines.findIndex((l) => l !== '');
  if (first === -1 || lines[first] !== '1') {
    throw new Error(
      `unexpected "show servers state" answer: ${JSON.stringify(text.slice(0, 200))}`,
    );
  }
  const headerLine = lines[first + 1];
  if (headerLine === undefined || !headerLine.startsWith('#')) {
    throw new Error(
      `"show servers state": missing header line in ${JSON.stringify(text.slice(0, 200))}`,
    );
  }
  const header = headerLine.slice(1).trim().split(/\s+/);
  const rows: ServerStateRow[] = [];
  for (const line of lines.slice(first + 2)) {
    if (line === '' || line.startsWith('#')) continue;
    const cells = line.split(/\s+/);
    if (cells.length < header.length) {
      throw new Error(`"show servers state": short row ${JSON.stringify(line)}`);
    }
    const raw: Record<string, string> = {};
    header.forEach((name, i) => (raw[name] = cells[i]!));
    const row: ServerStateRow = {
      backendId: 0,
      backendName: raw.be_name ?? '',
      serverId: 0,
      serverName: raw.srv_name ?? '',
      address: raw.srv_addr ?? '',
      opState: 0,
      adminState: 0,
      userWeight: 0,
      initialWeight: 0,
      secondsSinceChange: 0,
      checkStatus: 0,
      checkResult: 0,
      checkHealth: 0,
      checkState: 0,
      agentState: 0,
      port: raw.srv_port === undefined || raw.srv_port === '-' ? null : Number(raw.srv_port),
      raw,
    };
    for (const [column, key] of Object.entries(NUMERIC_COLUMNS)) {
      const value = raw[column];
      if (value === undefined) continue;
      const n = Number(value);
      if (!Number.isFinite(n)) {
        throw new Error(`"show servers state": ${column}=${JSON.stringify(value)} is not a number`);
      }
      (row as unknown as Record<string, number>)[key] = n;
    }
    rows.push(row);
  }
  return rows;
}

/** UP and in rotation: running, no maint/drain bit, and its check passed if one is configured. */
export function isServerUp(row: ServerStateRow): boolean {
  if (row.opState !== SRV_OP.RUNNING) return false;
  if ((row.adminState & (SRV_ADMIN_MAINT_MASK | SRV_ADMIN_DRAIN_MASK)) !== 0) return false;
  if ((row.checkState & CHK_ST_CONFIGURED) !== 0) {
    return row.checkResult === CHK_RES.PASSED || row.checkResult === CHK_RES.CONDPASS;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Runtime API over the unix socket.

/** Sends one command to an HAProxy admin socket and resolves with everything it answers. */
export function haproxyAdminCommand(
  socketPath: string,
  cmd: string,
  timeoutMs = 2_000,
): Promise<string> {
  if (cmd.includes('\n')) throw new Error('haproxy admin command must be a single line');
  return new Promise((resolve, reject) => {
    const socket = createConnection({ path: socketPath });
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (err?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(Buffer.concat(chunks).toString('utf8'));
    };
    const timer = setTimeout(
      () => finish(new Error(`haproxy admin "${cmd}": no complete answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
    socket.once('connect', () => socket.write(`${cmd}\n`));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.once('end', () => finish());
    socket.once('close', () => finish());
    socket.once('error', (err) => finish(err));
  });
}

// ---------------------------------------------------------------------------------------------
// Process lifecycle.

const BIND_FAILED = /cannot bind socket|address already in use/i;
class PortInUseError extends Error {}

export async function startHaproxy(options: StartHaproxyOptions): Promise<HaproxyHandle> {
  const binary = resolveBinary(
    'haproxy',
    HAPROXY_INSTALL_HINT,
    options.binary ?? process.env.HAPROXY_BIN,
  );
  const attempts = options.frontend?.port === undefined ? 2 : 1;
  let lastError: Error | undefined;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const frontendPort = options.frontend?.port ?? (await getFreePort());
    try {
      return await startOnce(binary, frontendPort, options);
    } catch (err) {
      lastError = err as Error;
      if (!(err instanceof PortInUseError)) throw err;
    }
  }
  throw lastError ?? new Error('haproxy did not start');
}

async function startOnce(
  binary: string,
  frontendPort: number,
  options: StartHaproxyOptions,
): Promise<HaproxyHandle> {
  const dir = await mkdtemp(join(tmpdir(), 'steady-haproxy-'));
  const socketPath = join(dir, 'admin.sock');
  const configPath = join(dir, 'haproxy.cfg');
  const backendName = options.backendName ?? 'be';
  let child: ManagedChild;
  let config: string;
  try {
    config = renderHaproxyConfig(options, { frontendPort, socketPath });
    await writeFile(configPath, config, { mode: 0o600 });
    child = await spawnManaged('haproxy', binary, ['-db', '-f', configPath], {
      cwd: dir,
      installHint: HAPROXY_INSTALL_HINT,
    });
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }

  let stopping: Promise<ExitInfo> | undefined;
  const stop = (): Promise<ExitInfo> => {
    stopping ??= (async () => {
      unregister();
      const info = await child.stop({ signal: 'SIGTERM', killAfterMs: 5_000 });
      await rm(dir, { recursive: true, force: true });
      return info;
    })();
    return stopping;
  };
  const unregister = registerCleanup(`haproxy :${frontendPort}`, stop);

  const adminCommand = (cmd: string): Promise<string> => haproxyAdminCommand(socketPath, cmd);
  const serversState = async (): Promise<ServerStateRow[]> =>
    parseServersState(await adminCommand(`show servers state ${backendName}`));

  const waitForServers: HaproxyHandle['waitForServers'] = async (predicate, waitOptions = {}) => {
    const timeoutMs = waitOptions.timeoutMs ?? 10_000;
    const deadline = Date.now() + timeoutMs;
    let last: ServerStateRow[] | string = 'no answer yet';
    for (;;) {
      assertRunning(child, frontendPort);
      try {
        const rows = await serversState();
        if (predicate(rows)) return rows;
        last = rows;
      } catch (err) {
        last = (err as Error).message;
      }
      if (Date.now() >= deadline) break;
      await sleep(waitOptions.intervalMs ?? 20);
    }
    const summary =
      typeof last === 'string'
        ? last
        : last
            .map(
              (r) =>
                `${r.serverName}: op=${r.opState} admin=${r.adminState} check=${r.checkResult}`,
            )
            .join(', ');
    throw new Error(
      `haproxy servers did not reach the expected state within ${timeoutMs} ms (last: ${summary}).` +
        ` Output tail:\n${outputTail(child)}`,
    );
  };

  try {
    const startTimeoutMs = options.startTimeoutMs ?? 10_000;
    const deadline = Date.now() + startTimeoutMs;
    await waitForRuntimeApi(child, frontendPort, socketPath, deadline);
    if (options.waitForUp ?? true) {
      const expected = options.backends.length;
      await waitForServers((rows) => rows.length === expected && rows.every(isServerUp), {
        timeoutMs: Math.max(0, deadline - Date.now()),
      });
    }
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    frontendPort,
    url: `http://${LOOPBACK}:${frontendPort}`,
    socketPath,
    configPath,
    config,
    backendName,
    pid: child.pid,
    adminCommand,
    serversState,
    waitForServers,
    stop,
    output: () => child.output(),
    child,
  };
}

function assertRunning(child: ManagedChild, frontendPort: number): void {
  const exit = child.exitInfo();
  if (exit === undefined) return;
  const message =
    `haproxy (frontend 127.0.0.1:${frontendPort}) exited early ` +
    `(code ${exit.code}, signal ${exit.signal}). Output tail:\n${outputTail(child)}`;
  throw BIND_FAILED.test(child.output()) ? new PortInUseError(message) : new Error(message);
}

/** Waits until the admin socket answers `show info` with our child's pid. */
async function waitForRuntimeApi(
  child: ManagedChild,
  frontendPort: number,
  socketPath: string,
  deadline: number,
): Promise<void> {
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    assertRunning(child, frontendPort);
    try {
      const info = await haproxyAdminCommand(socketPath, 'show info', 500);
      const pid = /^Pid: (\d+)$/m.exec(info)?.[1];
      if (pid === String(child.pid)) return;
      last = `show info reported pid ${pid ?? '?'}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(20);
  }
  throw new Error(
    `haproxy runtime API at ${socketPath} not ready in time (last: ${last}). ` +
      `Output tail:\n${outputTail(child)}`,
  );
}
