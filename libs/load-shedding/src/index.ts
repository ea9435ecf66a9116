export { LoadSheddingModule } from './load-shedding.module';
export {
  LOAD_SHEDDING_OPTIONS_TYPE,
  LOAD_SHEDDING_ASYNC_OPTIONS_TYPE,
} from './load-shedding-module-definition';
export {
  LoadSheddingService,
  type ShedVerdict,
  type LoadSheddingState,
} from './load-shedding.service';
export { ShedGuard } from './shed.guard';
export { Shed } from './shed.decorator';
export { SkipShed } from './skip-shed.decorator';
export { ShedException } from './shed.exception';
export { ShedSignal } from './shed-signal.interface';
export { LoadSheddingHealthIndicator } from './load-shedding.health';
export {
  ShedPolicy,
  bandLevel,
  type ShedDecision,
  type PolicySample,
  type PolicyState,
  type ShedReason,
} from './shed.policy';
export { resolveLoadSheddingOptions } from './load-shedding-options.validation';
export { STEADY_LOAD_SHEDDING_OPTIONS, PRIORITIES } from './load-shedding.constants';
export type {
  LoadSheddingModuleOptions,
  ResolvedLoadSheddingOptions,
  Priority,
  ShedBand,
  ShedRouteOptions,
  EventLoopShedOptions,
} from './load-shedding-options.interface';
