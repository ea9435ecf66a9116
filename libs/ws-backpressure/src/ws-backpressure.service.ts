import {
  Inject,
  Injectable,
  Logger,
  Optional,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { MetricsSink, mirrorCounter } from '@steady/core';
import type { IncomingMessage } from 'node:http';
import { Subject, type Observable } from 'rxjs';
import WebSocket from 'ws';
import { formatBytes } from './byte-length';
import { ClientGuard, type GuardHub } from './client-guard';
import { DefaultOverflowPolicy } from './default-overflow.policy';
import { GuardedWebSocket, kClientGuard } from './guarded-web-socket';
import { OverflowPolicy } from './overflow-policy.interface';
import {
  DROP_REASONS,
  EVICTION_CLOSE_CODES,
  EVICTION_REASONS,
  STEADY_WS_BACKPRESSURE_OPTIONS,
} from './ws-backpressure.constants';
import type {
  BroadcastResult,
  EvictionEvent,
  WritabilityChange,
  WsBackpressureStats,
} from './ws-backpressure-events.interface';
import type {
  DropReason,
  EvictionReason,
  GuardedSendOptions,
  ResolvedGatewayBackpressure,
  ResolvedWsBackpressureOptions,
  SendResult,
  WsBackpressureGatewayOptions,
} from './ws-backpressure-options.interface';
import { resolveGatewayBackpressure } from './ws-backpressure-options.validation';

/** At most this many eviction log lines per second; the rest are counted into the next line. */
const EVICTION_LOGS_PER_SECOND = 20;

/**
 * The registry of every guarded client of the app: the process-wide buffered-bytes budget, eviction (always
 * `terminate()`, never `close()`), the heartbeat, the writability and eviction streams, metrics, and helpers to
 * send and broadcast under a policy.
 *
 * @example
 * constructor(private readonly ws: WsBackpressureService) {}
 *
 * notify(clients: Iterable<WebSocket>, mail: Mail) {
 *   this.ws.broadcast(clients, 'mail', mail, { overflow: 'coalesce', coalesceKey: `mailbox:${mail.to}` });
 * }
 *
 * @publicApi
 */
@Injectable()
export class WsBackpressureService implements OnModuleInit, OnApplicationShutdown {
  protected readonly logger = new Logger('WsBackpressure');
  private readonly guards = new Set<ClientGuard>();
  private readonly heartbeats = new Set<NodeJS.Timeout>();
  /** Σ footprints as last accounted by the guards (the budget's fast path). */
  private accountedTotal = 0;
  private unwritable = 0;
  private nextId = 1;
  private budgetCheckPending = false;
  private readonly dropped = new Map<DropReason, number>();
  private readonly evicted = new Map<EvictionReason, number>();
  private readonly protocolErrors = new Map<number, number>();
  private readonly writabilityCounts = { writable: 0, unwritable: 0 };
  private coalescedTotal = 0;
  private logWindowStart = 0;
  private logsInWindow = 0;
  private suppressedLogs = 0;
  private readonly writabilitySubject = new Subject<WritabilityChange>();
  private readonly evictionSubject = new Subject<EvictionEvent>();
  private readonly hub: GuardHub;

  /** Every writability change of every client. */
  readonly writability$: Observable<WritabilityChange> = this.writabilitySubject.asObservable();
  /** Every eviction, at the moment it is decided (the client is terminated on the next tick). */
  readonly evictions$: Observable<EvictionEvent> = this.evictionSubject.asObservable();

  constructor(
    @Inject(STEADY_WS_BACKPRESSURE_OPTIONS) readonly options: ResolvedWsBackpressureOptions,
    @Optional()
    @Inject(OverflowPolicy)
    readonly policy: OverflowPolicy = new DefaultOverflowPolicy(),
    @Optional() @Inject(MetricsSink) protected readonly metrics?: MetricsSink,
  ) {
    this.hub = {
      policy,
      footprintChanged: (delta) => this.footprintChanged(delta),
      writabilityChanged: (guard, writable, buffered) =>
        this.writabilityChanged(guard, writable, buffered),
      dropped: (_guard, count, reason) => {
        this.dropped.set(reason, (this.dropped.get(reason) ?? 0) + count);
      },
      coalesced: () => {
        this.coalescedTotal++;
      },
      evict: (guard, reason, detail) => {
        this.evictGuard(guard, reason, detail);
      },
    };
  }

  onModuleInit(): void {
    this.registerMetrics();
  }

  onApplicationShutdown(): void {
    this.shutdown();
  }

  /** Stops the heartbeats and completes the streams. */
  shutdown(): void {
    for (const timer of this.heartbeats) clearInterval(timer);
    this.heartbeats.clear();
    this.writabilitySubject.complete();
    this.evictionSubject.complete();
  }

  /** The settings of a gateway: its `backpressure` options over the module's. Throws on bad options. */
  resolveGateway(
    path: string,
    gateway: WsBackpressureGatewayOptions | undefined,
  ): ResolvedGatewayBackpressure {
    return resolveGatewayBackpressure(this.options.gatewayDefaults, gateway, path);
  }

  /**
   * Puts a newly connected client under guard (the adapter does this on `'connection'`). Returns its guard; the
   * client leaves the registry when it closes.
   */
  register(
    client: GuardedWebSocket,
    config: ResolvedGatewayBackpressure,
    path: string,
    request?: IncomingMessage,
  ): ClientGuard {
    const address = request?.socket?.remoteAddress;
    const label = `#${this.nextId++}${address ? ` ${address}:${request?.socket?.remotePort}` : ''}`;
    const guard = new ClientGuard(client, config, this.hub, path, label);
    client[kClientGuard] = guard;
    this.guards.add(guard);
    const alive = () => {
      guard.alive = true;
    };
    client.on('pong', alive);
    client.on('message', alive);
    client.once('close', () => {
      if (guard.isAboveWaterMark) this.unwritable--;
      guard.dispose();
      this.guards.delete(guard);
      client.off('pong', alive);
      client.off('message', alive);
    });
    return guard;
  }

  /**
   * Pings every client of `clients` each `intervalMs`; one that has not answered (pong or any message) since the
   * previous ping is evicted. Returns a function that stops it.
   */
  startHeartbeat(clients: ReadonlySet<ClientGuard>, intervalMs: number): () => void {
    const timer = setInterval(() => {
      for (const guard of clients) {
        if (guard.isEvicting || guard.isClosed) continue;
        if (!guard.alive) {
          this.evictGuard(guard, 'heartbeat', `no pong within ${intervalMs} ms`);
          continue;
        }
        guard.alive = false;
        try {
          guard.ping();
        } catch {
          // not open any more; its close handler cleans up
        }
      }
    }, intervalMs);
    timer.unref();
    this.heartbeats.add(timer);
    return () => {
      clearInterval(timer);
      this.heartbeats.delete(timer);
    };
  }

  /** True while `client` may be sent to (for a client not under guard: open and below the high water mark). */
  isWritable(client: WebSocket): boolean {
    const guard = guardOf(client);
    if (guard) return guard.isWritable;
    return (
      client.readyState === WebSocket.OPEN && client.bufferedAmount <= this.options.highWaterMark
    );
  }

  /** Bytes that can still be sent to `client` before it turns unwritable; 0 while unwritable. */
  bytesBeforeUnwritable(client: WebSocket): number {
    const guard = guardOf(client);
    if (guard) return guard.bytesBeforeUnwritable();
    if (client.readyState !== WebSocket.OPEN) return 0;
    return Math.max(0, this.options.highWaterMark - client.bufferedAmount);
  }

  /** Bytes that must drain from `client` before it turns writable again; 0 while writable. */
  bytesBeforeWritable(client: WebSocket): number {
    const guard = guardOf(client);
    if (guard) return guard.bytesBeforeWritable();
    return Math.max(0, client.bufferedAmount - this.options.lowWaterMark);
  }

  /** Sends `{ event, data }` as JSON to one client under its policy (or `options.overflow`). */
  send(client: WebSocket, event: string, data: unknown, options?: GuardedSendOptions): SendResult {
    return this.sendRaw(client, JSON.stringify({ event, data }), options);
  }

  /** Sends an already serialised message to one client under its policy. */
  sendRaw(client: WebSocket, payload: unknown, options?: GuardedSendOptions): SendResult {
    const guard = guardOf(client);
    if (guard) return guard.offer(payload, options, undefined);
    if (client instanceof GuardedWebSocket) return client.offer(payload, options);
    if (client.readyState !== WebSocket.OPEN) return 'closed';
    client.send(payload as string);
    return 'sent';
  }

  /**
   * Sends `{ event, data }` to every client: serialised once (ws then queues the same string for each), each
   * client under its own water marks and policy.
   */
  broadcast(
    clients: Iterable<WebSocket>,
    event: string,
    data: unknown,
    options?: GuardedSendOptions,
  ): BroadcastResult {
    const payload = JSON.stringify({ event, data });
    const result: BroadcastResult = {
      sent: 0,
      queued: 0,
      coalesced: 0,
      dropped: 0,
      evicted: 0,
      closed: 0,
    };
    for (const client of clients) result[this.sendRaw(client, payload, options)]++;
    return result;
  }

  /**
   * Evicts a client now: it is terminated on the next tick (never `close()`, whose close frame would wait behind
   * the data the client is not reading, holding the buffers up to 30 s). Logged with the close code.
   */
  evict(client: WebSocket, reason: EvictionReason = 'slow_consumer', detail = 'evicted'): boolean {
    const guard = guardOf(client);
    if (!guard) {
      client.terminate();
      return false;
    }
    return this.evictGuard(guard, reason, detail);
  }

  /** Counts an inbound protocol error that closed a client (1002, 1007, 1009…). */
  recordProtocolError(code: number): void {
    this.protocolErrors.set(code, (this.protocolErrors.get(code) ?? 0) + 1);
  }

  /** Live totals over all clients. */
  stats(): WsBackpressureStats {
    let bufferedBytes = 0;
    let queuedBytes = 0;
    for (const guard of this.guards) {
      if (guard.isClosed) continue;
      bufferedBytes += guard.transport.bufferedAmount;
      queuedBytes += guard.queuedBytes;
    }
    return {
      clients: this.guards.size,
      unwritableClients: this.unwritable,
      bufferedBytes,
      queuedBytes,
      globalMaxBufferedBytes: this.options.globalMaxBufferedBytes,
      droppedTotal: sum(this.dropped),
      coalescedTotal: this.coalescedTotal,
      evictedTotal: sum(this.evicted),
    };
  }

  /** Dropped messages by reason, evictions by reason (monotonic counts). */
  counts(): {
    dropped: Record<DropReason, number>;
    evicted: Record<EvictionReason, number>;
    coalesced: number;
    protocolErrors: Record<string, number>;
    writabilityChanges: { writable: number; unwritable: number };
  } {
    return {
      dropped: Object.fromEntries(DROP_REASONS.map((r) => [r, this.dropped.get(r) ?? 0])) as Record<
        DropReason,
        number
      >,
      evicted: Object.fromEntries(
        EVICTION_REASONS.map((r) => [r, this.evicted.get(r) ?? 0]),
      ) as Record<EvictionReason, number>,
      coalesced: this.coalescedTotal,
      protocolErrors: Object.fromEntries(this.protocolErrors),
      writabilityChanges: { ...this.writabilityCounts },
    };
  }

  private writabilityChanged(guard: ClientGuard, writable: boolean, bufferedAmount: number): void {
    if (writable) {
      this.unwritable--;
      this.writabilityCounts.writable++;
    } else {
      this.unwritable++;
      this.writabilityCounts.unwritable++;
    }
    if (this.writabilitySubject.observed) {
      this.writabilitySubject.next({
        client: guard.transport as unknown as WebSocket,
        writable,
        bufferedAmount,
        at: performance.now(),
      });
    }
  }

  private footprintChanged(delta: number): void {
    this.accountedTotal += delta;
    const budget = this.options.globalMaxBufferedBytes;
    if (budget !== false && this.accountedTotal > budget && !this.budgetCheckPending) {
      this.budgetCheckPending = true;
      process.nextTick(() => this.enforceBudget());
    }
  }

  /** Evicts the clients holding the most until the total fits the budget again. */
  protected enforceBudget(): void {
    this.budgetCheckPending = false;
    const budget = this.options.globalMaxBufferedBytes;
    if (budget === false) return;
    const live: Array<{ guard: ClientGuard; bytes: number }> = [];
    let total = 0;
    for (const guard of this.guards) {
      if (guard.isEvicting || guard.isClosed) continue;
      const bytes = guard.refreshFootprint();
      total += bytes;
      live.push({ guard, bytes });
    }
    if (total <= budget) return;
    live.sort((a, b) => b.bytes - a.bytes);
    for (const { guard, bytes } of live) {
      if (total <= budget) break;
      this.evictGuard(
        guard,
        'global_budget',
        `holds ${formatBytes(bytes)} of ${formatBytes(total)} buffered in the app, above globalMaxBufferedBytes ${budget}`,
      );
      total -= bytes;
    }
  }

  private evictGuard(guard: ClientGuard, reason: EvictionReason, detail: string): boolean {
    if (guard.isEvicting || guard.isClosed) return false;
    const bufferedAmount = guard.transport.bufferedAmount;
    const queuedBytes = guard.queuedBytes;
    guard.markEvicting();
    this.evicted.set(reason, (this.evicted.get(reason) ?? 0) + 1);
    const code = EVICTION_CLOSE_CODES[reason];
    const message = `${reason.replace('_', ' ')}: ${detail}`;
    this.logEviction(guard, code, message);
    if (this.evictionSubject.observed) {
      this.evictionSubject.next({
        client: guard.transport as unknown as WebSocket,
        reason,
        code,
        message,
        bufferedAmount,
        queuedBytes,
        at: performance.now(),
      });
    }
    // Next tick: never re-enter the sender's loop (a broadcast over server.clients) with 'close' events.
    process.nextTick(() => guard.transport.terminate());
    return true;
  }

  private logEviction(guard: ClientGuard, code: number, message: string): void {
    const now = performance.now();
    if (now - this.logWindowStart >= 1000) {
      this.logWindowStart = now;
      this.logsInWindow = 0;
    }
    if (this.logsInWindow >= EVICTION_LOGS_PER_SECOND) {
      this.suppressedLogs++;
      return;
    }
    this.logsInWindow++;
    const suppressed =
      this.suppressedLogs > 0 ? ` (+${this.suppressedLogs} evictions not logged)` : '';
    this.suppressedLogs = 0;
    this.logger.warn(
      `evicting client ${guard.label} on ${guard.path} with terminate(): close code ${code}, reason "${message}"${suppressed}`,
    );
  }

  private registerMetrics(): void {
    const m = this.metrics;
    if (!m) return;
    m.gauge({
      name: 'ws_clients',
      help: 'WebSocket clients under backpressure guard',
      collect: (g) => g.set(undefined, this.guards.size),
    });
    m.gauge({
      name: 'ws_unwritable_clients',
      help: 'WebSocket clients above their high water mark (not yet back to the low one)',
      collect: (g) => g.set(undefined, this.unwritable),
    });
    m.gauge({
      name: 'ws_buffered_bytes',
      help: 'Outbound bytes held by ws and Node for all clients (sum of bufferedAmount; the kernel holds more)',
      collect: (g) => g.set(undefined, this.stats().bufferedBytes),
    });
    m.gauge({
      name: 'ws_queued_bytes',
      help: 'Outbound bytes held by the queue and coalesce overflow policies',
      collect: (g) => g.set(undefined, this.stats().queuedBytes),
    });
    m.gauge({
      name: 'ws_buffered_budget_bytes',
      help: 'The process-wide budget of buffered + queued bytes (globalMaxBufferedBytes); 0 when off',
      collect: (g) => g.set(undefined, this.options.globalMaxBufferedBytes || 0),
    });
    this.mirror(
      'ws_dropped_messages_total',
      'Messages not delivered, by reason (overflow, queue_full, too_large, closed)',
      'reason',
      () => this.dropped,
    );
    this.mirror(
      'ws_evicted_clients_total',
      'Clients terminated, by reason (slow_consumer, overflow, queue_full, global_budget, heartbeat)',
      'reason',
      () => this.evicted,
    );
    this.mirror(
      'ws_protocol_errors_total',
      'Clients closed for bad input, by close code (1002 protocol error, 1007 malformed, 1009 too big)',
      'code',
      () => this.protocolErrors,
    );
    this.mirror(
      'ws_writability_changes_total',
      'Writability changes of clients, by the state entered (writable, unwritable)',
      'state',
      () =>
        new Map([
          ['writable', this.writabilityCounts.writable],
          ['unwritable', this.writabilityCounts.unwritable],
        ]),
    );
    mirrorCounter(
      this.metrics,
      {
        name: 'ws_coalesced_messages_total',
        help: 'Messages replaced by a newer one with the same coalesce key before they were sent',
      },
      () => this.coalescedTotal,
    );
  }

  private mirror(
    name: string,
    help: string,
    label: string,
    counts: () => ReadonlyMap<string | number, number>,
  ): void {
    mirrorCounter(this.metrics, { name, help, labelNames: [label] }, () =>
      [...counts()].map(([key, n]) => [{ [label]: String(key) }, n] as const),
    );
  }
}

function guardOf(client: WebSocket): ClientGuard | undefined {
  return (client as Partial<Record<typeof kClientGuard, ClientGuard>>)[kClientGuard];
}

function sum(map: ReadonlyMap<unknown, number>): number {
  let total = 0;
  for (const n of map.values()) total += n;
  return total;
}
