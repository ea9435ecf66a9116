import { MemoryTrigger } from './memory-trigger';
import type { MemoryReading } from './oom-guard-options.interface';

const MiB = 1024 ** 2;
const options = {
  thresholds: {
    old_gen: { warning: 0.6, action: 0.7, critical: 0.85 },
    cgroup: { warning: 0.7, action: 0.8, critical: 0.9 },
  },
  hysteresis: 0.05,
  confirmMs: 1000,
};

function reading(
  source: MemoryReading['source'],
  at: number,
  oldGen: number,
  cgroup = 0.1,
  limit: number | null = 512 * MiB,
): MemoryReading {
  const cgroupLimit = limit ?? undefined;
  return {
    source,
    at,
    oldGenUsed: oldGen * 128 * MiB,
    oldGenLimit: 128 * MiB,
    heapUsed: oldGen * 128 * MiB,
    rss: cgroup * (cgroupLimit ?? 1),
    cgroupLimit,
    available: undefined,
    ratios: { old_gen: oldGen, cgroup },
  };
}

const levels = (t: MemoryTrigger, r: MemoryReading) =>
  t.evaluate(r).map((c) => `${c.kind}:${c.from}->${c.to}`);

describe('MemoryTrigger (synthetic GC and monitor samples)', () => {
  it('a leak seen on major GCs: ok → warning at 0.60, → action at 0.70, then final', () => {
    const t = new MemoryTrigger(options);
    const gcs = [0.2, 0.35, 0.5, 0.59, 0.61, 0.66, 0.69, 0.701, 0.72, 0.3];
    const seen = gcs.map((ratio, i) => levels(t, reading('gc', i * 100, ratio)));
    expect(seen).toEqual([
      [],
      [],
      [],
      [],
      ['old_gen:ok->warning'],
      [],
      [],
      ['old_gen:warning->action'],
      [],
      [], // action is final, even if a later reading is low
    ]);
    expect(t.overall).toBe('action');
  });

  it('hysteresis: warning is left only below warning − 0.05', () => {
    const t = new MemoryTrigger(options);
    expect(levels(t, reading('gc', 0, 0.62))).toEqual(['old_gen:ok->warning']);
    expect(levels(t, reading('gc', 1, 0.58))).toEqual([]);
    expect(levels(t, reading('gc', 2, 0.551))).toEqual([]);
    expect(levels(t, reading('gc', 3, 0.54))).toEqual(['old_gen:warning->ok']);
    expect(levels(t, reading('gc', 4, 0.59))).toEqual([]);
    expect(levels(t, reading('gc', 5, 0.6))).toEqual(['old_gen:ok->warning']);
  });

  it('a monitor reading (between GCs, counts garbage) acts only after confirmMs above the action level', () => {
    const t = new MemoryTrigger(options);
    expect(levels(t, reading('monitor', 0, 0.75))).toEqual(['old_gen:ok->warning']);
    expect(levels(t, reading('monitor', 500, 0.78))).toEqual([]);
    expect(levels(t, reading('monitor', 999, 0.74))).toEqual([]);
    const [change] = t.evaluate(reading('monitor', 1000, 0.74));
    expect(change).toMatchObject({
      kind: 'old_gen',
      from: 'warning',
      to: 'action',
      firstAboveAt: 0,
    });
  });

  it('a dip below the action level restarts the confirmation; a GC reading above it acts at once', () => {
    const t = new MemoryTrigger(options);
    levels(t, reading('monitor', 0, 0.75));
    expect(levels(t, reading('monitor', 600, 0.65))).toEqual([]); // garbage collected: back under
    expect(levels(t, reading('monitor', 900, 0.75))).toEqual([]);
    expect(levels(t, reading('monitor', 1800, 0.75))).toEqual([]); // 900 ms above since the dip
    const [change] = t.evaluate(reading('gc', 1850, 0.71));
    expect(change).toMatchObject({ to: 'action', firstAboveAt: 900 }); // the run that began at 900 ms
  });

  it('cgroup: RSS over the limit acts at once from any source; without a limit it is not judged', () => {
    const t = new MemoryTrigger(options);
    expect(levels(t, reading('monitor', 0, 0.1, 0.72))).toEqual(['cgroup:ok->warning']);
    expect(levels(t, reading('monitor', 100, 0.1, 0.81))).toEqual(['cgroup:warning->action']);
    expect(t.level('old_gen')).toBe('ok');
    expect(t.overall).toBe('action');

    const unlimited = new MemoryTrigger(options);
    expect(levels(unlimited, reading('monitor', 0, 0.1, 0.99, null))).toEqual([]);
    expect(unlimited.overall).toBe('ok');
  });

  it('both kinds at once report two changes, each with its threshold and reading', () => {
    const t = new MemoryTrigger(options);
    const r = reading('gc', 0, 0.71, 0.85);
    const changes = t.evaluate(r);
    expect(changes.map((c) => [c.kind, c.to, c.threshold])).toEqual([
      ['old_gen', 'action', 0.7],
      ['cgroup', 'action', 0.8],
    ]);
    expect(changes[0]!.reading).toBe(r);
  });
});
