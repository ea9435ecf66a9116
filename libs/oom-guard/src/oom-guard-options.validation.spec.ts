import { SteadyOptionsError } from '@steady/core';
import { mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveOomGuardOptions } from './oom-guard-options.validation';

describe('resolveOomGuardOptions', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'steady-oom-opts-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('defaults: 0.60/0.70 old-gen, 0.70/0.80 cgroup, exit 70, snapshot gated at 6× heap', () => {
    const o = resolveOomGuardOptions({});
    expect(o.thresholds).toEqual({
      old_gen: { warning: 0.6, action: 0.7, critical: 0.85 },
      cgroup: { warning: 0.7, action: 0.8, critical: 0.9 },
    });
    expect(o).toMatchObject({
      hysteresis: 0.05,
      confirmMs: 1000,
      exitCode: 70,
      directory: tmpdir(),
      snapshot: { enabled: true, headroomFactor: 6, msPerMiB: 100 },
      report: true,
      hardDeadlineMs: 60_000,
      drainTimeoutMs: 30_000,
      cgroupRoot: '/sys/fs/cgroup',
      observeGc: true,
      fallbacks: { reportOnFatalError: false, nearHeapLimitSnapshot: false },
      dryRun: false,
    });
    expect(typeof o.clock()).toBe('number');
  });

  it('a lower action threshold alone lowers the default warning below it', () => {
    expect(resolveOomGuardOptions({ oldGen: { action: 0.5 } }).thresholds.old_gen).toEqual({
      warning: 0.45,
      action: 0.5,
      critical: 0.75,
    });
  });

  it.each([
    [{ oldGen: { action: 1 } }, 'oldGen.action', 'a number > 0 and < 1'],
    [{ oldGen: { action: 0 } }, 'oldGen.action', 'a number > 0 and < 1'],
    [{ cgroup: { warning: 0.9, action: 0.8 } }, 'cgroup.warning', 'less than cgroup.action (0.8)'],
    [{ cgroup: { warning: -0.1 } }, 'cgroup.warning', 'a number > 0 and < 1'],
    [{ oldGen: { actoin: 0.7 } }, 'oldGen.actoin', 'a known option of oldGen'],
    [{ hysteresis: 0.6 }, 'hysteresis', '<= 0.5'],
    [
      { oldGen: { action: 0.8, critical: 0.8 } },
      'oldGen.critical',
      'more than oldGen.action (0.8)',
    ],
    [{ exitCode: 0 }, 'exitCode', '>= 1'],
    [{ snapshot: { headroomFactor: 0.5 } }, 'snapshot.headroomFactor', '>= 1'],
    [
      { hardDeadlineMs: 60_000, drainTimeoutMs: 60_000 },
      'drainTimeoutMs',
      'less than hardDeadlineMs',
    ],
    [{ lastWords: 'flush' }, 'lastWords', 'a function'],
    [{ cgroupRoot: 'sys/fs/cgroup' }, 'cgroupRoot', 'an absolute path'],
    [{ thresholds: 0.7 }, 'thresholds', 'a known option'],
  ])('rejects %j naming %s', (options, option, expected) => {
    let error: unknown;
    try {
      resolveOomGuardOptions(options as never);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(SteadyOptionsError);
    expect((error as SteadyOptionsError).option).toBe(option);
    expect((error as Error).message).toContain(expected);
    expect((error as Error).message).toContain('@steady/oom-guard');
  });

  it('directory: must exist, be a directory and be writable now', () => {
    expect(resolveOomGuardOptions({ directory: dir }).directory).toBe(dir);
    expect(() => resolveOomGuardOptions({ directory: join(dir, 'missing') })).toThrow(
      /invalid option "directory": expected an existing, writable directory \(ENOENT/,
    );
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    expect(() => resolveOomGuardOptions({ directory: file })).toThrow(/not a directory/);
    if (process.getuid?.() !== 0) {
      const ro = join(dir, 'read-only');
      require('node:fs').mkdirSync(ro);
      chmodSync(ro, 0o500);
      expect(() => resolveOomGuardOptions({ directory: ro })).toThrow(/EACCES/);
    }
  });
});
