export { WsBackpressureModule } from './ws-backpressure.module';
export {
  WS_BACKPRESSURE_OPTIONS_TYPE,
  WS_BACKPRESSURE_ASYNC_OPTIONS_TYPE,
} from './ws-backpressure-module-definition';
export {
  BackpressuredWsAdapter,
  type BackpressuredWsAdapterOptions,
  type BackpressuredGatewayOptions,
  type WsMessageParser,
} from './backpressured-ws.adapter';
export { GuardedWebSocket } from './guarded-web-socket';
export { WsBackpressureService } from './ws-backpressure.service';
export { WsBackpressureHealthIndicator } from './ws-backpressure.health';
export { OverflowPolicy, type OverflowContext } from './overflow-policy.interface';
export { DefaultOverflowPolicy } from './default-overflow.policy';
export { WsMessageDroppedError } from './ws-message-dropped.error';
export {
  resolveWsBackpressureOptions,
  resolveGatewayBackpressure,
  nestEventKey,
} from './ws-backpressure-options.validation';
export {
  STEADY_WS_BACKPRESSURE_OPTIONS,
  OVERFLOW_ACTIONS,
  QUEUE_FULL_ACTIONS,
  EVICTION_REASONS,
  EVICTION_CLOSE_CODES,
  DROP_REASONS,
  WRITABILITY_CHANGED_EVENT,
  MALFORMED_MESSAGE_CLOSE_CODE,
} from './ws-backpressure.constants';
export type {
  WsBackpressureModuleOptions,
  WsBackpressureGatewayOptions,
  ResolvedWsBackpressureOptions,
  ResolvedGatewayBackpressure,
  GuardedSendOptions,
  SendResult,
  OverflowAction,
  QueueFullAction,
  EvictionReason,
  DropReason,
} from './ws-backpressure-options.interface';
export type {
  WritabilityChange,
  EvictionEvent,
  WsBackpressureStats,
  BroadcastResult,
} from './ws-backpressure-events.interface';
