import { describe, expect, it } from 'vitest';
import { GeneratorConfigError, normalizeGeneratorConfig, parseCliConfig } from './generator-config';
import { ForbiddenTargetError, parseLoopbackTarget } from './host';
import { runLoad } from './load-generator';

const base = { mode: 'open', request: { path: '/' }, durationMs: 100, deadlineMs: 50, rate: 10 };

describe('target host refusal', () => {
  it('accepts only http://127.0.0.1:<port>', () => {
    expect(parseLoopbackTarget('http://127.0.0.1:3000')).toEqual({
      host: '127.0.0.1',
      port: 3000,
      origin: 'http://127.0.0.1:3000',
    });
  });

  it.each([
    'http://10.0.0.1:80',
    'http://192.168.1.10:3000',
    'http://8.8.8.8:80',
    'http://example.com:80',
    'http://localhost:3000',
    'http://127.0.0.2:3000',
    'http://[::1]:3000',
    'http://0.0.0.0:3000',
    'https://127.0.0.1:3000',
    'http://127.0.0.1',
    'http://user:pw@127.0.0.1:3000',
    'http://127.0.0.1:3000/path',
    'not a url',
  ])('refuses %s', (target) => {
    expect(() => parseLoopbackTarget(target)).toThrow(ForbiddenTargetError);
    expect(() => normalizeGeneratorConfig({ ...base, target })).toThrow(ForbiddenTargetError);
  });

  it('runLoad refuses before sending anything', async () => {
    await expect(runLoad({ ...base, mode: 'open', target: 'http://10.1.2.3:80' })).rejects.toThrow(
      ForbiddenTargetError,
    );
  });
});

describe('generator config', () => {
  it('fills defaults: maxOutstanding covers twice rate x deadline', () => {
    const c = normalizeGeneratorConfig({
      ...base,
      target: 'http://127.0.0.1:1',
      rate: 2000,
      deadlineMs: 1000,
    });
    expect(c.maxOutstanding).toBe(2 * 2000 + 64);
    expect(c.request.method).toBe('GET');
    expect(c.hardTimeoutMs).toBe(100 + 1000 + 5000);
    const closed = normalizeGeneratorConfig({
      mode: 'closed',
      target: 'http://127.0.0.1:1',
      request: { path: '/x', method: 'post' },
      durationMs: 100,
      deadlineMs: 50,
    });
    expect(closed).toMatchObject({ connections: 16, maxSockets: 16, rate: null });
    expect(closed.request.method).toBe('POST');
  });

  it('is idempotent', () => {
    const once = normalizeGeneratorConfig({ ...base, target: 'http://127.0.0.1:1' });
    expect(normalizeGeneratorConfig(once)).toEqual(once);
  });

  it('rejects unbounded or malformed configs', () => {
    const t = { ...base, target: 'http://127.0.0.1:1' };
    expect(() => normalizeGeneratorConfig({ ...t, durationMs: 3_600_000 })).toThrow(/durationMs/);
    expect(() => normalizeGeneratorConfig({ ...t, rate: 0 })).toThrow(/rate/);
    expect(() => normalizeGeneratorConfig({ ...t, rate: undefined })).toThrow(/rate/);
    expect(() => normalizeGeneratorConfig({ ...t, mode: 'burst' })).toThrow(/mode/);
    expect(() => normalizeGeneratorConfig({ ...t, request: { path: 'x' } })).toThrow(/path/);
    expect(() => normalizeGeneratorConfig(null)).toThrow(GeneratorConfigError);
  });

  it('CLI takes exactly one JSON argument', () => {
    expect(parseCliConfig(['{"a":1}'])).toEqual({ a: 1 });
    expect(() => parseCliConfig([])).toThrow(/usage/);
    expect(() => parseCliConfig(['{'])).toThrow(/not valid JSON/);
  });
});
