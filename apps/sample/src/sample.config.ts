import { OptionValidator, SteadyOptionsError } from '@steady/core';

/** Configuration of the sample mail service, read from the environment. */
export interface SampleConfig {
  /** TCP port; `PORT`, default 3000 (0 picks a free port). */
  port: number;
  /** Listen address; `HOST`, default all interfaces. */
  host: string | undefined;
  /** `STEADY_ADAPTER=express|fastify`, default express. */
  adapter: 'express' | 'fastify';
  /** Nest log level; `LOG_LEVEL=error|warn|log|debug|verbose`, default log. */
  logLevel: 'error' | 'warn' | 'log' | 'debug' | 'verbose';
  /** Largest request body in bytes (413 above); `MAX_BODY_BYTES`, default 262144. */
  maxBodyBytes: number;
  /** Mails kept in memory before the oldest are dropped; `MAILBOX_MAX_MAILS`, default 100000. */
  maxMails: number;
  shedding: {
    /** `SHED_ENABLED=true|false`, default true. */
    enabled: boolean;
    /** `SHED_SHADOW=true|false`: count what would be shed, reject nothing. Default false. */
    shadow: boolean;
    /** In-flight limit (Tomcat's maxThreads); `SHED_MAX_IN_FLIGHT`, default 64. */
    maxInFlight: number;
    /** Shed on event-loop saturation too (CPU-bound overload); `SHED_EVENT_LOOP=true|false`, default true. */
    eventLoop: boolean;
  };
  spamScanner: {
    /** Concurrent scans the downstream allows; `SPAM_SCANNER_POOL_SIZE`, default 8. */
    poolSize: number;
    /** Simulated scan latency in ms; `SPAM_SCANNER_LATENCY_MS`, default 20. */
    latencyMs: number;
    /** Scans allowed to wait for a pool slot (503 above); `SPAM_SCANNER_QUEUE_LIMIT`, default 1000. */
    queueLimit: number;
    /** Longest wait for a free pool slot, in ms (504 after); `SPAM_SCANNER_TIMEOUT_MS`, default 5000. */
    timeoutMs: number;
  };
  /** The drain (`@steady/health`): how long to wait for the load balancer, the hard deadline, the agent, the admin token. */
  drain: {
    /** Minimum wait after readiness flips; `DRAIN_LB_DELAY_MS`, default 0. */
    lbDelayMs: number;
    /** The balancer's `fall` (failed checks before it takes us out); `DRAIN_LB_FALL`, default 2. */
    lbFall: number;
    /** The balancer's check interval; `DRAIN_LB_INTERVAL_MS`, default 1000. */
    lbIntervalMs: number;
    /** Added to fall × interval; `DRAIN_LB_MARGIN_MS`, default 500. */
    lbMarginMs: number;
    /** End the wait once this many readiness probes were refused (0: off); `DRAIN_LB_PROBES`, default 0. */
    lbProbes: number;
    /** Hard deadline of the HTTP drain; `DRAIN_DEADLINE_MS`, default 25000. */
    deadlineMs: number;
    /** HAProxy agent-check port (unset: no responder); `DRAIN_AGENT_PORT`. */
    agentPort: number | undefined;
    /** HAProxy's `agent-inter`; `DRAIN_AGENT_INTERVAL_MS`, default 2000. */
    agentIntervalMs: number;
    /** Bearer token of `POST /ops/drain` (unset: no admin endpoint); `DRAIN_ADMIN_TOKEN`, 16+ characters. */
    adminToken: string | undefined;
  };
  /** The new-mail notification gateway at `/notifications` (`@steady/ws-backpressure`). */
  ws: {
    /** `WS_BACKPRESSURE=true|false`: guard every client (false: Nest's plain `WsAdapter`, the incident). Default true. */
    backpressure: boolean;
    /** A client turns unwritable above this many buffered bytes; `WS_HIGH_WATER_MARK`, default 1048576. */
    highWaterMark: number;
    /** …and writable again at or below this; `WS_LOW_WATER_MARK`, default a quarter of the high mark. */
    lowWaterMark: number;
    /** Evict a client unwritable this long; `WS_SLOW_CONSUMER_TIMEOUT_MS`, default 5000. */
    slowConsumerTimeoutMs: number;
    /** Ping interval; a client silent for one interval is terminated; `WS_HEARTBEAT_INTERVAL_MS`, default 30000. */
    heartbeatIntervalMs: number;
    /** Buffered + queued bytes over all clients before the largest are evicted; `WS_MAX_BUFFERED_BYTES`, default 134217728. */
    globalMaxBufferedBytes: number;
  };
  /** The on-call view at `/ops/explain` (`ExplainModule` of `@steady/metrics`). */
  explain: {
    /** The "recent" part compared with the rest of the window; `EXPLAIN_RECENT_MS`, default 30000. */
    recentMs: number;
    /** How often a snapshot of the signals is kept; `EXPLAIN_SNAPSHOT_INTERVAL_MS`, default 2000. */
    snapshotIntervalMs: number;
  };
}

