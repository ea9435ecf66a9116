import type { DropReason } from './ws-backpressure-options.interface';

/**
 * Passed to a `send()` callback whose message was not delivered: dropped by the overflow policy, replaced by a
 * newer message with the same coalesce key, too large, or discarded when its client closed or was evicted.
 *
 * @publicApi
 */
export class WsMessageDroppedError extends Error {
  constructor(readonly reason: DropReason | 'coalesced') {
    super(`message not sent: ${reason}`);
    this.name = 'WsMessageDroppedError';
  }
}
