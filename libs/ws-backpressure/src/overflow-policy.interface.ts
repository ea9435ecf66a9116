import type WebSocket from 'ws';
import type { OverflowAction } from './ws-backpressure-options.interface';

/** What an {@link OverflowPolicy} knows about a message that does not fit. @publicApi */
export interface OverflowContext {
  /** The client (a `GuardedWebSocket`). */
  readonly client: WebSocket;
  /** The message as given to `send()`. */
  readonly data: unknown;
  /** Its size in bytes (UTF-8 for strings). */
  readonly bytes: number;
  /** The action asked for by the sender (`send(data, { overflow })`), if any. */
  readonly requested: OverflowAction | undefined;
  /** The gateway's `overflow` setting. */
  readonly gatewayDefault: OverflowAction;
  /** The coalesce key given by the sender, if any. */
  readonly coalesceKey: string | undefined;
  /** The client's `bufferedAmount` now. */
  readonly bufferedAmount: number;
  /** Bytes the client already holds in its queue / coalesce slots. */
  readonly queuedBytes: number;
  /** The gateway path the client is connected to. */
  readonly path: string;
}

/**
 * Decides what happens to a message sent while its client is unwritable (or that would pass its
 * `maxBufferedBytes`): `drop` it, `coalesce` it (keep the latest per key), `queue` it (bounded) or `evict` the
 * client. Called once per overflowing message — never on the fast path — so it may look at the message, but keep
 * it cheap: a slow client makes it run at the producer's rate.
 *
 * The default honours the sender's `send(data, { overflow })`, then the gateway's `overflow` option.
 *
 * @example
 * // typing indicators may be lost, chat messages may not
 * WsBackpressureModule.forRoot({
 *   overflowPolicy: {
 *     onOverflow: (ctx) => (typeof ctx.data === 'string' && ctx.data.startsWith('{"event":"typing"') ? 'drop' : 'queue'),
 *   },
 * })
 *
 * @publicApi
 */
export interface OverflowPolicy {
  onOverflow(context: OverflowContext): OverflowAction;
}

/** Injection token of the {@link OverflowPolicy} in use (same name as the interface). @publicApi */
export const OverflowPolicy = Symbol.for('STEADY:WS_BACKPRESSURE:OVERFLOW_POLICY');
