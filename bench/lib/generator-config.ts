import { parseLoopbackTarget } from './host';

/** Shapes shared by the generator, its CLI and the runner. Everything here is JSON-safe. */

export type LoadMode = 'open' | 'closed';

export interface RequestSpec {
  /** Default GET. */
  method?: string;
  /** Path with query, e.g. `/mails/42`. */
  path: string;
  headers?: Record<string, string>;
  /** Request body sent with every request (e.g. a JSON string). */
  body?: string;
  /** Statuses counted as `ok` (with their latency) besides 2xx, e.g. `[304]` for a revalidation bench. */
  okStatuses?: number[];
}

/** One kind of request in a mix: picked for `weight` / sum of weights of the requests, spread evenly. */
export interface MixEntry {
  label: string;
  weight: number;
  request: RequestSpec;
  /** Overrides the run's deadline for this kind (e.g. a short one, to mix in client aborts). */
  deadlineMs?: number;
}

/** Open loop: a piece of a step load. */
export interface RateStep {
  durationMs: number;
  rate: number;
}

export interface GeneratorConfig {
  mode: LoadMode;
  /** Origin only, and only `http://127.0.0.1:<port>`. */
  target: string;
  request: RequestSpec;
  /** Open loop: the scheduling window. Closed loop: how long workers keep sending. */
  durationMs: number;
  /** Per-request deadline; a request not answered by then is aborted and counted as a timeout. */
  deadlineMs: number;
  /** Open loop: requests per second, scheduled at fixed 1/rate intervals. */
  rate?: number;
  /** Open loop: at most this many requests in flight; a due request beyond it is dropped. */
  maxOutstanding?: number;
  /** Closed loop: number of workers, each sending back-to-back. */
  connections?: number;
  /** Keep-alive Agent socket pool size. */
  maxSockets?: number;
  /** Hard cap on requests sent in this run (both modes). */
  maxRequests?: number;
  /** Hard bound on the measured run; in-flight requests are abandoned and `aborted` is set. */
  hardTimeoutMs?: number;
  /**
   * Unrecorded closed-loop traffic (4 connections) to the same target before the measured run,
   * so the generator's own JIT and HTTP parser are warm. Default 0.
   */
  warmupMs?: number;
  /** Several kinds of request instead of `request` alone; results are also reported per label. */
  mix?: MixEntry[];
  /** Open loop: a step load; `rate` must be the highest step rate, `durationMs` the sum of the steps. */
  steps?: RateStep[];
  /** Report ok / shed / timeouts / errors per bucket of this many ms of intended send time. */
  timelineBucketMs?: number;
}

export type NormalizedGeneratorConfig = Required<
  Omit<GeneratorConfig, 'rate' | 'connections' | 'mix' | 'steps' | 'timelineBucketMs'>
> & {
  rate: number | null;
  connections: number | null;
  mix: MixEntry[] | null;
  steps: RateStep[] | null;
  timelineBucketMs: number | null;
  request: Required<Pick<RequestSpec, 'method' | 'path'>> & Omit<RequestSpec, 'method' | 'path'>;
};

export const LIMITS = {
  maxDurationMs: 10 * 60_000,
  maxDeadlineMs: 60_000,
  maxRate: 100_000,
  maxConnections: 4_096,
  maxSockets: 4_096,
  maxOutstanding: 200_000,
  maxRequests: 20_000_000,
} as const;

export class GeneratorConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GeneratorConfigError';
  }
}

function num(value: unknown, name: string, min: number, max: number, integer = true): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new GeneratorConfigError(`${name} must be a finite number, got ${JSON.stringify(value)}`);
  }
  if (integer && !Number.isInteger(value)) {
    throw new GeneratorConfigError(`${name} must be an integer, got ${value}`);
  }
  if (value < min || value > max) {
    throw new GeneratorConfigError(`${name} must be within ${min}..${max}, got ${value}`);
  }
  return value;
}

/**
 * Validates a config (typically parsed from JSON on argv) and fills in defaults. Throws
 * GeneratorConfigError, or ForbiddenTargetError for any target other than 127.0.0.1.
 */
