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
  ])('names the bad variable: %j', (env, message) => {
    expect(() => loadSampleConfig(env)).toThrow(message);
  });
});
