import type WebSocket from 'ws';
import { byteLengthOf, byteLengthUpperBound, formatBytes } from './byte-length';
import type { OverflowPolicy } from './overflow-policy.interface';
import { WRITABILITY_CHANGED_EVENT } from './ws-backpressure.constants';
import type {
  DropReason,
  EvictionReason,
  GuardedSendOptions,
  OverflowAction,
  ResolvedGatewayBackpressure,
  SendResult,
} from './ws-backpressure-options.interface';
import { WsMessageDroppedError } from './ws-message-dropped.error';

const OPEN = 1;
/** Inbound paused because the client is unwritable. */
export const PAUSED_UNWRITABLE = 1;
/** Inbound paused because the handler concurrency limit is reached. */
export const PAUSED_HANDLERS = 2;

export type SendCallback = (err?: Error) => void;

/** What a {@link ClientGuard} needs from its socket: a `GuardedWebSocket`, or a fake in tests. */
export interface GuardTransport {
  readonly bufferedAmount: number;
  readonly readyState: number;
  /** Writes without the guard (ws's own `send`); `cb` fires once the frame reached the kernel. */
  rawSend(data: unknown, options: GuardedSendOptions | undefined, cb?: SendCallback): void;
  pause(): void;
  resume(): void;
  ping(data?: undefined, mask?: undefined, cb?: (err?: Error) => void): void;
  terminate(): void;
  emit(event: string | symbol, ...args: unknown[]): boolean;
}

/** The guard's view of the service: policy, accounting, events, eviction. */
export interface GuardHub {
  readonly policy: OverflowPolicy;
  footprintChanged(delta: number): void;
  writabilityChanged(guard: ClientGuard, writable: boolean, bufferedAmount: number): void;
  dropped(guard: ClientGuard, count: number, reason: DropReason): void;
  coalesced(guard: ClientGuard): void;
  evict(guard: ClientGuard, reason: EvictionReason, detail: string): void;
}

interface Held {
  data: unknown;
  options: GuardedSendOptions | undefined;
  cb: SendCallback | undefined;
  bytes: number;
}

/**
 * Flow control of one client — the Node counterpart of Netty's `ChannelOutboundBuffer` with a
 * `WriteBufferWaterMark`, plus what Netty leaves to the application (overflow policy, eviction).
 *
 * Writability is measured from the public `bufferedAmount` (bytes in ws and Node's socket buffer that the kernel
 * has not taken yet) after every write and in every send callback (which ws calls, in order, once a frame's
 * bytes reached the kernel). Above `highWaterMark` the client turns unwritable; at or below `lowWaterMark` it
 * turns writable again — the gap between the two is the hysteresis that keeps it from flapping.
 *
 * While unwritable (or when a message would pass `maxBufferedBytes`) messages go to the overflow policy; a
 * client unwritable for `slowConsumerTimeoutMs` is evicted. Nothing here allocates per message on the fast path
 * unless the sender passed a callback.
 */
export class ClientGuard {
  /** Heartbeat: a pong or a message arrived since the last ping. */
  alive = true;
  private writable = true;
  private evicting = false;
  private closed = false;
  private unwritableSince = 0;
  private accounted = 0;
  private readonly held = new Map<string | number, Held>();
  private heldBytes = 0;
  private seq = 0;
  private timer: NodeJS.Timeout | undefined;
  private pausedBy = 0;
  private readonly onFlushed = (): void => this.afterFlush();
  /** Largest message written without a send callback (see `write`): never enough to pass the high mark alone. */
  private readonly quietWriteMaxBytes: number;
  private readonly onSlowTimeout = (): void => this.slowTimeout();

  constructor(
    readonly transport: GuardTransport,
    readonly config: ResolvedGatewayBackpressure,
    private readonly hub: GuardHub,
    /** Gateway path, for the policy and the logs. */
    readonly path: string,
    /** `#<id> <address>`, for the logs. */
    readonly label: string,
  ) {
    // a frame header is at most 14 bytes, so one such message alone stays at or below the high water mark
    this.quietWriteMaxBytes = Math.min(16 * 1024, config.highWaterMark - 16);
  }

  get isWritable(): boolean {
    return this.writable && !this.evicting && !this.closed;
  }

  /** Turned unwritable and not writable again yet (stays so once evicting or closed). */
  get isAboveWaterMark(): boolean {
    return !this.writable;
  }

