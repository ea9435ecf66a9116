import { CORE_MODULE_NAME } from './core.constants';
import type { ResolvedSteadyCoreOptions, SteadyCoreModuleOptions } from './core-options.interface';
import { OptionValidator } from './option-validation';

const KNOWN: readonly (keyof SteadyCoreModuleOptions)[] = [
  'sampleIntervalMs',
  'eventLoopDelayWindowMs',
  'eventLoopDelayResolutionMs',
  'autoAttach',
];

/** Applies defaults and validates; throws a `SteadyOptionsError` naming the first bad option. */
export function resolveCoreOptions(
  options: SteadyCoreModuleOptions = {},
): ResolvedSteadyCoreOptions {
  const v = new OptionValidator(CORE_MODULE_NAME);
  v.knownKeys(options, KNOWN);
  const sampleIntervalMs = v.number('sampleIntervalMs', options.sampleIntervalMs, 100, {
    min: 10,
    max: 60_000,
    integer: true,
    unit: 'ms',
  });
  const eventLoopDelayWindowMs = v.number(
    'eventLoopDelayWindowMs',
    options.eventLoopDelayWindowMs,
    Math.max(1000, sampleIntervalMs),
    { min: sampleIntervalMs, max: 60_000, integer: true, unit: `ms (>= sampleIntervalMs)` },
  );
  const eventLoopDelayResolutionMs = v.number(
    'eventLoopDelayResolutionMs',
    options.eventLoopDelayResolutionMs,
    10,
    { min: 1, max: 1000, integer: true, unit: 'ms' },
  );
  const autoAttach = v.boolean('autoAttach', options.autoAttach, true);
  return { sampleIntervalMs, eventLoopDelayWindowMs, eventLoopDelayResolutionMs, autoAttach };
}
