import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DeadlineQueue } from './deadline-queue';

describe('DeadlineQueue', () => {
  let clock = 0;
  beforeEach(() => {
    clock = 0;
    vi.useFakeTimers();
  });
  afterEach(() => vi.useRealTimers());
  const advance = (ms: number): void => {
    clock += ms;
    vi.advanceTimersByTime(ms);
  };

  it('expires unsettled entries at their deadline, in order, and skips settled ones', () => {
    const q = new DeadlineQueue(() => clock);
    const expired: string[] = [];
    q.add(100, () => expired.push('a'));
    const b = q.add(150, () => expired.push('b'));
    q.add(150, () => expired.push('c'));
    q.add(400, () => expired.push('d'));
    advance(99);
    expect(expired).toEqual([]);
    advance(1);
    expect(expired).toEqual(['a']);
    b.settle();
    advance(50);
    expect(expired).toEqual(['a', 'c']);
    advance(300);
    expect(expired).toEqual(['a', 'c', 'd']);
    expect(q.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('uses one timer however many entries are pending', () => {
    const q = new DeadlineQueue(() => clock);
    let n = 0;
    for (let i = 0; i < 5000; i++) q.add(1000 + i / 10, () => n++);
    expect(vi.getTimerCount()).toBe(1);
    advance(1500);
    expect(n).toBe(5000);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('refuses out-of-order deadlines and stops on close', () => {
    const q = new DeadlineQueue(() => clock);
    let n = 0;
    q.add(10, () => n++);
    expect(() => q.add(5, () => n++)).toThrow(RangeError);
    q.close();
    advance(100);
    expect(n).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });
});
