/**
 * Thrown at startup when a Steady module is configured with an invalid option.
 * The message names the module, the option, the allowed range and the value received.
 *
 * @publicApi
 */
export class SteadyOptionsError extends Error {
  constructor(
    readonly moduleName: string,
    readonly option: string,
    readonly expected: string,
    readonly received: unknown,
  ) {
    super(
      `${moduleName}: invalid option "${option}": expected ${expected}, got ${describe(received)}`,
    );
    this.name = 'SteadyOptionsError';
  }
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return String(value);
  }
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  try {
    const json = JSON.stringify(value);
    return json.length > 80 ? `${json.slice(0, 77)}...` : json;
  } catch {
    return typeof value;
  }
}
