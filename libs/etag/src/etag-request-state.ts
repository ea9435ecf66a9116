import type { IncomingMessage } from 'node:http';
import type { EntityTag } from './entity-tag';
import type { EtagRoute } from './etag-route';

/** Where the per-request state lives on the Node request (Express's `req`, Fastify's `request.raw`). */
export const ETAG_STATE = Symbol.for('steady.etag.state');

/** Which validator answers a request: a deep one (before the handler) or the body hash (after it). */
export type ValidatorKind = 'deep' | 'shallow';

/**
 * What the interceptor decided or left for send time, read by the adapter hooks when the body goes out.
 * One per request, on the Node request under {@link ETAG_STATE}.
 */
export interface EtagRequestState {
  readonly route: EtagRoute;
  kind: ValidatorKind;
  /** Hash the serialized body for an ETag at send time (GET/HEAD). */
  shallow: boolean;
  /** Evaluate the conditional headers at send time (GET/HEAD without a decision before the handler). */
  evaluate: boolean;
  /** The deep tag (sent on 2xx, unless the handler set its own ETag). */
  tag: EntityTag | undefined;
  /** The deep last modification, whole seconds. */
  lastModified: number | undefined;
  /** Answered before the handler: 304, 412 or 428. 0 while undecided. */
  decided: 0 | 304 | 412 | 428;
  /** The send-time hook ran (it runs once, even when the body is sent in two steps). */
  finalized: boolean;
}

export type EtagTrackedRequest = IncomingMessage & { [ETAG_STATE]?: EtagRequestState };

export function newState(route: EtagRoute, kind: ValidatorKind): EtagRequestState {
  return {
    route,
    kind,
    shallow: false,
    evaluate: false,
    tag: undefined,
    lastModified: undefined,
    decided: 0,
    finalized: false,
  };
}
