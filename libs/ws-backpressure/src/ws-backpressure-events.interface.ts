import type WebSocket from 'ws';
import type { EvictionReason } from './ws-backpressure-options.interface';

/** One writability change of one client (Netty's `channelWritabilityChanged`). @publicApi */
export interface WritabilityChange {
  readonly client: WebSocket;
  readonly writable: boolean;
  /** `bufferedAmount` when it changed. */
  readonly bufferedAmount: number;
  /** `performance.now()` when it changed. */
  readonly at: number;
}

/** One eviction (the client is terminated on the next tick). @publicApi */
export interface EvictionEvent {
  readonly client: WebSocket;
  readonly reason: EvictionReason;
  /** The close code logged for it (the client sees 1006: no close frame is sent). */
  readonly code: number;
  readonly message: string;
  readonly bufferedAmount: number;
  readonly queuedBytes: number;
  /** `performance.now()` of the decision. */
  readonly at: number;
}

/** Totals over all clients, read live. @publicApi */
export interface WsBackpressureStats {
  clients: number;
  unwritableClients: number;
  /** Σ `bufferedAmount`: outbound bytes held by ws and Node (not yet taken by the kernel). */
  bufferedBytes: number;
  /** Bytes held by the `queue` and `coalesce` policies. */
  queuedBytes: number;
  /** The process-wide budget, or `false`. */
  globalMaxBufferedBytes: number | false;
  droppedTotal: number;
  coalescedTotal: number;
  evictedTotal: number;
}

/** Counts of one `broadcast()`. @publicApi */
export interface BroadcastResult {
  sent: number;
  queued: number;
  coalesced: number;
  dropped: number;
  evicted: number;
  closed: number;
}
