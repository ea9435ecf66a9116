import type { ClientRequestArgs } from 'node:http';
import { Observable } from 'rxjs';
import WebSocket from 'ws';
import type { ClientGuard, SendCallback } from './client-guard';
import { WRITABILITY_CHANGED_EVENT } from './ws-backpressure.constants';
import type { GuardedSendOptions, SendResult } from './ws-backpressure-options.interface';

/** Where the adapter attaches a client's {@link ClientGuard}. */
export const kClientGuard = Symbol('steady:ws-backpressure:guard');

/**
 * The server-side `WebSocket` class `BackpressuredWsAdapter` gives ws (its `WebSocket` server option), so that
 * **every** `send()` — Nest's handler replies, `server.clients.forEach((c) => c.send(…))` broadcasts,
 * `@ConnectedSocket() client.send(…)` — goes through the client's water marks and overflow policy.
 *
 * Subclass it to add your own methods and name the subclass in `@WebSocketGateway({ WebSocket: MySocket })`.
 * Used as a client, or on a server without the adapter, it is a plain ws `WebSocket`.
 *
 * @publicApi
 */
export class GuardedWebSocket extends WebSocket {
  /** @internal set by the adapter when the connection opens */
  [kClientGuard]: ClientGuard | undefined;

  // ws constructs server-side sockets as `new WebSocket(null, undefined, serverOptions)`.
  constructor(
    address: null | string | URL,
    protocols?: string | string[] | WebSocket.ClientOptions | ClientRequestArgs,
    options?: WebSocket.ClientOptions | ClientRequestArgs,
  ) {
    super(address as string, protocols as string[], options);
  }

  /**
   * Sends through the guard: written at once while the client is writable, otherwise handed to the overflow
   * policy (`drop`, `coalesce`, `queue` or `evict`). A callback is called with a `WsMessageDroppedError` when
   * the message is not delivered. `options.overflow` and `options.coalesceKey` choose the policy per message.
   */
  override send(data: unknown, cb?: SendCallback): void;
  override send(data: unknown, options: GuardedSendOptions, cb?: SendCallback): void;
  override send(
    data: unknown,
    optionsOrCb?: GuardedSendOptions | SendCallback,
    cb?: SendCallback,
  ): void {
    if (typeof optionsOrCb === 'function') this.offer(data, undefined, optionsOrCb);
    else this.offer(data, optionsOrCb, cb);
  }

  /** Like `send()`, and says what happened to the message. */
  offer(data: unknown, options?: GuardedSendOptions, cb?: SendCallback): SendResult {
    const guard = this[kClientGuard];
    if (guard === undefined) {
      super.send(data as string, options as GuardedSendOptions, cb);
      return 'sent';
    }
    return guard.offer(data, options, cb);
  }

  /**
   * ws's own `send()`, past the water marks. For the rare frame that must go out whatever the client's state;
   * it still counts in `bufferedAmount`, and the guard watches it drain.
   */
  sendUnguarded(data: unknown, options?: GuardedSendOptions, cb?: SendCallback): void {
    const track = this[kClientGuard]?.writeCallback;
    const done =
      track === undefined || cb === undefined
        ? (cb ?? track)
        : (err?: Error) => {
            track(err);
            cb(err);
          };
    this.rawSend(data, options, done);
  }

  /** @internal ws's `send()` as is: what the guard writes with. */
  rawSend(data: unknown, options: GuardedSendOptions | undefined, cb?: SendCallback): void {
    // ws spreads `options` into its own defaults, so undefined is fine (and allocates nothing here)
    super.send(data as string, options as GuardedSendOptions, cb);
  }

  /** False while `bufferedAmount` is above the high water mark and has not come down to the low one. */
  get isWritable(): boolean {
    const guard = this[kClientGuard];
    return guard === undefined ? this.readyState === WebSocket.OPEN : guard.isWritable;
  }

  /** Bytes that can still be sent before the client turns unwritable (0 while unwritable). */
  bytesBeforeUnwritable(): number {
    return this[kClientGuard]?.bytesBeforeUnwritable() ?? 0;
  }

  /** Bytes that must drain before the client turns writable again (0 while writable). */
  bytesBeforeWritable(): number {
    return this[kClientGuard]?.bytesBeforeWritable() ?? 0;
  }

  /** Messages held for this client by the `queue` and `coalesce` policies. */
  get queuedMessages(): number {
    return this[kClientGuard]?.queuedMessages ?? 0;
  }

  /** Bytes held for this client by the `queue` and `coalesce` policies. */
  get queuedBytes(): number {
    return this[kClientGuard]?.queuedBytes ?? 0;
  }

  /**
   * The writability of this client: the current value, then every change; completes when it closes. The same
   * changes are emitted as the `'writabilityChanged'` event `(writable, bufferedAmount)`.
   */
  writability$(): Observable<boolean> {
    return new Observable<boolean>((subscriber) => {
      if (this.readyState === WebSocket.CLOSED) {
        subscriber.complete();
        return;
      }
      subscriber.next(this.isWritable);
      const onChange = (writable: boolean) => subscriber.next(writable);
      const onClose = () => subscriber.complete();
      this.on(WRITABILITY_CHANGED_EVENT, onChange);
      this.once('close', onClose);
      return () => {
        this.off(WRITABILITY_CHANGED_EVENT, onChange);
        this.off('close', onClose);
      };
    });
  }
}