export function normalizeGeneratorConfig(input: unknown): NormalizedGeneratorConfig {
  if (typeof input !== 'object' || input === null) {
    throw new GeneratorConfigError('config must be an object');
  }
  const c = input as Partial<GeneratorConfig>;
  if (c.mode !== 'open' && c.mode !== 'closed') {
    throw new GeneratorConfigError(
      `mode must be "open" or "closed", got ${JSON.stringify(c.mode)}`,
    );
  }
  if (typeof c.target !== 'string') throw new GeneratorConfigError('target must be a string');
  const target = parseLoopbackTarget(c.target).origin;

  const r = c.request;
  if (
    typeof r !== 'object' ||
    r === null ||
    typeof r.path !== 'string' ||
    !r.path.startsWith('/')
  ) {
    throw new GeneratorConfigError('request.path must be a string starting with "/"');
  }
  const method = (r.method ?? 'GET').toUpperCase();
  if (!/^[A-Z]+$/.test(method)) throw new GeneratorConfigError(`bad request.method ${method}`);
  const request: NormalizedGeneratorConfig['request'] = { method, path: r.path };
  if (r.headers !== undefined) request.headers = { ...r.headers };
  if (r.body !== undefined) {
    if (typeof r.body !== 'string') throw new GeneratorConfigError('request.body must be a string');
    request.body = r.body;
  }
  if (r.okStatuses !== undefined) {
    if (!Array.isArray(r.okStatuses) || r.okStatuses.length > 20)
      throw new GeneratorConfigError('request.okStatuses must be an array of up to 20 statuses');
    request.okStatuses = r.okStatuses.map((s, i) => num(s, `request.okStatuses[${i}]`, 100, 599));
  }

  const durationMs = num(c.durationMs, 'durationMs', 1, LIMITS.maxDurationMs);
  const deadlineMs = num(c.deadlineMs, 'deadlineMs', 1, LIMITS.maxDeadlineMs);
  const warmupMs = num(c.warmupMs ?? 0, 'warmupMs', 0, LIMITS.maxDurationMs);
  const hardTimeoutMs = num(
    c.hardTimeoutMs ?? durationMs + deadlineMs + 5_000,
    'hardTimeoutMs',
    1,
    LIMITS.maxDurationMs + LIMITS.maxDeadlineMs + 60_000,
  );

  let mix: MixEntry[] | null = null;
  if (c.mix !== undefined && c.mix !== null) {
    if (!Array.isArray(c.mix) || c.mix.length === 0)
      throw new GeneratorConfigError('mix must be a non-empty array');
    mix = c.mix.map((m, i) => {
      if (typeof m?.label !== 'string' || !m.label)
        throw new GeneratorConfigError(`mix[${i}].label must be a string`);
      const inner = normalizeGeneratorConfig({
        mode: 'closed',
        target,
        request: m.request,
        durationMs,
        deadlineMs,
      });
      return {
        label: m.label,
        weight: num(m.weight, `mix[${i}].weight`, 1, 1_000_000),
        request: inner.request,
        ...(m.deadlineMs === undefined
          ? {}
          : { deadlineMs: num(m.deadlineMs, `mix[${i}].deadlineMs`, 1, LIMITS.maxDeadlineMs) }),
      };
    });
  }
  const timelineBucketMs =
    c.timelineBucketMs === undefined || c.timelineBucketMs === null
      ? null
      : num(c.timelineBucketMs, 'timelineBucketMs', 10, 60_000);
  let steps: RateStep[] | null = null;
  if (c.steps !== undefined && c.steps !== null) {
    if (c.mode !== 'open') throw new GeneratorConfigError('steps are for open loop only');
    if (!Array.isArray(c.steps) || c.steps.length === 0)
      throw new GeneratorConfigError('steps must be a non-empty array');
    steps = c.steps.map((s, i) => ({
      durationMs: num(s?.durationMs, `steps[${i}].durationMs`, 1, LIMITS.maxDurationMs),
      rate: num(s?.rate, `steps[${i}].rate`, 0.001, LIMITS.maxRate, false),
    }));
    const total = steps.reduce((a, s) => a + s.durationMs, 0);
    if (total !== durationMs)
      throw new GeneratorConfigError(
        `durationMs (${durationMs}) must be the sum of the steps (${total})`,
      );
    const top = Math.max(...steps.map((s) => s.rate));
    if (c.rate !== top)
      throw new GeneratorConfigError(`rate (${c.rate}) must be the highest step rate (${top})`);
  }
  const extras = { mix, steps, timelineBucketMs };

  if (c.mode === 'open') {
    const rate = num(c.rate, 'rate', 0.001, LIMITS.maxRate, false);
    // Room for every request that can be in flight before its own deadline fires, twice over:
    // when the generator itself stalls, the catch-up burst briefly exceeds rate x deadline.
    const defaultOutstanding = Math.min(
      LIMITS.maxOutstanding,
      2 * Math.ceil((rate * deadlineMs) / 1000) + 64,
    );
    return {
      mode: 'open',
      target,
      request,
      durationMs,
      deadlineMs,
      hardTimeoutMs,
      warmupMs,
      rate,
      connections: null,
      maxOutstanding: num(
        c.maxOutstanding ?? defaultOutstanding,
        'maxOutstanding',
        1,
        LIMITS.maxOutstanding,
      ),
      maxSockets: num(c.maxSockets ?? 64, 'maxSockets', 1, LIMITS.maxSockets),
      maxRequests: num(c.maxRequests ?? LIMITS.maxRequests, 'maxRequests', 1, LIMITS.maxRequests),
      ...extras,
    };
  }
  const connections = num(c.connections ?? 16, 'connections', 1, LIMITS.maxConnections);
  return {
    mode: 'closed',
    target,
    request,
    durationMs,
    deadlineMs,
    hardTimeoutMs,
    warmupMs,
    rate: null,
    connections,
    maxOutstanding: connections,
    maxSockets: num(c.maxSockets ?? connections, 'maxSockets', 1, LIMITS.maxSockets),
    maxRequests: num(c.maxRequests ?? LIMITS.maxRequests, 'maxRequests', 1, LIMITS.maxRequests),
    ...extras,
  };
}

/** The generator CLI takes exactly one argument: the config as JSON. */
export function parseCliConfig(argv: readonly string[]): unknown {
  if (argv.length !== 1) {
    throw new GeneratorConfigError('usage: generator-cli <config JSON>');
  }
  try {
    return JSON.parse(argv[0]) as unknown;
  } catch (err) {
    throw new GeneratorConfigError(`config is not valid JSON: ${(err as Error).message}`);
  }
}
