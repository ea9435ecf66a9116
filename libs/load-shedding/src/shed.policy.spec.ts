import { resolveLoadSheddingOptions } from './load-shedding-options.validation';
import type { LoadSheddingModuleOptions, Priority } from './load-shedding-options.interface';
import { ShedPolicy, type PolicySample } from './shed.policy';

/** A fake clock advanced by hand: the policy never reads real time in these tests. */
function setup(options: LoadSheddingModuleOptions = {}) {
  let t = 0;
  const policy = new ShedPolicy(resolveLoadSheddingOptions(options), () => t);
  const advance = (ms: number) => (t += ms);
  return { policy, advance };
}

const calm: PolicySample = {
  elu: 0.2,
  delayP99Ms: 5,
  heapRatio: 0.3,
  completionRate: 100,
  signals: {},
};

/** Shed probability of `priority` at `inFlight`, estimated without randomness: p > r for r = 0.5. */
function probability(policy: ShedPolicy, priority: Priority, inFlight: number): number {
  return policy.decide(priority, inFlight, 0.5).probability;
}

describe('ShedPolicy: the in-flight band (the seed rule, non-binary)', () => {
  it('is calm below the soft threshold and admits without looking', () => {
    const { policy } = setup({ maxInFlight: 100 });
    expect(policy.isCalm(84)).toBe(true);
    expect(policy.isCalm(85)).toBe(false);
    expect(policy.decide('normal', 84, 0).shed).toBe(false);
  });

  it('sheds normal traffic proportionally between soft (85 %) and hard (100 %)', () => {
    const { policy } = setup({ maxInFlight: 100 });
    expect(probability(policy, 'normal', 85)).toBeCloseTo(0, 10);
    expect(probability(policy, 'normal', 90)).toBeCloseTo(1 / 3, 10);
    expect(probability(policy, 'normal', 95)).toBeCloseTo(2 / 3, 10);
    expect(probability(policy, 'normal', 100)).toBe(1);
    const d = policy.decide('normal', 90, 0.2);
    expect(d).toEqual({ shed: true, reason: 'in_flight', probability: expect.closeTo(1 / 3, 10) });
    expect(policy.decide('normal', 90, 0.4).shed).toBe(false);
  });

  it('sheds sheddable traffic twice as fast and critical traffic only beyond the hard threshold', () => {
    const { policy } = setup({ maxInFlight: 100, criticalReserve: 0.5 });
    expect(probability(policy, 'sheddable', 90)).toBeCloseTo(2 / 3, 10);
    expect(probability(policy, 'sheddable', 93)).toBe(1);
    expect(probability(policy, 'critical', 100)).toBe(0);
    expect(probability(policy, 'critical', 103)).toBeCloseTo(0.4, 10); // level 1.2 of a 0.5 reserve
    expect(probability(policy, 'critical', 108)).toBe(1);
  });

  it('with no reserve, critical is shed at once past the hard threshold', () => {
    const { policy } = setup({ maxInFlight: 10, criticalReserve: 0 });
    expect(probability(policy, 'critical', 10)).toBe(0);
    expect(probability(policy, 'critical', 11)).toBe(1);
  });

  it('can be turned off', () => {
    const { policy } = setup({ maxInFlight: 10, inFlight: false });
    expect(policy.isCalm(1000)).toBe(true);
    expect(probability(policy, 'normal', 1000)).toBe(0);
  });
});

