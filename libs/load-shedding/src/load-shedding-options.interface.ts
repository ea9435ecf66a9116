import type { IncomingMessage } from 'node:http';
import type { PRIORITIES } from './load-shedding.constants';
import type { ShedSignal } from './shed-signal.interface';

/** A criticality class: `critical` is shed last, `sheddable` first. @publicApi */
export type Priority = (typeof PRIORITIES)[number];

/** A band on a utilisation scale: shedding starts at `soft` and is total (for normal traffic) at `hard`. */
export interface ShedBand {
  soft: number;
  hard: number;
}

/** The event-loop signals, held at a target by a feedback controller (see docs/load-shedding.md). */
export interface EventLoopShedOptions {
  /** Interval ELU the controller holds admitted load at. Default `0.92`; 0.5..0.99. `false` turns ELU off. */
  eluTarget?: number | false;
  /**
   * Event-loop delay p99 (ms) above which a busy loop counts as overloaded (a loop at ELU 1 with short turns is
   * keeping up). Default `50`; 5..60000. `false`: ELU alone decides (also sheds a saturated closed-loop load).
   */
  delayThresholdMs?: number | false;
  /** EWMA weight of a new sample, 0..1 (1 = no smoothing). Default `0.5`. */
  smoothing?: number;
  /** Lowest admitted fraction, so the signals keep being measured. Default `0.02`; 0..0.5. */
  minAdmitFraction?: number;
  /**
   * Below this arrival rate (req/s) a busy loop is not blamed on requests (start-up, GC, a batch job) and nothing
   * is shed for it. Default `50`; lower it if each request burns more than ~20 ms of CPU. 0..100000.
   */
  minRate?: number;
  /**
   * Engage only when the clients are also opening new connections while the loop is overloaded (default `true`).
   * HTTP/1.1 clients open a connection when all of theirs are waiting, so a growing connection count is work
   * queueing in front of the server (an open loop); a saturated loop on a fixed set of connections (a client
   * pool, a proxy's `maxconn`) is a closed loop, which shedding cannot relieve — every rejection is replaced at
   * once — so it is left alone (the in-flight band still applies). `false`: busy and slow is enough.
   */
  openLoopOnly?: boolean;
  /**
   * The most work (ms) a normal request may find queued ahead of it in one event-loop turn before it is shed
   * (sheddable: half, critical: twice). Default `25`; 1..60000. `false`: off.
   */
  turnBudgetMs?: number | false;
}

/**
 * Options of {@link LoadSheddingModule}. Every option has a default.
 *
 * @publicApi
 */
export interface LoadSheddingModuleOptions {
  /** Shed at all. Can be flipped at run time with `LoadSheddingService.setEnabled()`. Default `true`. */
  enabled?: boolean;
  /** Count and log what would be shed, reject nothing. Default `false`. */
  shadow?: boolean;
  /**
   * `true` (default): every route is eligible, at the HTTP server, before routing and body parsing, except
   * `@SkipShed()` routes and ops endpoints. `false`: only routes with `@Shed()` or `@UseGuards(ShedGuard)`.
   */
  global?: boolean;
  /** The in-flight limit: the analog of Tomcat's `maxThreads`. Default `512`; 1..1000000. */
  maxInFlight?: number;
  /** In-flight / maxInFlight band. Default `{ soft: 0.85, hard: 1 }` (the seed's 85 % rule). `false`: off. */
  inFlight?: Partial<ShedBand> | false;
  /** Event-loop utilisation and delay control. `false`: off. */
  eventLoop?: EventLoopShedOptions | false;
  /** Heap used / heap limit band. Default `{ soft: 0.9, hard: 0.98 }`. `false`: off. */
  heap?: Partial<ShedBand> | false;
  /** Extra signals (also injectable under the `ShedSignal` token). */
  signals?: ShedSignal[];
  /** How far beyond the hard threshold critical traffic is still admitted, in band widths. Default `2`; 0..10. */
  criticalReserve?: number;
  /** Request header naming the priority (`critical`, `normal`, `sheddable`). Default `x-steady-priority`; `false`: ignore. */
  priorityHeader?: string | false;
  /** Priority from the request (a principal, a client id…); wins over the header and the route. */
  priorityResolver?: (req: IncomingMessage) => Priority | undefined;
  /** Priority of requests that name none. Default `normal`. */
  defaultPriority?: Priority;
  /** Never shed requests for which this returns true (cheap; runs only under pressure). */
  bypass?: (req: IncomingMessage) => boolean;
  /** Never shed routes marked `@OpsEndpoint()` (metrics, health, explain). Default `true`. */
  skipOpsEndpoints?: boolean;
  /** Status of a rejection. Default `429`; 429 or 503. */
  statusCode?: 429 | 503;
  /** `Retry-After` seconds: `base` plus a random 0..`jitter`. Default `{ base: 1, jitter: 2 }`. */
  retryAfter?: { base?: number; jitter?: number };
  /** Message of the JSON body. */
  message?: string;
}

/** Options after defaults and validation. */
export interface ResolvedLoadSheddingOptions {
  enabled: boolean;
  shadow: boolean;
  global: boolean;
  maxInFlight: number;
  inFlight: ShedBand | false;
  eventLoop:
    | {
        eluTarget: number | false;
        delayThresholdMs: number | false;
        smoothing: number;
        minAdmitFraction: number;
        minRate: number;
        openLoopOnly: boolean;
        turnBudgetMs: number | false;
      }
    | false;
  heap: ShedBand | false;
  signals: ShedSignal[];
  criticalReserve: number;
  priorityHeader: string | false;
  priorityResolver: ((req: IncomingMessage) => Priority | undefined) | undefined;
  defaultPriority: Priority;
  bypass: ((req: IncomingMessage) => boolean) | undefined;
  skipOpsEndpoints: boolean;
  statusCode: 429 | 503;
  retryAfter: { base: number; jitter: number };
  message: string;
}

/** Per-route options of `@Shed()`. @publicApi */
export interface ShedRouteOptions {
  /** Criticality of the route's requests (a `priorityResolver` still wins). */
  priority?: Priority;
}
