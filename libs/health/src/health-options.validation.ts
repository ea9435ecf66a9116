import { OptionValidator } from '@steady/core';
import {
  DEFAULT_LIVENESS_PATH,
  DEFAULT_READINESS_PATH,
  HEALTH_MODULE_NAME,
} from './health.constants';
import type {
  HealthModuleExtras,
  HealthModuleOptions,
  ResolvedHealthOptions,
  ResolvedHealthPaths,
} from './health-options.interface';

const KNOWN: readonly (keyof HealthModuleOptions)[] = [
  'readiness',
  'liveness',
  'lb',
  'deadlineMs',
  'shutdownTimeoutMs',
  'exitCode',
  'admin',
  'agent',
];
const PATH = /^\/[A-Za-z0-9\-._~/]*$/;
const PATH_HINT = 'a URL path starting with "/" (or false)';
const MAX_MS = 600_000;

/** Validates the endpoint paths (extras); they must differ from each other. */
export function resolveHealthPaths(extras: HealthModuleExtras = {}): ResolvedHealthPaths {
  const v = new OptionValidator(HEALTH_MODULE_NAME);
  const path = (name: keyof ResolvedHealthPaths, value: unknown, fallback: string | false) =>
    value === false
      ? false
      : value === undefined && fallback === false
        ? false
        : v.string(name, value, fallback as string, PATH, PATH_HINT);
  const paths: ResolvedHealthPaths = {
    readinessPath: path('readinessPath', extras.readinessPath, DEFAULT_READINESS_PATH),
    livenessPath: path('livenessPath', extras.livenessPath, DEFAULT_LIVENESS_PATH),
    adminPath: path('adminPath', extras.adminPath, false),
  };
  const seen = new Map<string, string>();
  for (const [name, value] of Object.entries(paths)) {
    if (value === false) continue;
    const key = value.replace(/\/+$/, '') || '/';
    v.check(!seen.has(key), name, `a path other than ${seen.get(key)} (${value})`, value);
    seen.set(key, name);
  }
  return paths;
}

/** Applies defaults and validates; throws a `SteadyOptionsError` naming the first bad option. */
export function resolveHealthOptions(
  options: HealthModuleOptions = {},
  paths: ResolvedHealthPaths = resolveHealthPaths(),
): ResolvedHealthOptions {
  const v = new OptionValidator(HEALTH_MODULE_NAME);
  v.knownKeys(options, KNOWN);
  const ms = (name: string, value: unknown, fallback: number, min: number, max = MAX_MS) =>
    v.number(name, value, fallback, { min, max, integer: true, unit: 'ms' });
  const indicators = (name: string, value: unknown) => {
    if (value === undefined) return [];
    v.check(Array.isArray(value), name, 'an array of health indicator functions', value);
    (value as unknown[]).forEach((fn, i) =>
      v.check(
        typeof fn === 'function' || isThenable(fn),
        `${name}[${i}]`,
        'a health indicator function (or a HealthCheckAttempt)',
        fn,
      ),
    );
    return [...(value as ResolvedHealthOptions['readiness'])];
  };
  const exitCode = (name: string, value: unknown, fallback: number | false) => {
    if (value === undefined) return fallback;
    if (value === false) return false;
    return v.number(name, value, 0, { min: 0, max: 255, integer: true });
  };

  const lbRaw = options.lb ?? {};
  v.check(typeof lbRaw === 'object' && lbRaw !== null, 'lb', 'an object', lbRaw);
  knownNested(v, 'lb', lbRaw, ['delayMs', 'fall', 'intervalMs', 'marginMs', 'probes']);
  const lb: ResolvedHealthOptions['lb'] = {
    delayMs: ms('lb.delayMs', lbRaw.delayMs, 0, 0),
    fall: v.number('lb.fall', lbRaw.fall, 3, { min: 1, max: 100, integer: true }),
    intervalMs: ms('lb.intervalMs', lbRaw.intervalMs, 2000, 1),
    marginMs: ms('lb.marginMs', lbRaw.marginMs, 1000, 0),
    probes:
      lbRaw.probes === undefined || lbRaw.probes === false
        ? false
        : v.number('lb.probes', lbRaw.probes, 1, { min: 1, max: 100, integer: true }),
  };

  let agent: ResolvedHealthOptions['agent'] = false;
  if (options.agent !== undefined && options.agent !== false) {
    const a = options.agent;
    v.check(
      typeof a === 'object' && a !== null,
      'agent',
      'an object { port, host?, intervalMs? } or false',
      a,
    );
    knownNested(v, 'agent', a, ['port', 'host', 'intervalMs']);
    v.check(a.port !== undefined, 'agent.port', 'a TCP port 0..65535', a.port);
    agent = {
      port: v.number('agent.port', a.port, 0, { min: 0, max: 65_535, integer: true }),
      host: a.host === undefined ? undefined : v.string('agent.host', a.host, ''),
      intervalMs: ms('agent.intervalMs', a.intervalMs, 2000, 1),
    };
  }

  const detectMs = Math.min(lb.fall * lb.intervalMs, agent ? agent.intervalMs : Infinity);
  const lbWaitMs = Math.max(lb.delayMs, detectMs + lb.marginMs);
  const deadlineMs = ms(
    'deadlineMs',
    options.deadlineMs,
    Math.max(25_000, lbWaitMs + 5_000),
    1,
    3_600_000,
  );
  v.check(
    deadlineMs > lbWaitMs,
    'deadlineMs',
    `more than the load-balancer wait (${lbWaitMs} ms = max(lb.delayMs, lb.fall × lb.intervalMs` +
      `${agent ? ' or agent.intervalMs' : ''} + lb.marginMs))`,
    deadlineMs,
  );
  const moduleExit = exitCode('exitCode', options.exitCode, false);

  let admin: ResolvedHealthOptions['admin'];
  if (options.admin !== undefined) {
    const a = options.admin;
    v.check(typeof a === 'object' && a !== null, 'admin', 'an object { token, exitCode? }', a);
    knownNested(v, 'admin', a, ['token', 'exitCode']);
    v.check(
      typeof a.token === 'string' && a.token.length >= 16 && /^[\x21-\x7e]+$/.test(a.token),
      'admin.token',
      'a string of at least 16 visible ASCII characters',
      typeof a.token === 'string' ? `${a.token.length} characters` : a.token,
    );
    admin = { token: a.token, exitCode: exitCode('admin.exitCode', a.exitCode, moduleExit) };
  }
  v.check(
    paths.adminPath === false || admin !== undefined,
    'admin',
    `an object { token } because the admin endpoint is mounted at ${paths.adminPath}`,
    options.admin,
  );

  return {
    readiness: indicators('readiness', options.readiness),
    liveness: indicators('liveness', options.liveness),
    lb,
    lbWaitMs,
    deadlineMs,
    shutdownTimeoutMs: ms('shutdownTimeoutMs', options.shutdownTimeoutMs, 5000, 1),
    exitCode: moduleExit,
    admin,
    agent,
  };
}

/** Like `knownKeys`, naming the nested option in full (`lb.falls`). */
function knownNested(
  v: OptionValidator,
  prefix: string,
  value: object,
  known: readonly string[],
): void {
  for (const key of Object.keys(value)) {
    v.check(
      known.includes(key),
      `${prefix}.${key}`,
      `a known option of ${prefix} (${known.join(', ')})`,
      (value as Record<string, unknown>)[key],
    );
  }
}

function isThenable(x: unknown): boolean {
  return (
    typeof x === 'object' && x !== null && typeof (x as PromiseLike<unknown>).then === 'function'
  );
}
