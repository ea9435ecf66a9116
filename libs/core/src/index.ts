export { SteadyCoreModule } from './core.module';
export { STEADY_CORE_OPTIONS_TYPE, STEADY_CORE_ASYNC_OPTIONS_TYPE } from './core-module-definition';
export { STEADY_CORE_OPTIONS, STEADY_OPS_ENDPOINT } from './core.constants';
export type { SteadyCoreModuleOptions, ResolvedSteadyCoreOptions } from './core-options.interface';
export { resolveCoreOptions } from './core-options.validation';
export { InFlightTracker, type InFlightRequest, type AdmissionHook } from './in-flight.tracker';
export { UtilisationMonitor } from './utilisation.monitor';
export type {
  UtilisationSample,
  UtilisationProbe,
  EventLoopDelayStats,
  HeapStats,
} from './utilisation-sample.interface';
export { OptionValidator, type NumberRange } from './option-validation';
export { SteadyOptionsError } from './steady-options.error';
export {
  detectAdapter,
  toNodeRequest,
  toNodeResponse,
  type SteadyAdapterType,
} from './http-adapter.util';
export {
  MetricsSink,
  type MetricLabels,
  type CounterDefinition,
  type GaugeDefinition,
  type HistogramDefinition,
  type SteadyCounter,
  type SteadyGauge,
  type SteadyHistogram,
} from './metrics-sink.interface';
export { OpsEndpoint } from './ops-endpoint.decorator';
export { mirrorCounter, LabelledCounts } from './metrics-sink.util';