export const SAMPLE_CONFIG = 'STEADY:SAMPLE:CONFIG';

const LEVELS = ['error', 'warn', 'log', 'debug', 'verbose'] as const;

/** Reads and validates the configuration; a bad variable stops start-up with an error naming it. */
export function loadSampleConfig(env: NodeJS.ProcessEnv = process.env): SampleConfig {
  const v = new OptionValidator('apps/sample');
  const int = (name: string, fallback: number, min: number, max: number, unit?: string) =>
    v.number(name, numeric(env[name]), fallback, { min, max, integer: true, unit });
  const host = env.HOST === undefined || env.HOST === '' ? undefined : env.HOST;
  const drain = loadDrainConfig(v, env, int);
  const ws = loadWsConfig(v, env, int);
  return {
    port: int('PORT', 3000, 0, 65535),
    host,
    adapter: v.oneOf('STEADY_ADAPTER', emptyToUndefined(env.STEADY_ADAPTER), 'express', [
      'express',
      'fastify',
    ]),
    logLevel: v.oneOf('LOG_LEVEL', emptyToUndefined(env.LOG_LEVEL), 'log', LEVELS),
    maxBodyBytes: int('MAX_BODY_BYTES', 256 * 1024, 1024, 64 * 1024 * 1024, 'bytes'),
    maxMails: int('MAILBOX_MAX_MAILS', 100_000, 1, 10_000_000),
    shedding: {
      enabled: v.boolean('SHED_ENABLED', bool(env.SHED_ENABLED), true),
      shadow: v.boolean('SHED_SHADOW', bool(env.SHED_SHADOW), false),
      maxInFlight: int('SHED_MAX_IN_FLIGHT', 64, 1, 1_000_000),
      eventLoop: v.boolean('SHED_EVENT_LOOP', bool(env.SHED_EVENT_LOOP), true),
    },
    spamScanner: {
      poolSize: int('SPAM_SCANNER_POOL_SIZE', 8, 1, 10_000),
      latencyMs: int('SPAM_SCANNER_LATENCY_MS', 20, 0, 600_000, 'ms'),
      queueLimit: int('SPAM_SCANNER_QUEUE_LIMIT', 1000, 0, 1_000_000),
      timeoutMs: int('SPAM_SCANNER_TIMEOUT_MS', 5000, 1, 600_000, 'ms'),
    },
    drain,
    ws,
    explain: {
      recentMs: int('EXPLAIN_RECENT_MS', 30_000, 1000, 3_600_000, 'ms'),
      snapshotIntervalMs: int('EXPLAIN_SNAPSHOT_INTERVAL_MS', 2000, 100, 60_000, 'ms'),
    },
  };
}

function loadWsConfig(
  v: OptionValidator,
  env: NodeJS.ProcessEnv,
  int: (name: string, fallback: number, min: number, max: number, unit?: string) => number,
): SampleConfig['ws'] {
  const highWaterMark = int('WS_HIGH_WATER_MARK', 1024 * 1024, 1024, 1024 * 1024 * 1024, 'bytes');
  const lowWaterMark = int(
    'WS_LOW_WATER_MARK',
    Math.floor(highWaterMark / 4),
    0,
    highWaterMark,
    'bytes',
  );
  return {
    backpressure: v.boolean('WS_BACKPRESSURE', bool(env.WS_BACKPRESSURE), true),
    highWaterMark,
    lowWaterMark,
    slowConsumerTimeoutMs: int('WS_SLOW_CONSUMER_TIMEOUT_MS', 5000, 10, 3_600_000, 'ms'),
    heartbeatIntervalMs: int('WS_HEARTBEAT_INTERVAL_MS', 30_000, 10, 3_600_000, 'ms'),
    globalMaxBufferedBytes: int(
      'WS_MAX_BUFFERED_BYTES',
      128 * 1024 * 1024,
      1024,
      64 * 1024 * 1024 * 1024,
      'bytes',
    ),
  };
}

