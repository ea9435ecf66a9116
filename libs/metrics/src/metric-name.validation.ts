import { STEADY_METRIC_PREFIX } from './metrics.constants';

export type MetricKind = 'counter' | 'gauge' | 'histogram';

const NAME = /^[a-z][a-z0-9_]*[a-z0-9]$/;
const LABEL = /^[a-z_][a-z0-9_]*$/;

/**
 * Enforces Steady's naming rule (docs/metrics.md) and returns the full name with the `steady_` prefix.
 * Throws an Error explaining the rule that was broken.
 */
export function steadyMetricName(
  kind: MetricKind,
  name: string,
  labelNames: readonly string[] = [],
): string {
  const fail = (why: string) => {
    throw new Error(`@steady/metrics: metric name "${name}" is invalid: ${why}`);
  };
  if (typeof name !== 'string' || !NAME.test(name) || name.includes('__')) {
    fail('use lower snake case: [a-z][a-z0-9_]*, no double underscores');
  }
  if (name.startsWith(STEADY_METRIC_PREFIX))
    fail('leave out the "steady_" prefix, it is added for you');
  if (kind === 'counter' && !name.endsWith('_total')) fail('a counter ends in "_total"');
  if (kind !== 'counter' && name.endsWith('_total'))
    fail(`only counters end in "_total" (this is a ${kind})`);
  if (/_(ms|millis|milliseconds|kb|mb|percent)(_|$)/.test(name)) {
    fail('use base units: _seconds, _bytes, _ratio (0..1)');
  }
  for (const label of labelNames) {
    if (!LABEL.test(label) || label.startsWith('__')) {
      throw new Error(
        `@steady/metrics: label "${label}" of "${name}" is invalid: use [a-z_][a-z0-9_]*`,
      );
    }
    if (kind === 'histogram' && label === 'le') {
      throw new Error(`@steady/metrics: label "le" of "${name}" is reserved for histogram buckets`);
    }
  }
  if (new Set(labelNames).size !== labelNames.length) {
    throw new Error(`@steady/metrics: "${name}" lists a label twice`);
  }
  return STEADY_METRIC_PREFIX + name;
}
