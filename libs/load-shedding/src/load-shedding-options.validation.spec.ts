import { resolveLoadSheddingOptions } from './load-shedding-options.validation';

describe('resolveLoadSheddingOptions', () => {
  it('defaults to the seed rule and a 429', () => {
    const o = resolveLoadSheddingOptions();
    expect(o).toMatchObject({
      enabled: true,
      shadow: false,
      global: true,
      maxInFlight: 512,
      inFlight: { soft: 0.85, hard: 1 },
      eventLoop: {
        eluTarget: 0.92,
        delayThresholdMs: 50,
        smoothing: 0.5,
        minAdmitFraction: 0.02,
        minRate: 50,
        openLoopOnly: true,
        turnBudgetMs: 5,
      },
      heap: { soft: 0.9, hard: 0.98 },
      statusCode: 429,
      priorityHeader: 'x-steady-priority',
      defaultPriority: 'normal',
      retryAfter: { base: 1, jitter: 2 },
    });
  });

  it.each([
    [
      { maxInFlight: 0 },
      'invalid option "maxInFlight": expected an integer >= 1 and <= 1000000, got 0',
    ],
    [
      { inFlight: { soft: 0.9, hard: 0.8 } },
      'invalid option "inFlight.soft": expected less than inFlight.hard (0.8), got 0.9',
    ],
    [
      { inFlight: { soft: 0 } },
      'invalid option "inFlight.soft": expected a number > 0 and <= 10, got 0',
    ],
    [
      { eventLoop: { eluTarget: 1.2 } },
      'invalid option "eventLoop.eluTarget": expected a number >= 0.5 and <= 0.99, got 1.2',
    ],
    [{ eventLoop: { smoothing: 0 } }, 'invalid option "eventLoop.smoothing"'],
    [{ statusCode: 500 }, 'invalid option "statusCode": expected 429 or 503, got 500'],
    [
      { defaultPriority: 'urgent' },
      'invalid option "defaultPriority": expected one of "critical", "normal", "sheddable", got "urgent"',
    ],
    [
      { priorityHeader: 'x priority' },
      'invalid option "priorityHeader": expected an HTTP header name',
    ],
    [{ retryAfter: { base: -1 } }, 'invalid option "retryAfter.base"'],
    [{ bypass: 'yes' }, 'invalid option "bypass": expected a function, got "yes"'],
    [{ maxInflight: 10 }, 'invalid option "maxInflight": expected a known option'],
    [
      { signals: [{ name: 'in_flight', soft: 0.5, hard: 1, read: () => 0 }] },
      'invalid option "signals[0].name"',
    ],
    [
      { signals: [{ name: 'Db', soft: 0.5, hard: 1, read: () => 0 }] },
      'invalid option "signals[0].name": expected lower snake case',
    ],
    [
      { signals: [{ name: 'db', soft: 1, hard: 1, read: () => 0 }] },
      'invalid option "signals[0].soft"',
    ],
    [{ eventLoop: { openLoopOnly: 'yes' } }, 'invalid option "eventLoop.openLoopOnly"'],
    [
      { eventLoop: { turnBudgetMs: 0 } },
      'invalid option "eventLoop.turnBudgetMs": expected a number >= 1 and <= 60000 ms, got 0',
    ],
  ])('rejects %j', (options, message) => {
    expect(() => resolveLoadSheddingOptions(options as never)).toThrow(
      `@steady/load-shedding: ${message}`,
    );
  });

  it('accepts 503, turned-off signals and injected signals', () => {
    const signal = { name: 'queue', soft: 0.5, hard: 1, read: () => 0 };
    const o = resolveLoadSheddingOptions(
      { statusCode: 503, heap: false, eventLoop: false, inFlight: false },
      [signal],
    );
    expect(o).toMatchObject({
      statusCode: 503,
      heap: false,
      eventLoop: false,
      inFlight: false,
      signals: [signal],
    });
  });
});
