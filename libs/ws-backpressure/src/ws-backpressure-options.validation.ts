import { OptionValidator } from '@steady/core';
import {
  KIB,
  MIB,
  OVERFLOW_ACTIONS,
  QUEUE_FULL_ACTIONS,
  WS_BACKPRESSURE_MODULE_NAME,
} from './ws-backpressure.constants';
import type {
  ResolvedGatewayBackpressure,
  ResolvedWsBackpressureOptions,
  WsBackpressureGatewayOptions,
  WsBackpressureModuleOptions,
} from './ws-backpressure-options.interface';

const GIB = 1024 * MIB;

const GATEWAY_KEYS: readonly (keyof WsBackpressureGatewayOptions)[] = [
  'highWaterMark',
  'lowWaterMark',
  'maxBufferedBytes',
  'overflow',
  'coalesceKey',
  'maxQueuedMessages',
  'maxQueuedBytes',
  'queueFull',
  'slowConsumerTimeoutMs',
  'pauseInboundWhenUnwritable',
  'handlerConcurrency',
  'maxPayload',
  'perMessageDeflate',
  'heartbeatIntervalMs',
  'closeTimeoutMs',
  'closeOnMalformedMessage',
];
const MODULE_KEYS: readonly (keyof WsBackpressureModuleOptions)[] = [
  ...GATEWAY_KEYS,
  'globalMaxBufferedBytes',
  'overflowPolicy',
];

/**
 * The key of a Nest-shaped JSON message, `{"event":"<key>",…}`, read without parsing; `undefined` otherwise.
 * `JSON.stringify({ event, data })` always starts this way.
 */
export function nestEventKey(data: unknown): string | undefined {
  if (typeof data !== 'string' || !data.startsWith('{"event":"')) return undefined;
  const match = /^\{"event":"((?:[^"\\]|\\.){0,256})"/.exec(data);
  return match ? match[1] : undefined;
}

/** Applies defaults and validates the module options; throws a `SteadyOptionsError` naming the first bad one. */
export function resolveWsBackpressureOptions(
  options: WsBackpressureModuleOptions = {},
): ResolvedWsBackpressureOptions {
  const v = new OptionValidator(WS_BACKPRESSURE_MODULE_NAME);
  v.check(typeof options === 'object' && options !== null, 'options', 'an options object', options);
  v.knownKeys(options, MODULE_KEYS);
  const { globalMaxBufferedBytes, overflowPolicy, ...gatewayDefaults } = options;
  const gateway = resolveGatewayFields(v, '', gatewayDefaults);
  if (overflowPolicy !== undefined) {
    v.check(
      typeof overflowPolicy === 'object' &&
        overflowPolicy !== null &&
        typeof overflowPolicy.onOverflow === 'function',
      'overflowPolicy',
      'an OverflowPolicy { onOverflow(context) }',
      overflowPolicy,
    );
  }
  return {
    ...gateway,
    globalMaxBufferedBytes:
      globalMaxBufferedBytes === false
        ? false
        : v.number('globalMaxBufferedBytes', globalMaxBufferedBytes, 128 * MIB, {
            min: KIB,
            max: 64 * GIB,
            integer: true,
            unit: 'bytes',
          }),
    overflowPolicy,
    gatewayDefaults,
  };
}

/**
 * The settings of one gateway: its `@WebSocketGateway({ backpressure })` over the module's defaults. Throws a
 * `SteadyOptionsError` naming the gateway and the option.
 */
export function resolveGatewayBackpressure(
  defaults: WsBackpressureGatewayOptions,
  gateway: WsBackpressureGatewayOptions | undefined,
  path: string,
): ResolvedGatewayBackpressure {
  const v = new OptionValidator(
    `${WS_BACKPRESSURE_MODULE_NAME}: @WebSocketGateway(${JSON.stringify(path)})`,
  );
  if (gateway !== undefined) {
    v.check(
      typeof gateway === 'object' && gateway !== null,
      'backpressure',
      'an object of gateway options',
      gateway,
    );
    for (const key of Object.keys(gateway)) {
      v.check(
        (GATEWAY_KEYS as readonly string[]).includes(key),
        `backpressure.${key}`,
        `a known gateway option (${GATEWAY_KEYS.join(', ')})`,
        (gateway as Record<string, unknown>)[key],
      );
    }
  }
  const merged: WsBackpressureGatewayOptions = { ...defaults };
  for (const [key, value] of Object.entries(gateway ?? {})) {
    if (value !== undefined) (merged as Record<string, unknown>)[key] = value;
  }
  return resolveGatewayFields(v, gateway === undefined ? '' : 'backpressure.', merged);
}

