import { OptionValidator } from '@steady/core';
import { DEFAULT_EXPLAIN_PATH, EXPLAIN_MODULE_NAME } from './explain.constants';
import type { ExplainModuleOptions, ResolvedExplainOptions } from './explain-options.interface';
import { DEFAULT_EXPLAIN_THRESHOLDS, type ExplainThresholds } from './explain.rules';

const KNOWN: readonly (keyof ExplainModuleOptions)[] = [
  'snapshotIntervalMs',
  'windowMs',
  'thresholds',
  'downstreams',
  'httpMetrics',
];
const PATH = /^\/[A-Za-z0-9\-._~/]*$/;
const METRIC = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const RATIOS: readonly (keyof ExplainThresholds)[] = [
  'inFlightHighRatio',
  'eluLow',
  'eluHigh',
  'largeShare',
  'wsUnwritableShare',
  'cacheMinBaselineHitRatio',
  'cacheCollapseFactor',
  'scaleUpAverage',
  'spikePeak',
];

/** Validates the `path` extra. */
export function resolveExplainPath(path: unknown): string | false {
  if (path === false) return false;
  return new OptionValidator(EXPLAIN_MODULE_NAME).string(
    'path',
    path,
    DEFAULT_EXPLAIN_PATH,
    PATH,
    'a URL path starting with "/" (or false)',
  );
}

/** Applies defaults and validates; throws a `SteadyOptionsError` naming the first bad option. */
export function resolveExplainOptions(options: ExplainModuleOptions = {}): ResolvedExplainOptions {
  const v = new OptionValidator(EXPLAIN_MODULE_NAME);
  v.knownKeys(options, KNOWN);
  const snapshotIntervalMs = v.number('snapshotIntervalMs', options.snapshotIntervalMs, 2000, {
    min: 50,
    max: 600_000,
    integer: true,
    unit: 'ms',
  });
  const windowMs = v.number('windowMs', options.windowMs, 600_000, {
    min: 1000,
    max: 86_400_000,
    integer: true,
    unit: 'ms',
  });
  v.check(
    windowMs >= 2 * snapshotIntervalMs,
    'windowMs',
    `at least twice snapshotIntervalMs (${2 * snapshotIntervalMs} ms)`,
    windowMs,
  );
  v.check(
    windowMs / snapshotIntervalMs <= 10_000,
    'windowMs',
    `at most 10000 snapshots (windowMs / snapshotIntervalMs); at most ${10_000 * snapshotIntervalMs} ms`,
    windowMs,
  );
  const raw = options.thresholds ?? {};
  v.check(typeof raw === 'object' && raw !== null, 'thresholds', 'an object', raw);
  v.knownKeys(
    raw,
    Object.keys(DEFAULT_EXPLAIN_THRESHOLDS).map((k) => k),
  );
  const thresholds = { ...DEFAULT_EXPLAIN_THRESHOLDS } as ExplainThresholds;
  for (const key of Object.keys(DEFAULT_EXPLAIN_THRESHOLDS) as (keyof ExplainThresholds)[]) {
    const ratio = RATIOS.includes(key);
    thresholds[key] = v.number(
      `thresholds.${key}`,
      raw[key],
      DEFAULT_EXPLAIN_THRESHOLDS[key],
      ratio ? { greaterThan: 0, max: 1 } : { greaterThan: 0 },
    );
  }
  v.check(
    thresholds.eluLow < thresholds.eluHigh,
    'thresholds.eluLow',
    `below thresholds.eluHigh (${thresholds.eluHigh})`,
    thresholds.eluLow,
  );
  const downstreams = options.downstreams ?? [];
  v.check(Array.isArray(downstreams), 'downstreams', 'an array of { name, metric }', downstreams);
  downstreams.forEach((d, i) => {
    v.check(
      typeof d === 'object' && d !== null && typeof d.name === 'string' && d.name.trim() !== '',
      `downstreams[${i}].name`,
      'a non-empty string',
      d?.name,
    );
    v.check(
      typeof d.metric === 'string' && METRIC.test(d.metric),
      `downstreams[${i}].metric`,
      'a full metric name (a histogram in seconds)',
      d.metric,
    );
    if (d.pool !== undefined) {
      const pool = d.pool as { inUse?: unknown; size?: unknown; queued?: unknown };
      for (const key of ['inUse', 'size', 'queued'] as const) {
        if (key === 'queued' && pool[key] === undefined) continue;
        v.check(
          typeof pool[key] === 'string' && METRIC.test(pool[key]),
          `downstreams[${i}].pool.${key}`,
          'a full gauge name',
          pool[key],
        );
      }
    }
  });
  return {
    snapshotIntervalMs,
    windowMs,
    thresholds,
    downstreams: downstreams.map((d) => ({ ...d })),
    httpMetrics: v.boolean('httpMetrics', options.httpMetrics, true),
  };
}
