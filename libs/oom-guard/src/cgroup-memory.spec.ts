import { resolve } from 'node:path';
import { readCgroupMemory } from './cgroup-memory';
import { MemoryReader } from './memory.reader';
import { MemoryTrigger } from './memory-trigger';

const FIXTURES = resolve(__dirname, '../../../test/fixtures/oom-cgroup');
const HOST = 24 * 1024 ** 3;
const read = (name: string, host = HOST) =>
  readCgroupMemory(`${FIXTURES}/${name}/sys`, `${FIXTURES}/${name}/proc-self-cgroup`, host);

describe('readCgroupMemory (fixture cgroup directories)', () => {
  it('v2: reads memory.max and memory.current of the process path', () => {
    expect(read('v2')).toEqual({
      version: 2,
      limit: 536_870_912,
      usage: 123_456_789,
      dir: `${FIXTURES}/v2/sys/kubepods/pod1/ctr`,
    });
  });

  it('v2: "max" is no limit', () => {
    expect(read('v2-max')).toMatchObject({ version: 2, limit: undefined, usage: 4096 });
  });

  it('v2: falls back to the root when the process path is not visible (a container namespace)', () => {
    expect(read('v2-root-only')).toMatchObject({
      version: 2,
      limit: 268_435_456,
      dir: `${FIXTURES}/v2-root-only/sys`,
    });
  });

  it('v1: the memory controller line wins over the unified line', () => {
    expect(read('v1')).toEqual({
      version: 1,
      limit: 268_435_456,
      usage: 99_999,
      dir: `${FIXTURES}/v1/sys/memory/docker/abc`,
    });
  });

  it('v1: 9223372036854771712 is no limit (root fallback as on this CI host)', () => {
    expect(read('v1-unlimited')).toMatchObject({
      version: 1,
      limit: undefined,
      usage: 352_235_520,
      dir: `${FIXTURES}/v1-unlimited/sys/memory`,
    });
  });

  it('v1: a limit at or above the host memory is no limit; below it, it is kept', () => {
    expect(read('v1-above-host').limit).toBeUndefined();
    expect(read('v1-above-host', 128 * 1024 ** 3).limit).toBe(64 * 1024 ** 3);
  });

  it('nothing readable: no cgroup, never throws', () => {
    expect(readCgroupMemory('/nonexistent/cgroup', '/nonexistent/proc')).toEqual({
      version: undefined,
      limit: undefined,
      usage: undefined,
      dir: undefined,
    });
  });
});

/** A reader with a synthetic heap, so the ratios are exact. */
class FixedHeapReader extends MemoryReader {
  heapFigures = { oldGenUsed: 0, used: 0, limit: 176 * 1024 ** 2 };
  availableBytes: number | undefined = undefined;
  protected override heap() {
    return this.heapFigures;
  }
  protected override available() {
    return this.availableBytes;
  }
}

describe('MemoryReader', () => {
  const MiB = 1024 ** 2;
  const reader = (fixture: string) =>
    new FixedHeapReader({
      youngGenerationReserveBytes: 48 * MiB,
      cgroupRoot: `${FIXTURES}/${fixture}/sys`,
      procSelfCgroup: `${FIXTURES}/${fixture}/proc-self-cgroup`,
      clock: () => 42,
    });

  it('old-gen ratio is against heap_size_limit minus the young reserve (176 − 48 = 128 MiB)', () => {
    const r = reader('v2');
    r.heapFigures = { oldGenUsed: 96 * MiB, used: 100 * MiB, limit: 176 * MiB };
    const reading = r.read('gc', 400 * MiB);
    expect(reading.oldGenLimit).toBe(128 * MiB);
    expect(reading.ratios.old_gen).toBeCloseTo(0.75, 10);
    // used / heap_size_limit would have said 0.57: below any sane threshold, V8 aborts near 0.6 here
    expect(reading.heapUsed / (176 * MiB)).toBeLessThan(0.6);
    expect(reading).toMatchObject({ source: 'gc', at: 42, rss: 400 * MiB, cgroupLimit: 512 * MiB });
    expect(reading.ratios.cgroup).toBeCloseTo(400 / 512, 10);
  });

  it('without a cgroup limit the cgroup ratio is RSS / (RSS + available memory)', () => {
    const r = reader('v2-max');
    r.availableBytes = 300 * MiB;
    const reading = r.read('monitor', 100 * MiB);
    expect(reading.cgroupLimit).toBeUndefined();
    expect(reading.ratios.cgroup).toBeCloseTo(0.25, 10);
  });

  it('reads the real process (no override): sane figures', () => {
    const real = new MemoryReader({
      youngGenerationReserveBytes: 48 * MiB,
      cgroupRoot: '/nonexistent',
      procSelfCgroup: '/nonexistent',
      clock: () => 0,
    });
    const reading = real.read('manual');
    expect(reading.oldGenUsed).toBeGreaterThan(0);
    expect(reading.oldGenUsed).toBeLessThanOrEqual(reading.heapUsed);
    expect(reading.rss).toBeGreaterThan(reading.heapUsed / 2);
    expect(reading.ratios.old_gen).toBeGreaterThan(0);
    expect(reading.ratios.old_gen).toBeLessThan(1);
  });
});

describe('reader + trigger on a cgroup v1 fixture (256 MiB limit)', () => {
  it('RSS climbing to 0.7 then 0.8 of the limit: warning, then action from a monitor sample', () => {
    const MiB = 1024 ** 2;
    const reader = new FixedHeapReader({
      youngGenerationReserveBytes: 48 * MiB,
      cgroupRoot: `${FIXTURES}/v1/sys`,
      procSelfCgroup: `${FIXTURES}/v1/proc-self-cgroup`,
      clock: () => 0,
    });
    reader.heapFigures = { oldGenUsed: 30 * MiB, used: 40 * MiB, limit: 176 * MiB };
    const trigger = new MemoryTrigger({
      thresholds: {
        old_gen: { warning: 0.6, action: 0.7, critical: 0.85 },
        cgroup: { warning: 0.7, action: 0.8, critical: 0.9 },
      },
      hysteresis: 0.05,
      confirmMs: 1000,
    });
    const seen = [150, 180, 190, 205, 210].map((rssMiB) =>
      trigger.evaluate(reader.read('monitor', rssMiB * MiB)).map((c) => `${c.kind}:${c.to}`),
    );
    // 180/256 = 0.70, 205/256 = 0.80
    expect(seen).toEqual([[], ['cgroup:warning'], [], ['cgroup:action'], []]);
    expect(trigger.level('old_gen')).toBe('ok');
  });
});
