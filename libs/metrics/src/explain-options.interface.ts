import type { ExplainDownstream, ExplainThresholds } from './explain.rules';

/**
 * Options of {@link ExplainModule}.
 *
 * @publicApi
 */
export interface ExplainModuleOptions {
  /** How often a snapshot of the signals is kept, driven by the core monitor's samples (no timer of its own). Default 2000 ms. */
  snapshotIntervalMs?: number;
  /** How much history is kept and read by the scale-up advisor. Default 600 000 ms (10 min). */
  windowMs?: number;
  /** Rule thresholds; see {@link ExplainThresholds} for each default. */
  thresholds?: Partial<ExplainThresholds>;
  /** Latency histograms (seconds) of downstreams other than `@steady/http-client`, e.g. a DB or a pool. */
  downstreams?: readonly ExplainDownstream[];
  /** Record `steady_http_server_request_duration_seconds` and `steady_http_server_request_size_bytes` per route. Default `true`. */
  httpMetrics?: boolean;
}

/** Extras of the module definition. */
export interface ExplainModuleExtras {
  /** Path of the explain endpoint, or `false` for none (call `ExplainService.report()` yourself). Default `/ops/explain`. */
  path?: string | false;
}

export interface ResolvedExplainOptions {
  snapshotIntervalMs: number;
  windowMs: number;
  thresholds: ExplainThresholds;
  downstreams: readonly ExplainDownstream[];
  httpMetrics: boolean;
}
