import type { UtilisationSample } from '@steady/core';
import type { CoreWindowStats } from './explain-snapshot.interface';

/**
 * Adds up the core monitor's samples between two explain snapshots: a handful of additions per sample (every
 * ~100 ms), nothing per request.
 */
export class CoreAccumulator {
  private n = 0;
  private spanMs = 0;
  private inFlight = 0;
  private inFlightMax = 0;
  private elu = 0;
  private eluMax = 0;
  private cpu = 0;
  private delay = 0;
  private arrival = 0;
  private rejection = 0;
  private completion = 0;
  private last: UtilisationSample | undefined;

  get samples(): number {
    return this.n;
  }

  /** Milliseconds of samples added since the last {@link take}. */
  get coveredMs(): number {
    return this.spanMs;
  }

  add(s: UtilisationSample): void {
    const w = s.intervalMs;
    this.n++;
    this.spanMs += w;
    this.inFlight += s.inFlight * w;
    this.inFlightMax = Math.max(this.inFlightMax, s.inFlightPeak, s.inFlight);
    this.elu += s.elu * w;
    this.eluMax = Math.max(this.eluMax, s.elu);
    this.cpu += s.cpu * w;
    this.delay = Math.max(this.delay, s.eventLoopDelay.p99);
    this.arrival += s.arrivalRate * w;
    this.rejection += s.rejectionRate * w;
    this.completion += s.completionRate * w;
    this.last = s;
  }

  /** The stats so far, or `undefined` before the first sample. */
  peek(): CoreWindowStats | undefined {
    const last = this.last;
    if (!last || this.n === 0) return undefined;
    const w = Math.max(this.spanMs, 1e-3);
    return {
      samples: this.n,
      inFlightMean: this.inFlight / w,
      inFlightMax: this.inFlightMax,
      inFlightLast: last.inFlight,
      eluMean: this.elu / w,
      eluMax: this.eluMax,
      cpuMean: this.cpu / w,
      loopDelayP99Ms: this.delay,
      arrivalRate: this.arrival / w,
      rejectionRate: this.rejection / w,
      completionRate: this.completion / w,
      heapRatio: last.heap.ratio,
      heapUsedBytes: last.heap.used,
      heapLimitBytes: last.heap.limit,
      rssBytes: last.rss,
    };
  }

  /** The stats so far, then starts over. */
  take(): { stats: CoreWindowStats | undefined; spanMs: number } {
    const stats = this.peek();
    const spanMs = this.spanMs;
    this.n = 0;
    this.spanMs = 0;
    this.inFlight = this.inFlightMax = this.elu = this.eluMax = this.cpu = this.delay = 0;
    this.arrival = this.rejection = this.completion = 0;
    this.last = undefined;
    return { stats, spanMs };
  }
}
