import { describe, expect, it } from 'vitest';
import { cpuBetween, parsePidStat, parseProcStat, type CpuSnapshot } from './cpu';

describe('cpu accounting', () => {
  it('parses the aggregate line of /proc/stat', () => {
    const text = 'cpu  100 5 50 800 20 1 2 30 0 0\ncpu0 50 2 25 400 10 0 1 0 0 0\nintr 1\n';
    expect(parseProcStat(text)).toEqual({ busy: 158, steal: 30, total: 1008 });
    expect(parseProcStat('nothing')).toBeNull();
  });

  it('parses utime+stime from /proc/<pid>/stat, even with spaces in comm', () => {
    const text = '1234 (node my (x) app) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 40 0 0 20 0 11';
    expect(parsePidStat(text)).toBe(290);
    expect(parsePidStat('garbage')).toBeNull();
  });

  it('splits machine busy time into server, generator, runner and other', () => {
    const a: CpuSnapshot = {
      atMs: 0,
      machine: { busy: 0, steal: 0, total: 0 },
      server: 0,
      self: { user: 0, system: 0 },
    };
    // 2 s wall, 2 cores = 400 ticks total; 300 busy -> 150% of one core; 20 stolen -> 10%
    const b: CpuSnapshot = {
      atMs: 2000,
      machine: { busy: 300, steal: 20, total: 400 },
      server: 190, // 95%
      self: { user: 20_000, system: 0 }, // 1%
    };
    expect(cpuBetween(a, b, 2, 40)).toEqual({
      machine: 150,
      steal: 10,
      server: 95,
      generator: 40,
      runner: 1,
      other: 14,
    });
    expect(cpuBetween({ ...a, machine: null }, b, 2, 40).other).toBeNull();
  });
});
