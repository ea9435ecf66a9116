import { OptionValidator } from '@steady/core';
import { DEFAULT_METRICS_PATH, METRICS_MODULE_NAME } from './metrics.constants';
import type { MetricsModuleOptions, ResolvedMetricsOptions } from './metrics-options.interface';

const KNOWN: readonly (keyof MetricsModuleOptions)[] = [
  'defaultMetrics',
  'defaultMetricsPrefix',
  'defaultLabels',
  'coreMetrics',
  'registry',
];
const PATH = /^\/[A-Za-z0-9\-._~/]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Validates the `path` extra: an absolute URL path, or `false` for no endpoint. */
export function resolveMetricsPath(path: unknown): string | false {
  if (path === false) return false;
  const v = new OptionValidator(METRICS_MODULE_NAME);
  return v.string(
    'path',
    path,
    DEFAULT_METRICS_PATH,
    PATH,
    'a URL path starting with "/" (or false)',
  );
}

/** Applies defaults and validates; throws a `SteadyOptionsError` naming the first bad option. */
export function resolveMetricsOptions(options: MetricsModuleOptions = {}): ResolvedMetricsOptions {
  const v = new OptionValidator(METRICS_MODULE_NAME);
  v.knownKeys(options, KNOWN);
  const defaultLabels = options.defaultLabels ?? {};
  v.check(
    typeof defaultLabels === 'object' && defaultLabels !== null && !Array.isArray(defaultLabels),
    'defaultLabels',
    'an object of label name to string value',
    defaultLabels,
  );
  for (const [name, value] of Object.entries(defaultLabels)) {
    v.check(
      LABEL.test(name) && !name.startsWith('__'),
      'defaultLabels',
      'label names matching [a-zA-Z_][a-zA-Z0-9_]*',
      name,
    );
    v.check(typeof value === 'string', `defaultLabels.${name}`, 'a string', value);
  }
  v.check(
    options.registry === undefined || isRegistry(options.registry),
    'registry',
    'a prom-client Registry',
    options.registry,
  );
  return {
    defaultMetrics: v.boolean('defaultMetrics', options.defaultMetrics, true),
    defaultMetricsPrefix: v.string(
      'defaultMetricsPrefix',
      options.defaultMetricsPrefix,
      '',
      /^([a-zA-Z_][a-zA-Z0-9_]*)?$/,
      'a metric name prefix such as "app_" (or "")',
    ),
    defaultLabels: { ...defaultLabels },
    coreMetrics: v.boolean('coreMetrics', options.coreMetrics, true),
    registry: options.registry,
  };
}

function isRegistry(x: unknown): boolean {
  const r = x as { metrics?: unknown; registerMetric?: unknown; getSingleMetric?: unknown } | null;
  return (
    typeof r === 'object' &&
    r !== null &&
    typeof r.metrics === 'function' &&
    typeof r.registerMetric === 'function' &&
    typeof r.getSingleMetric === 'function'
  );
}
