/** Injection token of the resolved {@link WsBackpressureModuleOptions}. @publicApi */
export const STEADY_WS_BACKPRESSURE_OPTIONS = 'STEADY:WS_BACKPRESSURE:MODULE_OPTIONS';

export const WS_BACKPRESSURE_MODULE_NAME = '@steady/ws-backpressure';

/** What can happen to a message sent while its client is unwritable. @publicApi */
export const OVERFLOW_ACTIONS = ['drop', 'coalesce', 'queue', 'evict'] as const;

/** What a full queue (or coalesce map) does with the next message. @publicApi */
export const QUEUE_FULL_ACTIONS = ['evict', 'drop'] as const;

/** Event emitted on a `GuardedWebSocket` when its writability changes: `(writable, bufferedAmount)`. @publicApi */
export const WRITABILITY_CHANGED_EVENT = 'writabilityChanged';

/** Why a client was evicted (terminated). @publicApi */
export const EVICTION_REASONS = [
  'slow_consumer',
  'overflow',
  'queue_full',
  'global_budget',
  'heartbeat',
] as const;

/**
 * The close code logged (and reported in the eviction event) for each eviction reason. The client itself sees
 * 1006: an evicted client is terminated without a close frame, because that frame would wait behind the very
 * bytes it is not reading.
 */
export const EVICTION_CLOSE_CODES = {
  slow_consumer: 1008,
  overflow: 1008,
  queue_full: 1008,
  global_budget: 1013,
  heartbeat: 1001,
} as const;

/** Why a message was not delivered. @publicApi */
export const DROP_REASONS = ['overflow', 'queue_full', 'too_large', 'closed'] as const;

/** Close code for a text message that is not a `{ "event": string, "data"?: … }` JSON object. */
export const MALFORMED_MESSAGE_CLOSE_CODE = 1007;

export const KIB = 1024;
export const MIB = 1024 * 1024;