function resolveGatewayFields(
  v: OptionValidator,
  prefix: string,
  o: WsBackpressureGatewayOptions,
): ResolvedGatewayBackpressure {
  const name = (key: keyof WsBackpressureGatewayOptions) => `${prefix}${key}`;
  const bytes = (min: number, max: number) => ({ min, max, integer: true, unit: 'bytes' });
  const highWaterMark = v.number(name('highWaterMark'), o.highWaterMark, MIB, bytes(KIB, GIB));
  const lowWaterMark = v.number(
    name('lowWaterMark'),
    o.lowWaterMark,
    Math.floor(highWaterMark / 4),
    bytes(0, GIB),
  );
  v.check(
    lowWaterMark <= highWaterMark,
    name('lowWaterMark'),
    `at most highWaterMark (${highWaterMark})`,
    lowWaterMark,
  );
  const maxBufferedBytes = v.number(
    name('maxBufferedBytes'),
    o.maxBufferedBytes,
    Math.max(4 * MIB, 4 * highWaterMark),
    bytes(KIB, 4 * GIB),
  );
  v.check(
    maxBufferedBytes >= highWaterMark,
    name('maxBufferedBytes'),
    `at least highWaterMark (${highWaterMark})`,
    maxBufferedBytes,
  );
  const coalesceKey =
    v.function<(data: unknown) => string | undefined>(name('coalesceKey'), o.coalesceKey) ??
    nestEventKey;
  let perMessageDeflate = o.perMessageDeflate ?? false;
  v.check(
    typeof perMessageDeflate === 'boolean' ||
      (typeof perMessageDeflate === 'object' && perMessageDeflate !== null),
    name('perMessageDeflate'),
    'true, false or ws PerMessageDeflateOptions',
    perMessageDeflate,
  );
  if (typeof perMessageDeflate === 'object') perMessageDeflate = { ...perMessageDeflate };
  return {
    highWaterMark,
    lowWaterMark,
    maxBufferedBytes,
    overflow: v.oneOf(name('overflow'), o.overflow, 'drop', OVERFLOW_ACTIONS),
    coalesceKey,
    maxQueuedMessages: v.number(name('maxQueuedMessages'), o.maxQueuedMessages, 1024, {
      min: 1,
      max: 1_000_000,
      integer: true,
    }),
    maxQueuedBytes: v.number(name('maxQueuedBytes'), o.maxQueuedBytes, MIB, bytes(0, GIB)),
    queueFull: v.oneOf(name('queueFull'), o.queueFull, 'evict', QUEUE_FULL_ACTIONS),
    slowConsumerTimeoutMs:
      o.slowConsumerTimeoutMs === false
        ? false
        : v.number(name('slowConsumerTimeoutMs'), o.slowConsumerTimeoutMs, 5000, {
            min: 10,
            max: 3_600_000,
            integer: true,
            unit: 'ms',
          }),
    pauseInboundWhenUnwritable: v.boolean(
      name('pauseInboundWhenUnwritable'),
      o.pauseInboundWhenUnwritable,
      true,
    ),
    handlerConcurrency: v.number(name('handlerConcurrency'), o.handlerConcurrency, 16, {
      min: 1,
      max: 10_000,
      integer: true,
    }),
    maxPayload: v.number(name('maxPayload'), o.maxPayload, 64 * KIB, bytes(1, GIB)),
    perMessageDeflate,
    heartbeatIntervalMs:
      o.heartbeatIntervalMs === false
        ? false
        : v.number(name('heartbeatIntervalMs'), o.heartbeatIntervalMs, 30_000, {
            min: 10,
            max: 3_600_000,
            integer: true,
            unit: 'ms',
          }),
    closeTimeoutMs: v.number(name('closeTimeoutMs'), o.closeTimeoutMs, 2000, {
      min: 10,
      max: 60_000,
      integer: true,
      unit: 'ms',
    }),
    closeOnMalformedMessage: v.boolean(
      name('closeOnMalformedMessage'),
      o.closeOnMalformedMessage,
      true,
    ),
  };
}
