/**
 * Options of {@link SteadyCoreModule}.
 *
 * @publicApi
 */
export interface SteadyCoreModuleOptions {
  /** Period of the one sampling timer, in ms. Default `100`; 10..60000. */
  sampleIntervalMs?: number;
  /**
   * Event-loop delay percentiles cover the last one to two windows of this length, in ms.
   * Default `1000`; at least `sampleIntervalMs`, at most 60000.
   */
  eventLoopDelayWindowMs?: number;
  /** Resolution of `monitorEventLoopDelay`, in ms. Default `10`; 1..1000. */
  eventLoopDelayResolutionMs?: number;
  /**
   * Attach the in-flight tracker to the Nest HTTP server automatically at module init. Default `true`.
   * Set `false` to call `InFlightTracker.attach(server)` yourself.
   */
  autoAttach?: boolean;
}

/** Options after defaults and validation. */
export type ResolvedSteadyCoreOptions = Required<SteadyCoreModuleOptions>;
