/**
 * The load generator only ever talks to 127.0.0.1. Anything else is refused before a single
 * socket is opened, so a typo in a bench definition can never send traffic off this machine.
 */
export const ALLOWED_HOST = '127.0.0.1';

export interface LoopbackTarget {
  host: typeof ALLOWED_HOST;
  port: number;
  /** Normalised origin, e.g. `http://127.0.0.1:3000`. */
  origin: string;
}

export class ForbiddenTargetError extends Error {
  constructor(target: string, reason: string) {
    super(`refusing load-generator target ${JSON.stringify(target)}: ${reason}`);
    this.name = 'ForbiddenTargetError';
  }
}

/** Parses `http://127.0.0.1:<port>` and throws ForbiddenTargetError for anything else. */
export function parseLoopbackTarget(target: string): LoopbackTarget {
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    throw new ForbiddenTargetError(target, 'not a valid URL');
  }
  if (url.protocol !== 'http:') {
    throw new ForbiddenTargetError(target, `protocol ${url.protocol} is not http:`);
  }
  if (url.hostname !== ALLOWED_HOST) {
    throw new ForbiddenTargetError(target, `host ${url.hostname} is not ${ALLOWED_HOST}`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new ForbiddenTargetError(target, 'credentials are not allowed');
  }
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '') {
    throw new ForbiddenTargetError(target, 'give only the origin; put the path in the request');
  }
  const port = Number(url.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ForbiddenTargetError(target, 'an explicit port 1..65535 is required');
  }
  return { host: ALLOWED_HOST, port, origin: `http://${ALLOWED_HOST}:${port}` };
}
