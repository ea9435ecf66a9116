import { InFlightTracker } from './in-flight.tracker';
import { resolveCoreOptions } from './core-options.validation';
import { UtilisationMonitor } from './utilisation.monitor';
import type { UtilisationSample } from './utilisation-sample.interface';
import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';

function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    /* spin: block the event loop */
  }
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('UtilisationMonitor', () => {
  let monitor: UtilisationMonitor;
  let tracker: InFlightTracker;

  beforeEach(() => {
    tracker = new InFlightTracker();
    monitor = new UtilisationMonitor(
      resolveCoreOptions({
        sampleIntervalMs: 20,
        eventLoopDelayWindowMs: 200,
        eventLoopDelayResolutionMs: 1,
      }),
      tracker,
    );
  });
  afterEach(() => monitor.stop());

  it('has a snapshot before the first tick', () => {
    const s = monitor.snapshot();
    expect(s.inFlight).toBe(0);
    expect(s.heap.limit).toBeGreaterThan(s.heap.used);
    expect(s.heap.ratio).toBeCloseTo(s.heap.used / s.heap.limit, 10);
    expect(s.rss).toBeGreaterThan(0);
  });

  it('samples on one timer and emits each sample', async () => {
    const seen: UtilisationSample[] = [];
    const off = monitor.onSample((s) => seen.push(s));
    monitor.start();
    monitor.start(); // idempotent: still one timer
    await sleep(150);
    off();
    const count = seen.length;
    expect(count).toBeGreaterThanOrEqual(3);
    expect(count).toBeLessThanOrEqual(9);
    expect(monitor.snapshot()).toBe(seen[seen.length - 1]);
    await sleep(50);
    expect(seen.length).toBe(count); // unsubscribed
    monitor.stop();
    expect(monitor.running).toBe(false);
  });

  it('reads a busy loop as high ELU, CPU and loop delay; an idle one as low ELU', async () => {
    // a timer that never fires during the test, so only the manual samples below cut the intervals
    monitor = new UtilisationMonitor(
      resolveCoreOptions({ sampleIntervalMs: 60_000, eventLoopDelayResolutionMs: 1 }),
      tracker,
    );
    monitor.start();
    monitor.sampleNow();
    await sleep(60);
    const idle = monitor.sampleNow();
    expect(idle.elu).toBeLessThan(0.5);
    busy(80);
    await sleep(5);
    const loaded = monitor.sampleNow();
    expect(loaded.elu).toBeGreaterThan(0.6);
    expect(loaded.cpu).toBeGreaterThan(0.5);
    expect(loaded.eventLoopDelay.max).toBeGreaterThan(50);
    expect(loaded.eventLoopDelay.p50).toBeLessThanOrEqual(loaded.eventLoopDelay.p99);
    expect(loaded.intervalMs).toBeGreaterThan(80);
  });

  it('counts in-flight, the peak between samples and the arrival rate from the tracker', () => {
    monitor.sampleNow();
    const exchanges = Array.from({ length: 4 }, () => ({
      req: Object.assign(new EventEmitter(), {
        method: 'GET',
        url: '/',
      }) as unknown as IncomingMessage,
      res: new EventEmitter() as unknown as ServerResponse,
    }));
    for (const x of exchanges) tracker.track(x.req, x.res);
    for (const x of exchanges.slice(0, 3)) x.res.emit('close');
    const s = monitor.sampleNow();
    expect(s.inFlight).toBe(1);
    expect(s.inFlightPeak).toBe(4);
    expect(s.arrivalRate).toBeCloseTo((4 * 1000) / s.intervalMs, 6);
    expect(s.completionRate).toBeCloseTo((3 * 1000) / s.intervalMs, 6);
    expect(monitor.sampleNow().inFlightPeak).toBe(1);
  });

  it('adds probe readings to samples, survives a throwing probe and refuses duplicate names', () => {
    let n = 0;
    const remove = monitor.addProbe({ name: 'counter', read: () => ++n });
    monitor.addProbe({
      name: 'broken',
      read: () => {
        throw new Error('boom');
      },
    });
    expect(() => monitor.addProbe({ name: 'counter', read: () => 0 })).toThrow(
      /already registered/,
    );
    const s = monitor.sampleNow();
    expect(s.probes).toEqual({ counter: 1, broken: undefined });
    remove();
    expect(monitor.sampleNow().probes).not.toHaveProperty('counter');
  });

  it('keeps sampling when a listener throws', () => {
    monitor.onSample(() => {
      throw new Error('listener bug');
    });
    expect(() => monitor.sampleNow()).not.toThrow();
  });
});