describe('ShedPolicy: the event-loop controller', () => {
  /**
   * A CPU-bound server, 100 ms per sample: an admitted request costs 1 ms of loop time, a rejection 0.01 ms
   * (capacity 1000 req/s). What the loop cannot process waits in the kernel and joins the next sample (the
   * backlog), and the loop's turns get long (delay p99 50 ms + 1 ms per queued request).
   */
  function simulate(
    policy: ShedPolicy,
    advance: (ms: number) => void,
    offered: number,
    steps: number,
  ) {
    const trace: { admit: number; elu: number; goodput: number }[] = [];
    for (let i = 0; i < steps; i++) {
      advance(100);
      const arrivals = Math.round(offered / 10 + backlog);
      let admitted = 0;
      for (let k = 0; k < arrivals; k++) {
        // a deterministic spread of draws over [0, 1)
        if (!policy.decide('normal', 0, (k + 0.5) / arrivals).shed) admitted++;
      }
      const work = admitted + (arrivals - admitted) * 0.01;
      const processed = work <= 100 ? arrivals : (arrivals * 100) / work;
      backlog = arrivals - processed;
      const elu = Math.min(1, work / 100);
      const goodput = Math.round(Math.min(admitted, processed) * 10);
      const delayP99Ms = backlog > 5 ? 50 + backlog : 5;
      policy.onSample({ elu, delayP99Ms, heapRatio: 0.3, completionRate: goodput, signals: {} });
      trace.push({ admit: policy.state().admitFraction, elu, goodput });
    }
    return trace;
  }
  let backlog = 0;
  beforeEach(() => (backlog = 0));

  // At the target (0.92) the loop spends 92 % of its time; rejections take their share of it first, so the
  // best possible goodput is 1000 x (0.92 - rejection share): about 910, 880 and 830 at 2x, 5x and 10x.
  it.each([
    [2, 880],
    [5, 850],
    [10, 800],
  ])('holds goodput near the ELU target at %d× overload, without oscillating', (factor, floor) => {
    const { policy, advance } = setup();
    policy.onSample(calm);
    const trace = simulate(policy, advance, 1000 * factor, 60);
    const tail = trace.slice(-30);
    for (const s of tail) expect(s.goodput).toBeGreaterThanOrEqual(floor);
    const goodputs = tail.map((s) => s.goodput);
    expect(Math.max(...goodputs) - Math.min(...goodputs)).toBeLessThanOrEqual(60);
    expect(backlog).toBeLessThan(5); // the kernel queue has drained: no timeouts building up
  });

  it('sheds nothing when the loop is busy but turns around fast (a closed-loop client at ELU 1)', () => {
    const { policy, advance } = setup();
    policy.onSample(calm);
    for (let i = 0; i < 20; i++) {
      advance(100);
      for (let k = 0; k < 500; k++) expect(policy.decide('normal', 0, 0.001).shed).toBe(false);
      policy.onSample({ ...calm, elu: 1, delayP99Ms: 8, completionRate: 5000 });
    }
    expect(policy.state()).toMatchObject({ admitFraction: 1, pressured: false });
  });

  it("leaves a saturated closed loop alone: its connections turn around fast (Little's law)", () => {
    const { policy, advance } = setup();
    policy.onSample(calm);
    // 50 connections, 2 800 req/s: each connection waits ~18 ms, although the loop is at ELU 1 with a slow turn
    for (let i = 0; i < 20; i++) {
      advance(100);
      for (let k = 0; k < 280; k++) expect(policy.decide('normal', 0, 0.001).shed).toBe(false);
      policy.onSample({ ...calm, elu: 1, delayP99Ms: 70, completionRate: 2800, connections: 50 });
    }
    expect(policy.state()).toMatchObject({ admitFraction: 1, pressured: false });
  });

  it('engages when the same loop is piling up connections (an open loop), and only then', () => {
    const { policy, advance } = setup();
    policy.onSample({ ...calm, connections: 5 });
    advance(100);
    for (let k = 0; k < 30; k++) policy.decide('normal', 0, 0.5);
    policy.onSample({ ...calm, connections: 5 }); // 5 connections / 300 req/s: 17 ms, nothing queueing
    let connections = 20;
    let engagedAt = -1;
    for (let i = 0; i < 20 && engagedAt < 0; i++) {
      advance(100);
      for (let k = 0; k < 30; k++) policy.decide('normal', 0, 0.5); // 300 req/s reach the loop
      connections += 4; // the clients keep opening connections: work is queueing in front of us
      policy.onSample({ ...calm, elu: 1, delayP99Ms: 70, completionRate: 300, connections });
      if (policy.state().admitFraction < 1) engagedAt = i;
    }
    // the 3-sample average of connections / arrival rate passes 50 ms at the second loaded sample (63 ms), and
    // must hold for 2 samples (a stall of the clients looks the same for a moment)
    expect(engagedAt).toBe(2);
    const { policy: off, advance: adv } = setup({ eventLoop: { openLoopOnly: false } });
    off.onSample(calm);
    adv(100);
    for (let k = 0; k < 280; k++) off.decide('normal', 0, 0.5);
    off.onSample({ ...calm, elu: 1, delayP99Ms: 70, completionRate: 2800, connections: 50 });
    expect(off.state().admitFraction).toBeLessThan(1); // openLoopOnly: false: busy and slow is enough
  });

  it('lets go when shedding turns a closed loop into a rejection storm (connections turn around in ms)', () => {
    const { policy, advance } = setup();
    policy.onSample(calm);
    const step = (arrivals: number, connections: number) => {
      advance(100);
      for (let k = 0; k < arrivals; k++) policy.decide('normal', 0, 0.5);
      policy.onSample({ ...calm, elu: 1, delayP99Ms: 70, completionRate: 900, connections });
    };
    // a stall: 50 connections but only 900 req/s for a moment (55 ms of queue), long enough to engage
    for (let i = 0; i < 4; i++) step(90, 50);
    expect(policy.state().admitFraction).toBeLessThan(1);
    // the clients replace every rejection at once: 10 000 req/s on the same 50 connections (5 ms)
    const admits: number[] = [];
    for (let i = 0; i < 4; i++) {
      step(1000, 50);
      admits.push(policy.state().admitFraction);
    }
    // the estimate is averaged over 3 samples: it falls below 12.5 ms from the second storm sample on, and the
    // third such sample lets go
    expect(admits[2]).toBeLessThan(1);
    expect(admits[3]).toBe(1);
    expect(policy.state().pressured).toBe(false);
  });

  it('reacts within two samples of overload and lets go within two seconds of the load dropping', () => {
    const { policy, advance } = setup();
    policy.onSample(calm);
    simulate(policy, advance, 500, 10);
    expect(policy.state().admitFraction).toBe(1);
    const up = simulate(policy, advance, 3000, 30);
    expect(up[1].admit).toBeLessThan(1);
    expect(up.slice(-10).every((s) => s.goodput >= 850)).toBe(true);
    const down = simulate(policy, advance, 500, 20);
    const back = down.findIndex((s) => s.admit === 1);
    expect(back).toBeGreaterThanOrEqual(0);
    expect(back).toBeLessThan(20); // 20 samples of 100 ms
    expect(policy.state().pressured).toBe(false);
    expect(policy.isCalm(0)).toBe(true);
  });

  it('allocates the admitted load to critical traffic first', () => {
    const { policy, advance } = setup();
    policy.onSample(calm);
    // 30 % critical, 70 % sheddable, offered at 2.5x: 1000 requests per sample at 0.25 ms each, and the loop
    // carries 100 ms per sample. Critical alone (75 ms) fits.
    const criticalAdmitted: number[] = [];
    for (let i = 0; i < 40; i++) {
      advance(100);
      let critical = 0;
      let sheddable = 0;
      for (let k = 0; k < 300; k++)
        if (!policy.decide('critical', 0, (k + 0.5) / 300).shed) critical++;
      for (let k = 0; k < 700; k++)
        if (!policy.decide('sheddable', 0, (k + 0.5) / 700).shed) sheddable++;
      const admitted = critical + sheddable;
      const work = admitted * 0.25 + (1000 - admitted) * 0.0025;
      policy.onSample({
        elu: Math.min(1, work / 100),
        delayP99Ms: work > 100 ? 50 + (work - 100) * 4 : 5,
        heapRatio: 0.3,
        completionRate: Math.min(admitted, 400) * 10,
        signals: {},
      });
      criticalAdmitted.push(critical);
    }
    // after the first second, every critical request is admitted; sheddable ones fill what is left
    expect(criticalAdmitted.slice(10).every((n) => n === 300)).toBe(true);
    const { admitByPriority } = policy.state();
    expect(admitByPriority.critical).toBe(1);
    expect(admitByPriority.sheddable).toBeGreaterThan(0.02);
    expect(admitByPriority.sheddable).toBeLessThan(0.15);
  });

  it('can follow the event-loop delay alone', () => {
    const { policy, advance } = setup({ eventLoop: { eluTarget: false, delayThresholdMs: 100 } });
    policy.onSample(calm);
    advance(100);
    for (let k = 0; k < 100; k++) policy.decide('normal', 0, 0.99); // 1000 req/s
    policy.onSample({ ...calm, delayP99Ms: 400 });
    const admit = policy.state().admitFraction;
    expect(admit).toBeLessThan(1);
    expect(admit).toBeGreaterThanOrEqual(0.02);
    expect(policy.decide('normal', 0, 0.99).reason).toBe('event_loop');
  });

  it('does not blame a busy loop on light traffic (start-up, GC, a batch job)', () => {
    const { policy, advance } = setup({ eventLoop: { minRate: 50 } });
    policy.onSample(calm);
    for (let i = 0; i < 10; i++) {
      advance(100);
      for (let k = 0; k < 4; k++) policy.decide('normal', 0, 0.5); // 40 req/s
      policy.onSample({ ...calm, elu: 1, delayP99Ms: 300, completionRate: 40 });
    }
    expect(policy.state().admitFraction).toBe(1);
    expect(policy.isCalm(0)).toBe(true);
  });

  it('never admits less than minAdmitFraction, so the signal keeps being measured', () => {
    const { policy, advance } = setup({ eventLoop: { minAdmitFraction: 0.05 } });
    policy.onSample(calm);
    for (let i = 0; i < 20; i++) {
      advance(100);
      for (let k = 0; k < 100; k++) policy.decide('normal', 0, 0.99);
      policy.onSample({ ...calm, elu: 1, delayP99Ms: 500, completionRate: 1 });
    }
    expect(policy.state().admitFraction).toBe(0.05);
  });
});

