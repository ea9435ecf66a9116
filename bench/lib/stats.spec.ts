import { describe, expect, it } from 'vitest';
import { aggregate, median, percentile, round, spread } from './stats';

describe('stats', () => {
  it('median of odd and even samples, order-independent', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([7])).toBe(7);
    expect(median([])).toBeNaN();
  });

  it('nearest-rank percentiles', () => {
    const xs = Array.from({ length: 100 }, (_, i) => 100 - i); // 1..100 shuffled-ish
    expect(percentile(xs, 50)).toBe(50);
    expect(percentile(xs, 90)).toBe(90);
    expect(percentile(xs, 99)).toBe(99);
    expect(percentile(xs, 100)).toBe(100);
    expect(percentile(xs, 0)).toBe(1);
    expect(percentile([10, 20, 30], 50)).toBe(20);
    expect(percentile([10, 20, 30], 99)).toBe(30);
    expect(() => percentile([1], 101)).toThrow(RangeError);
  });

  it('spread keeps the raw values and ignores NaN for median/min/max', () => {
    expect(spread([3, 1, 2, 5, 4])).toEqual({ median: 3, min: 1, max: 5, values: [3, 1, 2, 5, 4] });
    const s = spread([NaN, 2, 4]);
    expect([s.median, s.min, s.max]).toEqual([3, 2, 4]);
    expect(spread([NaN]).median).toBeNaN();
  });

  it('aggregates every metric across runs', () => {
    const runs = [
      { goodput: 100, p99: 9 },
      { goodput: 120, p99: 7 },
      { goodput: 110, p99: 30 },
    ];
    const agg = aggregate(runs, ['goodput', 'p99'] as const);
    expect(agg.goodput).toMatchObject({ median: 110, min: 100, max: 120 });
    expect(agg.p99).toMatchObject({ median: 9, min: 7, max: 30 });
  });

  it('rounds', () => {
    expect(round(1.23456, 2)).toBe(1.23);
    expect(round(NaN)).toBeNaN();
  });
});
