/**
 * A custom shed signal: a utilisation read on the monitor's timer (never per request), with its own band.
 * Shedding starts when `read()` passes `soft` and normal traffic is all shed at `hard`, like the in-flight ratio.
 *
 * @example
 * { provide: ShedSignal, useValue: { name: 'db_pool', soft: 0.8, hard: 1, read: () => pool.waiting / pool.size } }
 *
 * @publicApi
 */
export interface ShedSignal {
  /** Lower snake case; becomes the `reason` of the requests it sheds. */
  readonly name: string;
  readonly soft: number;
  readonly hard: number;
  read(): number;
}

/** Injection token for one {@link ShedSignal} or an array of them (same name as the interface). @publicApi */
export const ShedSignal = Symbol.for('STEADY:LOAD_SHEDDING:SIGNAL');
