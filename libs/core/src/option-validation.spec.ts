import { OptionValidator } from './option-validation';
import { SteadyOptionsError } from './steady-options.error';
import { resolveCoreOptions } from './core-options.validation';

describe('OptionValidator', () => {
  const v = new OptionValidator('@steady/test');

  it('returns the default for undefined and the value when in range', () => {
    expect(v.number('n', undefined, 7, { min: 1 })).toBe(7);
    expect(v.number('n', 3, 7, { min: 1, max: 5 })).toBe(3);
  });

  it('names the module, the option, the range and the value received', () => {
    expect(() => v.number('ratio', 1.5, 0.85, { greaterThan: 0, max: 1 })).toThrow(
      '@steady/test: invalid option "ratio": expected a number > 0 and <= 1, got 1.5',
    );
    expect(() => v.number('ms', 2.5, 1, { min: 1, integer: true, unit: 'ms' })).toThrow(
      'expected an integer >= 1 ms, got 2.5',
    );
    expect(() => v.number('ms', '100', 1)).toThrow('got "100"');
    expect(() => v.number('ms', Number.NaN, 1)).toThrow('got NaN');
  });

  it('throws a SteadyOptionsError carrying the details', () => {
    try {
      v.oneOf('mode', 'fast', 'a', ['a', 'b'] as const);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(SteadyOptionsError);
      const e = err as SteadyOptionsError;
      expect([e.moduleName, e.option, e.expected, e.received]).toEqual([
        '@steady/test',
        'mode',
        'one of "a", "b"',
        'fast',
      ]);
    }
  });

  it('validates booleans, strings, functions and relations', () => {
    expect(() => v.boolean('b', 'yes', false)).toThrow('expected true or false, got "yes"');
    expect(v.string('p', undefined, '/metrics')).toBe('/metrics');
    expect(() => v.string('p', 'metrics', '/x', /^\//, 'a path starting with "/"')).toThrow(
      'expected a path starting with "/", got "metrics"',
    );
    expect(() => v.function('fn', 42)).toThrow('expected a function, got 42');
    expect(() => v.check(false, 'low', 'less than high (0.9)', 0.95)).toThrow(
      'invalid option "low": expected less than high (0.9), got 0.95',
    );
  });

  it('rejects unknown keys, naming them', () => {
    expect(() => v.knownKeys({ sampleIntervalMS: 5 }, ['sampleIntervalMs'])).toThrow(
      'invalid option "sampleIntervalMS": expected a known option (sampleIntervalMs), got 5',
    );
  });
});

describe('resolveCoreOptions', () => {
  it('applies the defaults', () => {
    expect(resolveCoreOptions()).toEqual({
      sampleIntervalMs: 100,
      eventLoopDelayWindowMs: 1000,
      eventLoopDelayResolutionMs: 10,
      autoAttach: true,
    });
  });

  it('keeps the delay window at least one sample long', () => {
    expect(resolveCoreOptions({ sampleIntervalMs: 5000 }).eventLoopDelayWindowMs).toBe(5000);
    expect(() =>
      resolveCoreOptions({ sampleIntervalMs: 500, eventLoopDelayWindowMs: 100 }),
    ).toThrow(
      'invalid option "eventLoopDelayWindowMs": expected an integer >= 500 and <= 60000 ms (>= sampleIntervalMs), got 100',
    );
  });

  it.each([
    [{ sampleIntervalMs: 0 }, 'sampleIntervalMs'],
    [{ sampleIntervalMs: 10.5 }, 'sampleIntervalMs'],
    [{ eventLoopDelayResolutionMs: 0 }, 'eventLoopDelayResolutionMs'],
    [{ autoAttach: 'no' }, 'autoAttach'],
    [{ interval: 100 }, 'interval'],
  ])('rejects %j naming %s', (options, name) => {
    expect(() => resolveCoreOptions(options as never)).toThrow(`invalid option "${name}"`);
  });
});