  get isEvicting(): boolean {
    return this.evicting;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  get queuedMessages(): number {
    return this.held.size;
  }

  get queuedBytes(): number {
    return this.heldBytes;
  }

  /** `performance.now()` when it last turned unwritable (0 if never). */
  get lastUnwritableAt(): number {
    return this.unwritableSince;
  }

  /** Bytes that can still be written before it turns unwritable (0 while unwritable), like Netty's. */
  bytesBeforeUnwritable(): number {
    if (!this.isWritable) return 0;
    return Math.max(0, this.config.highWaterMark - this.transport.bufferedAmount);
  }

  /** Bytes that must drain before it turns writable again (0 while writable), like Netty's. */
  bytesBeforeWritable(): number {
    if (this.isWritable) return 0;
    return Math.max(0, this.transport.bufferedAmount - this.config.lowWaterMark);
  }

  /** Buffered + queued bytes as last accounted in the process-wide total. */
  get footprint(): number {
    return this.accounted;
  }

  /** Re-reads `bufferedAmount` and re-accounts; returns the footprint. */
  refreshFootprint(): number {
    this.account(this.transport.bufferedAmount + this.heldBytes);
    return this.accounted;
  }

  /** The callback to give a write made past the guard, so the guard sees those bytes drain too. */
  get writeCallback(): SendCallback {
    return this.onFlushed;
  }

  /** A heartbeat ping, watched like any write. */
  ping(): void {
    this.transport.ping(undefined, undefined, this.onFlushed);
  }

  /** Sends `data` through the guard. */
  offer(
    data: unknown,
    options: GuardedSendOptions | undefined,
    cb: SendCallback | undefined,
  ): SendResult {
    const t = this.transport;
    if (this.evicting || this.closed || t.readyState !== OPEN) {
      if (cb) process.nextTick(cb, new WsMessageDroppedError('closed'));
      return 'closed';
    }
    if (this.writable && this.held.size === 0) {
      const buffered = t.bufferedAmount;
      if (buffered > this.config.highWaterMark) {
        // grown past the mark without a guarded write seeing it (pings, sendUnguarded)
        this.becomeUnwritable(buffered);
        return this.overflow(data, options, cb, byteLengthOf(data));
      }
      const max = this.config.maxBufferedBytes;
      const upper = byteLengthUpperBound(data);
      if (buffered + upper <= max) {
        this.write(data, options, cb, buffered === 0 && upper <= this.quietWriteMaxBytes);
        return 'sent';
      }
      const bytes = byteLengthOf(data);
      if (buffered + bytes <= max) {
        this.write(data, options, cb, false);
        return 'sent';
      }
      return this.overflow(data, options, cb, bytes);
    }
    return this.overflow(data, options, cb, byteLengthOf(data));
  }

  /** Stops reading from the client for `reason` (a bit flag); reading resumes once no reason is left. */
  pauseInbound(reason: number): void {
    const was = this.pausedBy;
    this.pausedBy |= reason;
    if (was === 0 && !this.closed) this.transport.pause();
  }

  resumeInbound(reason: number): void {
    if ((this.pausedBy & reason) === 0) return;
    this.pausedBy &= ~reason;
    if (this.pausedBy === 0 && !this.closed && !this.evicting) this.transport.resume();
  }

  /** Called by the service when it decided to evict: stop counting this client, drop what it holds. */
  markEvicting(): void {
    this.evicting = true;
    this.clearTimer();
    this.discardHeld('closed');
    this.account(0);
  }

  /** The socket closed: drop what is held, stop the timer, leave the total. */
  dispose(): void {
    if (this.closed) return;
    this.closed = true;
    this.clearTimer();
    this.discardHeld('closed');
    this.account(0);
  }

  /**
   * Writes through ws. `quiet`: a small message into an empty buffer with nothing held needs no send callback —
   * every write made while bytes are waiting carries one, and those fire (in order, after it) as the socket
   * drains, which is all the writability check needs. Skipping it matters: a real callback on every write keeps
   * Node's `Writable` off its all-noop fast path (a closure and a nextTick per `writev`).
   */
  private write(
    data: unknown,
    options: GuardedSendOptions | undefined,
    cb: SendCallback | undefined,
    quiet: boolean,
  ): void {
    const done =
      cb !== undefined
        ? (err?: Error) => {
            this.afterFlush();
            cb(err);
          }
        : quiet && this.held.size === 0
          ? undefined
          : this.onFlushed;
    this.transport.rawSend(data, options, done);
    const buffered = this.transport.bufferedAmount;
    this.account(buffered + this.heldBytes);
    if (this.writable && buffered > this.config.highWaterMark) this.becomeUnwritable(buffered);
  }

  /** A frame reached the kernel (or failed): the buffer may have drained. */
  private afterFlush(): void {
    if (this.closed || this.evicting) return;
    const buffered = this.transport.bufferedAmount;
    if (!this.writable) {
      if (buffered <= this.config.lowWaterMark) this.becomeWritable(buffered);
    } else if (this.held.size > 0) {
      this.flush();
    }
    this.account(this.transport.bufferedAmount + this.heldBytes);
  }

  private becomeUnwritable(buffered: number): void {
    this.writable = false;
    this.unwritableSince = performance.now();
    if (this.config.slowConsumerTimeoutMs !== false) {
      this.timer = setTimeout(this.onSlowTimeout, this.config.slowConsumerTimeoutMs);
      this.timer.unref?.();
    }
    if (this.config.pauseInboundWhenUnwritable) this.pauseInbound(PAUSED_UNWRITABLE);
    this.hub.writabilityChanged(this, false, buffered);
    this.transport.emit(WRITABILITY_CHANGED_EVENT, false, buffered);
  }

  private becomeWritable(buffered: number): void {
    this.writable = true;
    this.clearTimer();
    this.resumeInbound(PAUSED_UNWRITABLE);
    this.hub.writabilityChanged(this, true, buffered);
    this.transport.emit(WRITABILITY_CHANGED_EVENT, true, buffered);
    this.flush();
  }

  private slowTimeout(): void {
    this.timer = undefined;
    if (this.writable || this.closed || this.evicting) return;
    const buffered = this.transport.bufferedAmount;
    if (buffered <= this.config.lowWaterMark) {
      this.becomeWritable(buffered);
      return;
    }
    const ms = Math.round(performance.now() - this.unwritableSince);
    this.hub.evict(
      this,
      'slow_consumer',
      `unwritable for ${ms} ms (slowConsumerTimeoutMs ${this.config.slowConsumerTimeoutMs}), ${formatBytes(buffered)} buffered`,
    );
  }

  /** Writes held messages in order while the client stays writable and they fit. */
  private flush(): void {
    for (const [key, m] of this.held) {
      if (!this.writable || this.closed || this.evicting) return;
      if (this.transport.bufferedAmount + m.bytes > this.config.maxBufferedBytes) return;
      this.held.delete(key);
      this.heldBytes -= m.bytes;
      this.write(m.data, m.options, m.cb, false);
    }
  }

  private overflow(
    data: unknown,
    options: GuardedSendOptions | undefined,
    cb: SendCallback | undefined,
    bytes: number,
  ): SendResult {
    const c = this.config;
    if (bytes > c.maxBufferedBytes) return this.drop(cb, 'too_large');
    const coalesceKey = options?.coalesceKey;
    let action: OverflowAction;
    try {
      action = this.hub.policy.onOverflow({
        client: this.transport as unknown as WebSocket,
        data,
        bytes,
        requested: options?.overflow,
        gatewayDefault: c.overflow,
        coalesceKey,
        bufferedAmount: this.transport.bufferedAmount,
        queuedBytes: this.heldBytes,
        path: this.path,
      });
    } catch {
      action = c.overflow; // a throwing custom policy must not break the send path
    }
    switch (action) {
      case 'queue': {
        if (this.held.size >= c.maxQueuedMessages || this.heldBytes + bytes > c.maxQueuedBytes) {
          return this.queueFull(cb);
        }
        this.hold(this.seq++, { data, options, cb, bytes });
        return 'queued';
      }
      case 'coalesce': {
        const key = coalesceKey ?? c.coalesceKey(data) ?? '';
        const previous = this.held.get(key);
        if (previous !== undefined) {
          if (this.heldBytes - previous.bytes + bytes > c.maxQueuedBytes) return this.queueFull(cb);
          this.heldBytes += bytes - previous.bytes;
          this.held.set(key, { data, options, cb, bytes });
          if (previous.cb) process.nextTick(previous.cb, new WsMessageDroppedError('coalesced'));
          this.hub.coalesced(this);
          this.account(this.transport.bufferedAmount + this.heldBytes);
          return 'coalesced';
        }
        if (this.held.size >= c.maxQueuedMessages || this.heldBytes + bytes > c.maxQueuedBytes) {
          return this.queueFull(cb);
        }
        this.hold(key, { data, options, cb, bytes });
        return 'queued';
      }
      case 'evict':
        this.hub.evict(
          this,
          'overflow',
          `overflow policy "evict": ${formatBytes(this.transport.bufferedAmount)} buffered, above highWaterMark ${c.highWaterMark}`,
        );
        if (cb) process.nextTick(cb, new WsMessageDroppedError('closed'));
        return 'evicted';
      default:
        return this.drop(cb, 'overflow');
    }
  }

  private queueFull(cb: SendCallback | undefined): SendResult {
    if (this.config.queueFull === 'drop') return this.drop(cb, 'queue_full');
    this.hub.evict(
      this,
      'queue_full',
      `queue full: ${this.held.size} messages, ${formatBytes(this.heldBytes)} held (maxQueuedMessages ${this.config.maxQueuedMessages}, maxQueuedBytes ${this.config.maxQueuedBytes})`,
    );
    if (cb) process.nextTick(cb, new WsMessageDroppedError('queue_full'));
    return 'evicted';
  }

  private hold(key: string | number, m: Held): void {
    this.held.set(key, m);
    this.heldBytes += m.bytes;
    this.account(this.transport.bufferedAmount + this.heldBytes);
  }

  private drop(cb: SendCallback | undefined, reason: DropReason): SendResult {
    this.hub.dropped(this, 1, reason);
    if (cb) process.nextTick(cb, new WsMessageDroppedError(reason));
    return 'dropped';
  }

  private discardHeld(reason: DropReason): void {
    if (this.held.size === 0) return;
    const n = this.held.size;
    for (const m of this.held.values()) {
      if (m.cb) process.nextTick(m.cb, new WsMessageDroppedError(reason));
    }
    this.held.clear();
    this.heldBytes = 0;
    this.hub.dropped(this, n, reason);
  }

  private account(footprint: number): void {
    const next = this.evicting || this.closed ? 0 : footprint;
    const delta = next - this.accounted;
    if (delta === 0) return;
    this.accounted = next;
    this.hub.footprintChanged(delta);
  }

  private clearTimer(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }
}
