import {
  nestEventKey,
  resolveGatewayBackpressure,
  resolveWsBackpressureOptions,
} from './ws-backpressure-options.validation';

const KIB = 1024;
const MIB = 1024 * KIB;

describe('resolveWsBackpressureOptions', () => {
  it('defaults to the field note: 1 MiB / 256 KiB marks, drop, 5 s eviction, 64 KiB inbound, no deflate', () => {
    const o = resolveWsBackpressureOptions();
    expect(o).toMatchObject({
      highWaterMark: MIB,
      lowWaterMark: 256 * KIB,
      maxBufferedBytes: 4 * MIB,
      overflow: 'drop',
      maxQueuedMessages: 1024,
      maxQueuedBytes: MIB,
      queueFull: 'evict',
      slowConsumerTimeoutMs: 5000,
      pauseInboundWhenUnwritable: true,
      handlerConcurrency: 16,
      maxPayload: 64 * KIB,
      perMessageDeflate: false,
      heartbeatIntervalMs: 30_000,
      closeTimeoutMs: 2000,
      closeOnMalformedMessage: true,
      globalMaxBufferedBytes: 128 * MIB,
      overflowPolicy: undefined,
    });
    expect(o.coalesceKey).toBe(nestEventKey);
  });

  it('derives the low mark and the hard ceiling from the high mark', () => {
    expect(resolveWsBackpressureOptions({ highWaterMark: 64 * KIB })).toMatchObject({
      lowWaterMark: 16 * KIB,
      maxBufferedBytes: 4 * MIB,
    });
    expect(resolveWsBackpressureOptions({ highWaterMark: 8 * MIB })).toMatchObject({
      lowWaterMark: 2 * MIB,
      maxBufferedBytes: 32 * MIB,
    });
  });

  it('accepts low == high (no hysteresis), false for the timers and the budget', () => {
    expect(
      resolveWsBackpressureOptions({
        highWaterMark: 64 * KIB,
        lowWaterMark: 64 * KIB,
        slowConsumerTimeoutMs: false,
        heartbeatIntervalMs: false,
        globalMaxBufferedBytes: false,
      }),
    ).toMatchObject({
      lowWaterMark: 64 * KIB,
      slowConsumerTimeoutMs: false,
      heartbeatIntervalMs: false,
      globalMaxBufferedBytes: false,
    });
  });

  it.each([
    [
      { highWaterMark: 1 * MIB, lowWaterMark: 2 * MIB },
      'invalid option "lowWaterMark": expected at most highWaterMark (1048576), got 2097152',
    ],
    [
      { highWaterMark: 100 },
      'invalid option "highWaterMark": expected an integer >= 1024 and <= 1073741824 bytes, got 100',
    ],
    [
      { highWaterMark: 2 * MIB, maxBufferedBytes: MIB },
      'invalid option "maxBufferedBytes": expected at least highWaterMark (2097152), got 1048576',
    ],
    [
      { overflow: 'block' },
      'invalid option "overflow": expected one of "drop", "coalesce", "queue", "evict", got "block"',
    ],
    [{ queueFull: 'queue' }, 'invalid option "queueFull": expected one of "evict", "drop"'],
    [{ slowConsumerTimeoutMs: 0 }, 'invalid option "slowConsumerTimeoutMs"'],
    [{ heartbeatIntervalMs: true }, 'invalid option "heartbeatIntervalMs"'],
    [{ handlerConcurrency: 0 }, 'invalid option "handlerConcurrency"'],
    [{ maxPayload: 0 }, 'invalid option "maxPayload"'],
    [{ globalMaxBufferedBytes: 10 }, 'invalid option "globalMaxBufferedBytes"'],
    [{ coalesceKey: 'event' }, 'invalid option "coalesceKey": expected a function'],
    [{ overflowPolicy: {} }, 'invalid option "overflowPolicy": expected an OverflowPolicy'],
    [{ perMessageDeflate: 'yes' }, 'invalid option "perMessageDeflate"'],
    [{ highWatermark: MIB }, 'invalid option "highWatermark": expected a known option'],
  ])('rejects %j', (options, message) => {
    expect(() => resolveWsBackpressureOptions(options as never)).toThrow(
      `@steady/ws-backpressure: ${message}`,
    );
  });
});

describe('resolveGatewayBackpressure', () => {
  it('resolves a gateway against the module defaults', () => {
    const g = resolveGatewayBackpressure(
      { highWaterMark: 512 * KIB, overflow: 'queue' },
      {
        overflow: 'coalesce',
        lowWaterMark: 0,
      },
      '/feed',
    );
    expect(g).toMatchObject({ highWaterMark: 512 * KIB, lowWaterMark: 0, overflow: 'coalesce' });
    // a gateway that only raises the high mark gets the derived low mark
    expect(resolveGatewayBackpressure({}, { highWaterMark: 4 * MIB }, '/x').lowWaterMark).toBe(MIB);
  });

  it('names the gateway and the option', () => {
    expect(() =>
      resolveGatewayBackpressure({ lowWaterMark: 256 * KIB }, { highWaterMark: 128 * KIB }, '/n'),
    ).toThrow(
      '@steady/ws-backpressure: @WebSocketGateway("/n"): invalid option "backpressure.lowWaterMark": expected at most highWaterMark (131072), got 262144',
    );
    expect(() =>
      resolveGatewayBackpressure({}, { globalMaxBufferedBytes: 1 } as never, '/n'),
    ).toThrow(
      'invalid option "backpressure.globalMaxBufferedBytes": expected a known gateway option',
    );
  });
});

describe('nestEventKey', () => {
  it.each([
    ['{"event":"mail","data":{"id":1}}', 'mail'],
    ['{"event":"a\\"b","data":1}', 'a\\"b'],
    ['{"data":1,"event":"x"}', undefined],
    ['not json', undefined],
    [Buffer.from('{"event":"x"}'), undefined],
  ])('%s -> %s', (data, key) => {
    expect(nestEventKey(data)).toBe(key);
  });
});
