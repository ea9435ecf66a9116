import { SteadyOptionsError } from './steady-options.error';

/** Range constraints for {@link OptionValidator.number}. */
export interface NumberRange {
  min?: number;
  max?: number;
  /** Exclusive lower bound, e.g. `> 0`. */
  greaterThan?: number;
  /** Exclusive upper bound, e.g. `< 1`. */
  lessThan?: number;
  integer?: boolean;
  /** Unit printed in the error, e.g. `ms`. */
  unit?: string;
}

/**
 * Validates module options at startup and throws a {@link SteadyOptionsError} naming the option and the
 * allowed range. Every method returns the value (or the default when the option is `undefined`), so an
 * options object can be normalised in one expression:
 *
 * @example
 * const v = new OptionValidator('@steady/core');
 * const intervalMs = v.number('sampleIntervalMs', options.sampleIntervalMs, 100, { min: 10, max: 60_000, integer: true, unit: 'ms' });
 *
 * @publicApi
 */
export class OptionValidator {
  constructor(readonly moduleName: string) {}

  number(option: string, value: unknown, fallback: number, range: NumberRange = {}): number {
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !Number.isFinite(value) || !inRange(value, range)) {
      throw new SteadyOptionsError(this.moduleName, option, describeRange(range), value);
    }
    return value;
  }

  optionalNumber(option: string, value: unknown, range: NumberRange = {}): number | undefined {
    return value === undefined ? undefined : this.number(option, value, 0, range);
  }

  boolean(option: string, value: unknown, fallback: boolean): boolean {
    if (value === undefined) return fallback;
    if (typeof value !== 'boolean') {
      throw new SteadyOptionsError(this.moduleName, option, 'true or false', value);
    }
    return value;
  }

  string(
    option: string,
    value: unknown,
    fallback: string,
    pattern?: RegExp,
    hint?: string,
  ): string {
    if (value === undefined) return fallback;
    if (typeof value !== 'string' || (pattern !== undefined && !pattern.test(value))) {
      const expected = pattern ? (hint ?? `a string matching ${String(pattern)}`) : 'a string';
      throw new SteadyOptionsError(this.moduleName, option, expected, value);
    }
    return value;
  }

  oneOf<T extends string>(option: string, value: unknown, fallback: T, allowed: readonly T[]): T {
    if (value === undefined) return fallback;
    if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
      throw new SteadyOptionsError(
        this.moduleName,
        option,
        `one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`,
        value,
      );
    }
    return value as T;
  }

  function<F extends (...args: never[]) => unknown>(option: string, value: unknown): F | undefined {
    if (value === undefined) return undefined;
    if (typeof value !== 'function') {
      throw new SteadyOptionsError(this.moduleName, option, 'a function', value);
    }
    return value as F;
  }

  /** Throws unless `condition` holds; for relations between options (e.g. `low < high`). */
  check(condition: boolean, option: string, expected: string, received: unknown): void {
    if (!condition) throw new SteadyOptionsError(this.moduleName, option, expected, received);
  }

  /** Rejects keys that are not known options (typos such as `sampleIntervalMS`). */
  knownKeys(options: object | undefined, known: readonly string[]): void {
    if (!options) return;
    for (const key of Object.keys(options)) {
      if (!known.includes(key)) {
        throw new SteadyOptionsError(
          this.moduleName,
          key,
          `a known option (${known.join(', ')})`,
          (options as Record<string, unknown>)[key],
        );
      }
    }
  }
}

function inRange(value: number, r: NumberRange): boolean {
  if (r.integer && !Number.isInteger(value)) return false;
  if (r.min !== undefined && value < r.min) return false;
  if (r.max !== undefined && value > r.max) return false;
  if (r.greaterThan !== undefined && value <= r.greaterThan) return false;
  if (r.lessThan !== undefined && value >= r.lessThan) return false;
  return true;
}

function describeRange(r: NumberRange): string {
  const kind = r.integer ? 'an integer' : 'a number';
  const unit = r.unit ? ` ${r.unit}` : '';
  const lower =
    r.greaterThan !== undefined ? `> ${r.greaterThan}` : r.min !== undefined ? `>= ${r.min}` : '';
  const upper =
    r.lessThan !== undefined ? `< ${r.lessThan}` : r.max !== undefined ? `<= ${r.max}` : '';
  if (lower && upper) return `${kind} ${lower} and ${upper}${unit}`;
  if (lower || upper) return `${kind} ${lower || upper}${unit}`;
  return `a finite number${unit}`;
}
