import { describe, expect, it } from 'vitest';
import { memoryVerdict, slope } from './ws-analysis';
import type { ServerSample } from './ws-protocol';

const MIB = 1024 * 1024;
const sample = (t: number, rssMiB: number, bufferedMiB = 0): ServerSample => ({
  t,
  rss: rssMiB * MIB,
  heapUsed: 0,
  external: 0,
  buffered: bufferedMiB * MIB,
  clients: 1,
  unwritable: -1,
});

describe('ws bench analysis', () => {
  it('slope is the least-squares fit', () => {
    expect(slope([])).toBe(0);
    expect(slope([{ t: 0, v: 1 }])).toBe(0);
    expect(slope([0, 1, 2, 3].map((t) => ({ t, v: 2 * t + 5 })))).toBeCloseTo(2, 10);
  });

  it('a flat server: small growth after the warm-up, slope ~0', () => {
    const samples = [
      sample(0, 50),
      sample(1000, 70),
      ...[...Array(15)].map((_, i) => sample(2000 + i * 1000, 72 + (i % 2))),
    ];
    const v = memoryVerdict(samples, 2000, 15_000);
    expect(v.rssBaselineMiB).toBe(72);
    expect(v.rssGrowthMiB).toBe(1);
    expect(Math.abs(v.rssSlopeMiBps)).toBeLessThan(0.2);
  });

  it('a leaking server: growth and slope show it', () => {
    const samples = [...Array(16)].map((_, i) => sample(i * 1000, 60 + 23 * i, 10 * i));
    const v = memoryVerdict(samples, 3000, 15_000);
    expect(v.rssGrowthMiB).toBe(23 * 12);
    expect(v.rssSlopeMiBps).toBeCloseTo(23, 5);
    expect(v.maxBufferedMiB).toBe(150);
  });
});
