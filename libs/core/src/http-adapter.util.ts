import type { IncomingMessage, ServerResponse } from 'node:http';

/** The HTTP platforms Steady supports. @publicApi */
export type SteadyAdapterType = 'express' | 'fastify';

interface AdapterLike {
  getType?: () => string;
}

/**
 * Names the platform under a Nest HTTP adapter (`HttpAdapterHost.httpAdapter`), or `undefined` when there is
 * none (an application context) or it is neither Express nor Fastify.
 *
 * @publicApi
 */
export function detectAdapter(
  adapter: AdapterLike | undefined | null,
): SteadyAdapterType | undefined {
  const type = adapter?.getType?.();
  return type === 'express' || type === 'fastify' ? type : undefined;
}

/**
 * The Node request under a framework request: Fastify's `request.raw`, or the Express request itself
 * (which is an `IncomingMessage`).
 *
 * @publicApi
 */
export function toNodeRequest(req: object): IncomingMessage {
  const raw = (req as { raw?: unknown }).raw;
  return (isIncomingMessage(raw) ? raw : req) as IncomingMessage;
}

/**
 * The Node response under a framework response: Fastify's `reply.raw`, or the Express response itself.
 *
 * @publicApi
 */
export function toNodeResponse(res: object): ServerResponse {
  const raw = (res as { raw?: unknown }).raw;
  return (isServerResponse(raw) ? raw : res) as ServerResponse;
}

function isIncomingMessage(x: unknown): boolean {
  return typeof x === 'object' && x !== null && 'headers' in x && 'method' in x;
}

function isServerResponse(x: unknown): boolean {
  return (
    typeof x === 'object' && x !== null && typeof (x as ServerResponse).setHeader === 'function'
  );
}
