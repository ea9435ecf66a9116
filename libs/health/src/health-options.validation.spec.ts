import { SteadyOptionsError } from '@steady/core';
import { resolveHealthOptions, resolveHealthPaths } from './health-options.validation';

describe('resolveHealthOptions', () => {
  it('defaults to HAProxy default checks (inter 2 s, fall 3) and a 25 s deadline', () => {
    const o = resolveHealthOptions();
    expect(o).toMatchObject({
      readiness: [],
      liveness: [],
      lb: { delayMs: 0, fall: 3, intervalMs: 2000, marginMs: 1000, probes: false },
      lbWaitMs: 7000,
      deadlineMs: 25_000,
      shutdownTimeoutMs: 5000,
      exitCode: false,
      admin: undefined,
      agent: false,
    });
  });

  it('waits max(delay, fall × interval + margin), or one agent interval when that is shorter', () => {
    expect(resolveHealthOptions({ lb: { fall: 2, intervalMs: 100, marginMs: 100 } }).lbWaitMs).toBe(
      300,
    );
    expect(
      resolveHealthOptions({ lb: { delayMs: 5000, fall: 2, intervalMs: 100, marginMs: 100 } })
        .lbWaitMs,
    ).toBe(5000);
    expect(
      resolveHealthOptions({
        lb: { fall: 3, intervalMs: 2000, marginMs: 50 },
        agent: { port: 0, intervalMs: 200 },
      }).lbWaitMs,
    ).toBe(250);
    // a long wait moves the default deadline with it
    expect(resolveHealthOptions({ lb: { delayMs: 30_000 } }).deadlineMs).toBe(35_000);
  });

  it('resolves the admin token, the agent and exit codes', () => {
    const o = resolveHealthOptions(
      { admin: { token: 'x'.repeat(16) }, exitCode: 0, agent: { port: 0, host: '127.0.0.1' } },
      resolveHealthPaths({ adminPath: '/ops/drain' }),
    );
    expect(o.admin).toEqual({ token: 'x'.repeat(16), exitCode: 0 });
    expect(o.agent).toEqual({ port: 0, host: '127.0.0.1', intervalMs: 2000 });
    expect(
      resolveHealthOptions({ admin: { token: 'y'.repeat(20), exitCode: false } }).admin,
    ).toEqual({
      token: 'y'.repeat(20),
      exitCode: false,
    });
  });

  it.each([
    [
      { deadlineMs: 7000 },
      'invalid option "deadlineMs": expected more than the load-balancer wait (7000 ms',
    ],
    [{ lb: { fall: 0 } }, 'invalid option "lb.fall": expected an integer >= 1 and <= 100, got 0'],
    [
      { lb: { intervalMs: 1.5 } },
      'invalid option "lb.intervalMs": expected an integer >= 1 and <= 600000 ms',
    ],
    [
      { lb: { probes: 0 } },
      'invalid option "lb.probes": expected an integer >= 1 and <= 100, got 0',
    ],
    [
      { lb: { falls: 2 } },
      'invalid option "lb.falls": expected a known option of lb (delayMs, fall',
    ],
    [
      { agent: { port: 70_000 } },
      'invalid option "agent.port": expected an integer >= 0 and <= 65535',
    ],
    [{ agent: {} }, 'invalid option "agent.port": expected a TCP port 0..65535, got undefined'],
    [{ exitCode: 300 }, 'invalid option "exitCode": expected an integer >= 0 and <= 255, got 300'],
    [
      { admin: { token: 'short' } },
      'invalid option "admin.token": expected a string of at least 16',
    ],
    [{ readiness: [42] }, 'invalid option "readiness[0]": expected a health indicator function'],
    [{ shutdownTimeoutMs: 0 }, 'invalid option "shutdownTimeoutMs": expected an integer >= 1'],
    [{ deadlineSeconds: 30 }, 'invalid option "deadlineSeconds": expected a known option'],
  ])('rejects %j', (options, message) => {
    expect(() => resolveHealthOptions(options as never)).toThrow(SteadyOptionsError);
    expect(() => resolveHealthOptions(options as never)).toThrow(message);
  });

  it('requires a token when the admin endpoint is mounted', () => {
    expect(() => resolveHealthOptions({}, resolveHealthPaths({ adminPath: '/ops/drain' }))).toThrow(
      'invalid option "admin": expected an object { token } because the admin endpoint is mounted at /ops/drain',
    );
  });
});

describe('resolveHealthPaths', () => {
  it('defaults to /health/ready and /health/live, no admin endpoint', () => {
    expect(resolveHealthPaths()).toEqual({
      readinessPath: '/health/ready',
      livenessPath: '/health/live',
      adminPath: false,
    });
    expect(resolveHealthPaths({ readinessPath: '/readyz', livenessPath: false })).toEqual({
      readinessPath: '/readyz',
      livenessPath: false,
      adminPath: false,
    });
  });

  it.each([
    [
      { readinessPath: 'ready' },
      'invalid option "readinessPath": expected a URL path starting with "/"',
    ],
    [
      { livenessPath: '/health/ready/' },
      'invalid option "livenessPath": expected a path other than readinessPath',
    ],
    [
      { adminPath: 42 },
      'invalid option "adminPath": expected a URL path starting with "/" (or false), got 42',
    ],
  ])('rejects %j', (extras, message) => {
    expect(() => resolveHealthPaths(extras as never)).toThrow(message);
  });
});
