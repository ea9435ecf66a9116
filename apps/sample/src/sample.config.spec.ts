import { loadSampleConfig } from './sample.config';

describe('loadSampleConfig', () => {
  it('has in-memory defaults', () => {
    expect(loadSampleConfig({})).toEqual({
      port: 3000,
      host: undefined,
      adapter: 'express',
      logLevel: 'log',
      maxBodyBytes: 262144,
      maxMails: 100000,
      shedding: { enabled: true, shadow: false, maxInFlight: 64, eventLoop: true },
      spamScanner: { poolSize: 8, latencyMs: 20, queueLimit: 1000, timeoutMs: 5000 },
      drain: {
        lbDelayMs: 0,
        lbFall: 2,
        lbIntervalMs: 1000,
        lbMarginMs: 500,
        lbProbes: 0,
        deadlineMs: 25000,
        agentPort: undefined,
        agentIntervalMs: 2000,
        adminToken: undefined,
      },
      ws: {
        backpressure: true,
        highWaterMark: 1048576,
        lowWaterMark: 262144,
        slowConsumerTimeoutMs: 5000,
        heartbeatIntervalMs: 30000,
        globalMaxBufferedBytes: 134217728,
      },
      explain: { recentMs: 30000, snapshotIntervalMs: 2000 },
    });
  });

  it('reads the EXPLAIN_* variables', () => {
    expect(
      loadSampleConfig({ EXPLAIN_RECENT_MS: '5000', EXPLAIN_SNAPSHOT_INTERVAL_MS: '500' }).explain,
    ).toEqual({ recentMs: 5000, snapshotIntervalMs: 500 });
    expect(() => loadSampleConfig({ EXPLAIN_RECENT_MS: '10' })).toThrow(
      'apps/sample: invalid option "EXPLAIN_RECENT_MS": expected an integer >= 1000 and <= 3600000 ms, got 10',
    );
  });

  it('reads the WebSocket variables; the low mark defaults to a quarter of the high one', () => {
    expect(
      loadSampleConfig({ WS_HIGH_WATER_MARK: '65536', WS_BACKPRESSURE: 'false' }).ws,
    ).toMatchObject({ backpressure: false, highWaterMark: 65536, lowWaterMark: 16384 });
    expect(() =>
      loadSampleConfig({ WS_HIGH_WATER_MARK: '65536', WS_LOW_WATER_MARK: '65537' }),
    ).toThrow(
      'apps/sample: invalid option "WS_LOW_WATER_MARK": expected an integer >= 0 and <= 65536 bytes, got 65537',
    );
    expect(() => loadSampleConfig({ WS_BACKPRESSURE: 'maybe' })).toThrow(
      'invalid option "WS_BACKPRESSURE": expected true or false, got "maybe"',
    );
  });

  it('reads the drain variables', () => {
    const c = loadSampleConfig({
      DRAIN_LB_FALL: '3',
      DRAIN_LB_INTERVAL_MS: '200',
      DRAIN_LB_PROBES: '3',
      DRAIN_AGENT_PORT: '9100',
      DRAIN_ADMIN_TOKEN: 'a-long-enough-token',
    });
    expect(c.drain).toMatchObject({
      lbFall: 3,
      lbIntervalMs: 200,
      lbProbes: 3,
      agentPort: 9100,
      adminToken: 'a-long-enough-token',
    });
  });

  it('reads the environment', () => {
    const c = loadSampleConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      STEADY_ADAPTER: 'fastify',
      SPAM_SCANNER_POOL_SIZE: '2',
      SPAM_SCANNER_LATENCY_MS: '1500',
    });
    expect([c.port, c.host, c.adapter, c.spamScanner.poolSize, c.spamScanner.latencyMs]).toEqual([
      0,
      '127.0.0.1',
      'fastify',
      2,
      1500,
    ]);
  });

  it.each([
    [
      { PORT: 'http' },
      'apps/sample: invalid option "PORT": expected an integer >= 0 and <= 65535, got "http"',
    ],
    [
      { STEADY_ADAPTER: 'koa' },
      'invalid option "STEADY_ADAPTER": expected one of "express", "fastify", got "koa"',
    ],
    [
      { SPAM_SCANNER_POOL_SIZE: '0' },
      'invalid option "SPAM_SCANNER_POOL_SIZE": expected an integer >= 1',
    ],
    [{ MAX_BODY_BYTES: '1.5' }, 'invalid option "MAX_BODY_BYTES"'],
    [
      { SHED_ENABLED: 'maybe' },
      'invalid option "SHED_ENABLED": expected true or false, got "maybe"',
    ],
    [{ SHED_MAX_IN_FLIGHT: '0' }, 'invalid option "SHED_MAX_IN_FLIGHT"'],
    [
      { DRAIN_LB_INTERVAL_MS: '10000', DRAIN_DEADLINE_MS: '20000' },
      'invalid option "DRAIN_DEADLINE_MS": expected more than the load-balancer wait (20500 ms',
    ],
    [{ DRAIN_ADMIN_TOKEN: 'short' }, 'invalid option "DRAIN_ADMIN_TOKEN": expected at least 16'],
    [{ DRAIN_AGENT_PORT: 'x' }, 'invalid option "DRAIN_AGENT_PORT"'],
  ])('names the bad variable: %j', (env, message) => {
    expect(() => loadSampleConfig(env)).toThrow(message);
  });
});