describe('ShedPolicy: heap and custom signals', () => {
  it('smooths a banded signal and sheds proportionally on it', () => {
    const { policy, advance } = setup({
      heap: false,
      eventLoop: false,
      signals: [{ name: 'db_pool', soft: 0.5, hard: 1, read: () => 0 }],
    });
    policy.onSample({ ...calm, signals: { db_pool: 0.75 } });
    expect(policy.state().levels.db_pool).toBeCloseTo(0.5, 10);
    expect(policy.isCalm(0)).toBe(false);
    expect(policy.decide('normal', 0, 0.4)).toMatchObject({ shed: true, reason: 'db_pool' });
    advance(100);
    policy.onSample({ ...calm, signals: { db_pool: 0.25 } });
    expect(policy.state().levels.db_pool).toBeCloseTo(0, 10); // halfway from 0.5 to -0.5
    advance(100);
    policy.onSample({ ...calm, signals: { db_pool: 0.25 } });
    expect(policy.isCalm(0)).toBe(true);
  });

  it('sheds on heap pressure', () => {
    const { policy } = setup({ heap: { soft: 0.8, hard: 0.9 }, eventLoop: false });
    policy.onSample({ ...calm, heapRatio: 0.85 });
    expect(policy.decide('normal', 0, 0.1)).toMatchObject({ shed: true, reason: 'heap' });
    expect(policy.decide('critical', 0, 0.1).shed).toBe(false);
  });

  it('ignores a custom signal that read nothing usable', () => {
    const { policy } = setup({ signals: [{ name: 'x', soft: 0.5, hard: 1, read: () => 0 }] });
    policy.onSample({ ...calm, signals: { x: Number.NaN } });
    expect(policy.state().levels).not.toHaveProperty('x');
  });
});
