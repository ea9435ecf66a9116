/** Event-loop delay statistics in milliseconds, over the monitor's delay window. */
export interface EventLoopDelayStats {
  readonly min: number;
  readonly mean: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

/** Heap figures in bytes, from `v8.getHeapStatistics()`. */
export interface HeapStats {
  readonly used: number;
  readonly total: number;
  /** `heap_size_limit`: what V8 will grow the heap to before it aborts. */
  readonly limit: number;
  /** `used / limit`, 0..1. */
  readonly ratio: number;
}

/**
 * One reading of the process, taken by the {@link UtilisationMonitor} on its single timer.
 * Every figure is cheap to read; nothing here is computed per request.
 *
 * @publicApi
 */
export interface UtilisationSample {
  /** Wall-clock time of the sample (`Date.now()`). */
  readonly at: number;
  /** Milliseconds actually covered by this sample (the timer drifts under load). */
  readonly intervalMs: number;
  /** Requests in flight when the sample was taken. */
  readonly inFlight: number;
  /** Highest in-flight count seen during the interval. */
  readonly inFlightPeak: number;
  /** Requests that arrived during the interval, per second (admitted and rejected). */
  readonly arrivalRate: number;
  /** Requests the admission hook rejected (e.g. shed) during the interval, per second. */
  readonly rejectionRate: number;
  /** Requests released during the interval, per second. */
  readonly completionRate: number;
  /** Client connections open on the attached servers when the sample was taken. */
  readonly connections: number;
  /** Connections accepted during the interval, per second. */
  readonly connectionRate: number;
  /**
   * The longest request turn during the interval, ms: from the first request an event-loop turn dispatched to
   * the end of that turn's poll phase — how long the last request of the turn waited in the process. Node
   * dispatches every request that arrived while the loop was busy in one turn, and accepts one new connection
   * per turn, so long turns also mean connections queueing in the kernel. 0 when no request arrived.
   */
  readonly requestTurnMaxMs: number;
  /** Event-loop utilisation over the interval, 0..1 (`performance.eventLoopUtilization`). */
  readonly elu: number;
  /** Process CPU time over the interval as a fraction of one core (user + system); can exceed 1. */
  readonly cpu: number;
  /** Event-loop delay over the last one or two delay windows. */
  readonly eventLoopDelay: EventLoopDelayStats;
  readonly heap: HeapStats;
  /** Resident set size in bytes. */
  readonly rss: number;
  /** Readings of the registered {@link UtilisationProbe}s, by name. */
  readonly probes: Readonly<Record<string, unknown>>;
}

/**
 * Adds a reading to every sample, on the monitor's timer, instead of starting a second timer.
 * `read()` must be cheap and must not throw (a throwing probe is reported once and its reading is `undefined`).
 *
 * @publicApi
 */
export interface UtilisationProbe<T = unknown> {
  readonly name: string;
  read(): T;
}
