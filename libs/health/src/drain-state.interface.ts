import type { DRAIN_SOURCES, DRAIN_STATES } from './health.constants';

/**
 * `serving` → `draining` (readiness DOWN, waiting for the load balancer to notice) → `closing` (the server stops
 * accepting, keep-alive connections close, in-flight requests finish) → `exited` (Nest shutdown done). @publicApi
 */
export type DrainState = (typeof DRAIN_STATES)[number];

/** What started a drain. @publicApi */
export type DrainSource = (typeof DRAIN_SOURCES)[number];

/** A request to drain, as {@link DrainService.drain} takes it. @publicApi */
export interface DrainRequest {
  /**
   * After the drain and the Nest shutdown, `process.exit(exitCode)`; `false`: leave the process alone (it ends by
   * itself once nothing holds the event loop). Default: the module's `exitCode` option (`false`).
   */
  exitCode?: number | false;
}

/** The full trigger, as the signal handler, the admin endpoint and `drain()` pass it. */
export interface DrainTrigger {
  source: DrainSource;
  /** Why: the signal name, `memory`, `admin`, `deploy`… Shown in readiness and logs. */
  reason: string;
  /** The signal, for a signal trigger: passed to Nest's shutdown hooks (`onApplicationShutdown(signal)`). */
  signal?: string;
  /** `'reraise'`: after the shutdown, raise the signal again (the default action ends the process). */
  exit?: number | false | 'reraise';
  /** Skip the load-balancer wait (`app.close()` called directly: the owner closes now). */
  skipLbWait?: boolean;
}

/** Where a drain is, for readiness, the admin endpoint, the agent responder and metrics. @publicApi */
export interface DrainStatus {
  readonly state: DrainState;
  readonly source: DrainSource | undefined;
  readonly reason: string | undefined;
  /** `Date.now()` when the drain started. */
  readonly since: number | undefined;
  /** Requests in flight now (the `@steady/core` count). */
  readonly inFlight: number;
  /** Readiness probes answered 503 since the drain started. */
  readonly refusedProbes: number;
  /** Requests still in flight at the hard deadline, whose connections were destroyed. */
  readonly forcedRequests: number;
  /** Milliseconds each finished phase took (`lbWait`, `inFlightWait`, `shutdown`, `total`). */
  readonly durations: Readonly<Partial<Record<DrainPhase, number>>>;
}

/** The timed phases of a drain. */
export type DrainPhase = 'lbWait' | 'inFlightWait' | 'shutdown' | 'total';

/**
 * Runs after the HTTP drain (server closed, in-flight 0, keep-alive closed) and before the Nest shutdown — the place
 * for work that must not overlap requests (a heap snapshot, a final flush). Bounded by `shutdownTimeoutMs`.
 *
 * @publicApi
 */
export type DrainedHook = (status: DrainStatus) => void | Promise<void>;

/** What the drain needs of the Nest application to hand over to its shutdown. */
export interface DrainableApplication {
  close(signal?: string): Promise<void>;
}
