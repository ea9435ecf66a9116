import type { Registry } from 'prom-client';

/**
 * Options of {@link MetricsModule}. `path` and `isGlobal` are module-definition extras: they are known when the
 * module is declared, so they are passed beside the options in `forRootAsync` too.
 *
 * @publicApi
 */
export interface MetricsModuleOptions {
  /** Collect Node's default metrics (`process_*`, `nodejs_*`) into the registry. Default `true`. */
  defaultMetrics?: boolean;
  /** Prefix of the default metrics. Default `''` (the conventional `process_` / `nodejs_` names). */
  defaultMetricsPrefix?: string;
  /** Labels added to every series, e.g. `{ service: 'mail' }`. Names must be valid label names. */
  defaultLabels?: Record<string, string>;
  /** Expose the `@steady/core` signal (in-flight, ELU, loop delay, CPU, heap) when the core module is present. Default `true`. */
  coreMetrics?: boolean;
  /** Use this registry instead of a new one (e.g. to share prom-client's global `register`). */
  registry?: Registry;
}

/** Extras of the module definition. */
export interface MetricsModuleExtras {
  /** Global module (default `true`), so every library can inject the sink. */
  isGlobal?: boolean;
  /** Path of the Prometheus endpoint, or `false` to serve it yourself with `MetricsService.render()`. Default `/metrics`. */
  path?: string | false;
}

export interface ResolvedMetricsOptions {
  defaultMetrics: boolean;
  defaultMetricsPrefix: string;
  defaultLabels: Record<string, string>;
  coreMetrics: boolean;
  registry: Registry | undefined;
}
