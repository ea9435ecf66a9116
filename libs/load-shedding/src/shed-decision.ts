import type { IncomingMessage } from 'node:http';

const DECIDED = Symbol.for('steady.loadShedding.decided');

/** Marks a request as decided by the admission hook, so the guard does not decide twice. */
export function markDecided(req: IncomingMessage): void {
  (req as IncomingMessage & { [DECIDED]?: true })[DECIDED] = true;
}

export function isDecided(req: IncomingMessage): boolean {
  return (req as IncomingMessage & { [DECIDED]?: true })[DECIDED] === true;
}
