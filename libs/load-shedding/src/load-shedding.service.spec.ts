import type { IncomingMessage } from 'node:http';
import type { InFlightTracker, UtilisationMonitor, UtilisationSample } from '@steady/core';
import { resolveLoadSheddingOptions } from './load-shedding-options.validation';
import { LoadSheddingService } from './load-shedding.service';

/** A tracker whose counts the test sets, and a monitor whose samples the test emits. */
function setup() {
  const counts = { inFlight: 0, sheddable: 0, normal: 0 };
  const tracker = {
    get inFlight() {
      return counts.inFlight;
    },
    inFlightOf: (cls: string) =>
      cls === 'sheddable' ? counts.sheddable : cls === 'normal' ? counts.normal : 0,
    classify: () => undefined,
    turnElapsedMs: () => 0, // no loop turn is long here: these tests are about the in-flight count
    previousTurnMs: 0,
    acceptingTurnStreak: 0,
  } as unknown as InFlightTracker;
  let listener: ((s: UtilisationSample) => void) | undefined;
  const monitor = {
    onSample: (l: (s: UtilisationSample) => void) => {
      listener = l;
      return () => undefined;
    },
  } as unknown as UtilisationMonitor;
  const options = resolveLoadSheddingOptions({ maxInFlight: 100, eventLoop: false, heap: false });
  const service = new LoadSheddingService(options, tracker, monitor);
  (service as unknown as { random: () => number }).random = () => 0; // any positive probability sheds
  service.onModuleInit();
  const sample = (inFlightPeak: number) =>
    listener!({
      inFlight: counts.inFlight,
      inFlightPeak,
      elu: 0.1,
      eventLoopDelay: { min: 1, mean: 1, p50: 1, p90: 1, p99: 1, max: 1 },
      heap: { used: 1, total: 1, limit: 100, ratio: 0.01 },
    } as UtilisationSample);
  const req = (priority: string) =>
    ({ headers: { 'x-steady-priority': priority } }) as unknown as IncomingMessage;
  return { counts, service, sample, req };
}

describe('LoadSheddingService: how each priority reads the in-flight count', () => {
  it('judges critical traffic by its smoothed count: a burst past the hard threshold is ridden out', () => {
    const { counts, service, sample, req } = setup();
    counts.inFlight = 80; // critical (untagged) work at 80 % of maxInFlight, sample after sample
    for (let i = 0; i < 20; i++) sample(80);
    counts.inFlight = 110; // a burst: live count 110 % (level 1.67, beyond the hard threshold)
    expect(service.check(req('critical')).shed).toBe(false);
    // the same level sustained: the smoothed count follows within a few samples, and critical is shed
    for (let i = 0; i < 10; i++) sample(110);
    expect(service.check(req('critical'))).toMatchObject({ shed: true, reason: 'in_flight' });
  });

  it('judges sheddable traffic by the recent peak, so it does not slip in through a trough', () => {
    const { counts, service, sample, req } = setup();
    counts.inFlight = 95;
    sample(95);
    counts.inFlight = 86; // a trough right after the peak: live level 0.07, peak level 0.67
    expect(service.check(req('sheddable'))).toMatchObject({ shed: true, reason: 'in_flight' });
    sample(86); // the next sample's peak is the trough itself: level 0.07, a small probability (a 0 draw hits it)
    expect(service.check(req('sheddable')).shed).toBe(true);
    counts.inFlight = 50;
    sample(50);
    expect(service.check(req('sheddable')).shed).toBe(false); // calm
  });

  it('judges normal traffic without the sheddable requests in flight', () => {
    const { counts, service, sample, req } = setup();
    counts.inFlight = 98;
    counts.sheddable = 20;
    sample(98);
    expect(service.check(req('normal')).shed).toBe(false); // 78 of 100: below the soft threshold
    counts.sheddable = 0;
    expect(service.check(req('normal')).shed).toBe(true); // 98 of 100
  });
});
