import { OptionValidator } from '@steady/core';
import { LOAD_SHEDDING_MODULE_NAME, PRIORITIES } from './load-shedding.constants';
import type {
  LoadSheddingModuleOptions,
  ResolvedLoadSheddingOptions,
  ShedBand,
} from './load-shedding-options.interface';
import type { ShedSignal } from './shed-signal.interface';

const KNOWN: readonly (keyof LoadSheddingModuleOptions)[] = [
  'enabled',
  'shadow',
  'global',
  'maxInFlight',
  'inFlight',
  'eventLoop',
  'heap',
  'signals',
  'criticalReserve',
  'priorityHeader',
  'priorityResolver',
  'defaultPriority',
  'bypass',
  'skipOpsEndpoints',
  'statusCode',
  'retryAfter',
  'message',
];
const HEADER = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const SIGNAL_NAME = /^[a-z][a-z0-9_]*$/;
const RESERVED_REASONS = ['in_flight', 'event_loop', 'heap'];

/** Applies defaults and validates; throws a `SteadyOptionsError` naming the first bad option. */
export function resolveLoadSheddingOptions(
  options: LoadSheddingModuleOptions = {},
  injectedSignals: ShedSignal[] = [],
): ResolvedLoadSheddingOptions {
  const v = new OptionValidator(LOAD_SHEDDING_MODULE_NAME);
  v.knownKeys(options, KNOWN);
  const band = (
    name: string,
    value: unknown,
    soft: number,
    hard: number,
    max: number,
  ): ShedBand | false => {
    if (value === false) return false;
    v.check(
      value === undefined || (typeof value === 'object' && value !== null),
      name,
      'an object { soft, hard } or false',
      value,
    );
    const b = (value ?? {}) as Partial<ShedBand>;
    v.knownKeys(b, ['soft', 'hard']);
    const s = v.number(`${name}.soft`, b.soft, soft, { greaterThan: 0, max });
    const h = v.number(`${name}.hard`, b.hard, Math.max(hard, s + 0.01), { greaterThan: 0, max });
    v.check(s < h, `${name}.soft`, `less than ${name}.hard (${h})`, s);
    return { soft: s, hard: h };
  };

  let eventLoop: ResolvedLoadSheddingOptions['eventLoop'] = false;
  if (options.eventLoop !== false) {
    const el = options.eventLoop ?? {};
    v.check(typeof el === 'object' && el !== null, 'eventLoop', 'an object or false', el);
    v.knownKeys(el, [
      'eluTarget',
      'delayThresholdMs',
      'smoothing',
      'minAdmitFraction',
      'minRate',
      'openLoopOnly',
      'turnBudgetMs',
    ]);
    eventLoop = {
      eluTarget:
        el.eluTarget === false
          ? false
          : v.number('eventLoop.eluTarget', el.eluTarget, 0.92, { min: 0.5, max: 0.99 }),
      delayThresholdMs:
        el.delayThresholdMs === false
          ? false
          : v.number('eventLoop.delayThresholdMs', el.delayThresholdMs, 50, {
              min: 5,
              max: 60_000,
              unit: 'ms',
            }),
      smoothing: v.number('eventLoop.smoothing', el.smoothing, 0.5, { greaterThan: 0, max: 1 }),
      minAdmitFraction: v.number('eventLoop.minAdmitFraction', el.minAdmitFraction, 0.02, {
        min: 0,
        max: 0.5,
      }),
      minRate: v.number('eventLoop.minRate', el.minRate, 50, {
        min: 0,
        max: 100_000,
        unit: 'req/s',
      }),
      openLoopOnly: v.boolean('eventLoop.openLoopOnly', el.openLoopOnly, true),
      turnBudgetMs:
        el.turnBudgetMs === false
          ? false
          : v.number('eventLoop.turnBudgetMs', el.turnBudgetMs, 5, {
              min: 1,
              max: 60_000,
              unit: 'ms',
            }),
    };
  }

  const signals = [...(options.signals ?? []), ...injectedSignals];
  v.check(
    Array.isArray(options.signals ?? []),
    'signals',
    'an array of ShedSignal',
    options.signals,
  );
  const names = new Set<string>();
  signals.forEach((s, i) => {
    const at = `signals[${i}]`;
    v.check(
      typeof s === 'object' && s !== null && typeof s.read === 'function',
      at,
      'a ShedSignal { name, soft, hard, read() }',
      s,
    );
    v.string(`${at}.name`, s.name, '', SIGNAL_NAME, 'lower snake case, e.g. "db_pool"');
    v.check(
      !RESERVED_REASONS.includes(s.name) && !names.has(s.name),
      `${at}.name`,
      'a unique name other than in_flight, event_loop, heap',
      s.name,
    );
    names.add(s.name);
    v.number(`${at}.soft`, s.soft, 0, { min: 0 });
    v.number(`${at}.hard`, s.hard, 0, { greaterThan: 0 });
    v.check(s.soft < s.hard, `${at}.soft`, `less than ${at}.hard (${s.hard})`, s.soft);
  });

  const retry = options.retryAfter ?? {};
  v.check(
    typeof retry === 'object' && retry !== null,
    'retryAfter',
    'an object { base, jitter }',
    retry,
  );
  v.knownKeys(retry, ['base', 'jitter']);

  return {
    enabled: v.boolean('enabled', options.enabled, true),
    shadow: v.boolean('shadow', options.shadow, false),
    global: v.boolean('global', options.global, true),
    maxInFlight: v.number('maxInFlight', options.maxInFlight, 512, {
      min: 1,
      max: 1_000_000,
      integer: true,
    }),
    inFlight: band('inFlight', options.inFlight, 0.85, 1, 10),
    eventLoop,
    heap: band('heap', options.heap, 0.9, 0.98, 1),
    signals,
    criticalReserve: v.number('criticalReserve', options.criticalReserve, 2, { min: 0, max: 10 }),
    priorityHeader:
      options.priorityHeader === false
        ? false
        : v
            .string(
              'priorityHeader',
              options.priorityHeader,
              'x-steady-priority',
              HEADER,
              'an HTTP header name',
            )
            .toLowerCase(),
    priorityResolver: v.function('priorityResolver', options.priorityResolver),
    defaultPriority: v.oneOf('defaultPriority', options.defaultPriority, 'normal', PRIORITIES),
    bypass: v.function('bypass', options.bypass),
    skipOpsEndpoints: v.boolean('skipOpsEndpoints', options.skipOpsEndpoints, true),
    statusCode: statusCode(v, options.statusCode),
    retryAfter: {
      base: v.number('retryAfter.base', retry.base, 1, {
        min: 0,
        max: 86_400,
        integer: true,
        unit: 's',
      }),
      jitter: v.number('retryAfter.jitter', retry.jitter, 2, {
        min: 0,
        max: 3600,
        integer: true,
        unit: 's',
      }),
    },
    message: v.string('message', options.message, 'Server is at capacity, retry later'),
  };
}

function statusCode(v: OptionValidator, status: unknown): 429 | 503 {
  v.check(
    status === undefined || status === 429 || status === 503,
    'statusCode',
    '429 or 503',
    status,
  );
  return status === 503 ? 503 : 429;
}
