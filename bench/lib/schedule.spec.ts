import { describe, expect, it } from 'vitest';
import { mixCycle, stepOffsets } from './load-generator';
import { achievedRate, dueCount, intervalMs, plannedCount, scheduledOffsetMs } from './schedule';

describe('schedule math', () => {
  it('spaces requests 1/rate apart', () => {
    expect(intervalMs(2000)).toBe(0.5);
    expect(intervalMs(1)).toBe(1000);
  });

  it('plans rate x duration requests, without losing one to float error', () => {
    expect(plannedCount(2000, 5000)).toBe(10_000);
    expect(plannedCount(0.1, 30_000)).toBe(3);
    expect(plannedCount(3, 1000)).toBe(3);
    expect(plannedCount(3, 999)).toBe(2);
    expect(plannedCount(100, 0)).toBe(0);
  });

  it('derives offsets from the index, so they never drift', () => {
    expect(scheduledOffsetMs(0, 3)).toBe(0);
    expect(scheduledOffsetMs(1, 3)).toBeCloseTo(333.333, 3);
    // One million additions of 1/3 ms would drift; index-based offsets do not.
    expect(scheduledOffsetMs(3_000_000, 3000)).toBe(1_000_000);
  });

  it('counts due requests: request 0 is due at once, then one per interval, capped', () => {
    expect(dueCount(-1, 1000, 10)).toBe(0);
    expect(dueCount(0, 1000, 10)).toBe(1);
    expect(dueCount(0.999, 1000, 10)).toBe(1);
    expect(dueCount(1, 1000, 10)).toBe(2);
    expect(dueCount(5.5, 1000, 10)).toBe(6);
    expect(dueCount(1e6, 1000, 10)).toBe(10);
    // consistent with scheduledOffsetMs: request i is due exactly at its offset
    for (const rate of [3, 7, 2000, 12345]) {
      for (const i of [1, 2, 10, 999]) {
        expect(dueCount(scheduledOffsetMs(i, rate), rate, 1e9)).toBe(i + 1);
      }
    }
  });

  it('reports exactly the rate for a perfect schedule and less when late', () => {
    // 10 requests at 100/s, last one sent on time at 90 ms
    expect(achievedRate(10, 90, 100)).toBeCloseTo(100, 9);
    // same requests but the last one went out 100 ms late
    expect(achievedRate(10, 190, 100)).toBeCloseTo(50, 9);
    expect(achievedRate(0, 0, 100)).toBe(0);
  });

  it('rejects nonsense rates', () => {
    expect(() => intervalMs(0)).toThrow(RangeError);
    expect(() => plannedCount(-1, 10)).toThrow(RangeError);
    expect(() => dueCount(1, Number.POSITIVE_INFINITY, 1)).toThrow(RangeError);
  });
});

describe('mix cycle and step offsets', () => {
  it('spreads weights evenly (smooth weighted round robin)', () => {
    expect(mixCycle([3, 7]).filter((i) => i === 0)).toHaveLength(3);
    expect(mixCycle([1, 1])).toEqual([0, 1]);
    const c = mixCycle([3, 7]);
    // no two critical (index 0) picks are adjacent when they are the minority
    for (let i = 1; i < c.length; i++) expect(c[i] === 0 && c[i - 1] === 0).toBe(false);
    expect(
      stepOffsets(
        [
          { durationMs: 100, rate: 20 },
          { durationMs: 100, rate: 40 },
        ],
        100,
      ),
    ).toEqual([0, 50, 100, 125, 150, 175]);
  });
});