function loadDrainConfig(
  v: OptionValidator,
  env: NodeJS.ProcessEnv,
  int: (name: string, fallback: number, min: number, max: number, unit?: string) => number,
): SampleConfig['drain'] {
  const lbDelayMs = int('DRAIN_LB_DELAY_MS', 0, 0, 600_000, 'ms');
  const lbFall = int('DRAIN_LB_FALL', 2, 1, 100);
  const lbIntervalMs = int('DRAIN_LB_INTERVAL_MS', 1000, 1, 600_000, 'ms');
  const lbMarginMs = int('DRAIN_LB_MARGIN_MS', 500, 0, 600_000, 'ms');
  const agentPort = v.optionalNumber('DRAIN_AGENT_PORT', numeric(env.DRAIN_AGENT_PORT), {
    min: 0,
    max: 65535,
    integer: true,
  });
  const agentIntervalMs = int('DRAIN_AGENT_INTERVAL_MS', 2000, 1, 600_000, 'ms');
  const detectMs = Math.min(
    lbFall * lbIntervalMs,
    agentPort === undefined ? Infinity : agentIntervalMs,
  );
  const lbWaitMs = Math.max(lbDelayMs, detectMs + lbMarginMs);
  const deadlineMs = int(
    'DRAIN_DEADLINE_MS',
    Math.max(25_000, lbWaitMs + 5_000),
    1,
    3_600_000,
    'ms',
  );
  v.check(
    deadlineMs > lbWaitMs,
    'DRAIN_DEADLINE_MS',
    `more than the load-balancer wait (${lbWaitMs} ms from the DRAIN_LB_* variables)`,
    deadlineMs,
  );
  const token = emptyToUndefined(env.DRAIN_ADMIN_TOKEN);
  const adminToken =
    token === undefined
      ? undefined
      : v.string(
          'DRAIN_ADMIN_TOKEN',
          token,
          '',
          /^[\x21-\x7e]{16,}$/,
          'at least 16 visible ASCII characters',
        );
  return {
    lbDelayMs,
    lbFall,
    lbIntervalMs,
    lbMarginMs,
    lbProbes: int('DRAIN_LB_PROBES', 0, 0, 100),
    deadlineMs,
    agentPort,
    agentIntervalMs,
    adminToken,
  };
}

/** The configuration for tests: defaults with overrides. */
export function sampleConfig(
  overrides: Partial<
    Omit<SampleConfig, 'spamScanner' | 'shedding' | 'drain' | 'ws' | 'explain'>
  > & {
    explain?: Partial<SampleConfig['explain']>;
    spamScanner?: Partial<SampleConfig['spamScanner']>;
    shedding?: Partial<SampleConfig['shedding']>;
    drain?: Partial<SampleConfig['drain']>;
    ws?: Partial<SampleConfig['ws']>;
  } = {},
): SampleConfig {
  const base = loadSampleConfig({});
  return {
    ...base,
    ...overrides,
    spamScanner: { ...base.spamScanner, ...overrides.spamScanner },
    shedding: { ...base.shedding, ...overrides.shedding },
    drain: { ...base.drain, ...overrides.drain },
    ws: { ...base.ws, ...overrides.ws },
    explain: { ...base.explain, ...overrides.explain },
  };
}

/** `"true"`/`"false"` → boolean; anything else is passed on, so the error shows it. */
function bool(value: string | undefined): boolean | string | undefined {
  if (value === undefined || value === '') return undefined;
  const v = value.trim().toLowerCase();
  return v === 'true' || v === '1' ? true : v === 'false' || v === '0' ? false : value;
}

function emptyToUndefined(value: string | undefined): string | undefined {
  return value === '' ? undefined : value;
}

/** `"42"` → 42; anything else is passed on as given, so the error shows what was set. */
function numeric(value: string | undefined): number | string | undefined {
  if (value === undefined || value === '') return undefined;
  return /^-?\d+(\.\d+)?$/.test(value.trim()) ? Number(value) : value;
}

export { SteadyOptionsError };
