import type { PerMessageDeflateOptions } from 'ws';
import type {
  DROP_REASONS,
  EVICTION_REASONS,
  OVERFLOW_ACTIONS,
  QUEUE_FULL_ACTIONS,
} from './ws-backpressure.constants';
import type { OverflowPolicy } from './overflow-policy.interface';

/** `drop`, `coalesce` (latest per key), `queue` (bounded) or `evict`. @publicApi */
export type OverflowAction = (typeof OVERFLOW_ACTIONS)[number];
/** @publicApi */
export type QueueFullAction = (typeof QUEUE_FULL_ACTIONS)[number];
/** @publicApi */
export type EvictionReason = (typeof EVICTION_REASONS)[number];
/** @publicApi */
export type DropReason = (typeof DROP_REASONS)[number];

/**
 * Settings of one gateway. Given to `WsBackpressureModule.forRoot()` they are the defaults of every gateway;
 * `@WebSocketGateway({ backpressure: { … } })` overrides them for one gateway.
 *
 * @publicApi
 */
export interface WsBackpressureGatewayOptions {
  /**
   * A client turns unwritable once its `bufferedAmount` (bytes queued in ws and Node, not yet in the kernel) is
   * above this. Default 1 MiB; 1 KiB..1 GiB.
   */
  highWaterMark?: number;
  /** An unwritable client turns writable again at or below this. Default `highWaterMark / 4`; 0..highWaterMark. */
  lowWaterMark?: number;
  /**
   * Hard ceiling of `bufferedAmount` + queued bytes per client: a message that would pass it is treated as
   * overflow even while the client is writable. Default `max(4 MiB, 4 × highWaterMark)`; >= highWaterMark.
   */
  maxBufferedBytes?: number;
  /** What to do with a message sent while the client is unwritable. Default `drop`. */
  overflow?: OverflowAction;
  /**
   * Key of a message for `coalesce` when the sender gives none (`send(data, { coalesceKey })`). Default: the
   * `event` of a Nest-shaped JSON string (`{"event":"…",…}`), else one slot per client.
   */
  coalesceKey?: (data: unknown) => string | undefined;
  /** Messages the `queue` and `coalesce` policies may hold per client. Default 1024; 1..1000000. */
  maxQueuedMessages?: number;
  /** Bytes the `queue` and `coalesce` policies may hold per client. Default 1 MiB; 0..1 GiB. */
  maxQueuedBytes?: number;
  /** A message that does not fit the queue: evict the client (default) or drop the message. */
  queueFull?: QueueFullAction;
  /** Evict a client that stays unwritable this long. Default 5000 ms; 10..3600000; `false`: never. */
  slowConsumerTimeoutMs?: number | false;
  /** Stop reading from a client while it is unwritable (Netty's `setAutoRead(false)`). Default `true`. */
  pauseInboundWhenUnwritable?: boolean;
  /** Handler results (Observables, Promises) of one client consumed at once. Default 16; 1..10000. */
  handlerConcurrency?: number;
  /** Largest inbound message in bytes; a larger one closes the client with 1009. Default 64 KiB; 1..1 GiB. */
  maxPayload?: number;
  /** ws permessage-deflate. Default `false` (it fragments memory; if on, keep `concurrencyLimit` <= 10). */
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
  /** Ping every client this often and terminate those that did not pong since. Default 30000 ms; `false`: off. */
  heartbeatIntervalMs?: number | false;
  /** How long a `close()` handshake may take before the socket is destroyed. Default 2000 ms; 10..60000. */
  closeTimeoutMs?: number;
  /** Close a client that sends a message that is not `{ "event": string, … }` JSON, with 1007. Default `true`. */
  closeOnMalformedMessage?: boolean;
}

/**
 * Options of {@link WsBackpressureModule}: the defaults of every gateway plus the process-wide settings.
 *
 * @publicApi
 */
export interface WsBackpressureModuleOptions extends WsBackpressureGatewayOptions {
  /**
   * Budget of buffered + queued bytes over all clients of the app; above it the clients holding the most are
   * evicted first until the total fits. Default 128 MiB; 1 KiB..64 GiB; `false`: no budget.
   */
  globalMaxBufferedBytes?: number | false;
  /** Decides per overflowing message (also injectable under the `OverflowPolicy` token). */
  overflowPolicy?: OverflowPolicy;
}

/** The settings of one gateway after defaults and validation. */
export interface ResolvedGatewayBackpressure {
  highWaterMark: number;
  lowWaterMark: number;
  maxBufferedBytes: number;
  overflow: OverflowAction;
  coalesceKey: (data: unknown) => string | undefined;
  maxQueuedMessages: number;
  maxQueuedBytes: number;
  queueFull: QueueFullAction;
  slowConsumerTimeoutMs: number | false;
  pauseInboundWhenUnwritable: boolean;
  handlerConcurrency: number;
  maxPayload: number;
  perMessageDeflate: boolean | PerMessageDeflateOptions;
  heartbeatIntervalMs: number | false;
  closeTimeoutMs: number;
  closeOnMalformedMessage: boolean;
}

/** Module options after defaults and validation. */
export interface ResolvedWsBackpressureOptions extends ResolvedGatewayBackpressure {
  globalMaxBufferedBytes: number | false;
  overflowPolicy: OverflowPolicy | undefined;
  /** The gateway part as given, so a gateway's own settings are resolved against it. */
  gatewayDefaults: WsBackpressureGatewayOptions;
}

/** Extra options of `GuardedWebSocket.send()` (besides ws's own `binary`, `compress`, `fin`, `mask`). @publicApi */
export interface GuardedSendOptions {
  binary?: boolean;
  compress?: boolean;
  fin?: boolean;
  mask?: boolean;
  /** Overflow action for this message, instead of the gateway's. */
  overflow?: OverflowAction;
  /** Key for `coalesce`: a newer message with the same key replaces this one while the client is unwritable. */
  coalesceKey?: string;
}

/** What happened to one message. @publicApi */
export type SendResult = 'sent' | 'queued' | 'coalesced' | 'dropped' | 'evicted' | 'closed';
