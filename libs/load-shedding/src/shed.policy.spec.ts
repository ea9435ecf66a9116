import { resolveLoadSheddingOptions } from './load-shedding-options.validation';
import type { LoadSheddingModuleOptions, Priority } from './load-shedding-options.interface';
import { ShedPolicy, type PolicySample } from './shed.policy';

/** A fake clock advanced by hand: the policy never reads real time in these tests. */
function setup(options: LoadSheddingModuleOptions = {}) {
  let t = 0;
  // the event-loop turn the next decision is dispatched in (the tracker's readings, set by hand)
  const turn = {
    elapsedMs: 0,
    previousTurnMs: 0,
    acceptingTurnStreak: 0,
    turnElapsedMs: () => turn.elapsedMs,
  };
  const policy = new ShedPolicy(resolveLoadSheddingOptions(options), () => t, turn);
  const advance = (ms: number) => (t += ms);
  /** Puts the next decision `elapsedMs` into a turn, after a turn of `previousTurnMs` and an accepting streak. */
  const at = (elapsedMs: number, previousTurnMs: number, acceptingTurnStreak: number) => {
    Object.assign(turn, { elapsedMs, previousTurnMs, acceptingTurnStreak });
    return policy;
  };
  return { policy, advance, at };
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

describe('ShedPolicy: the per-turn budget (CPU-bound overload)', () => {
  const busyOpenLoop: PolicySample = {
    ...calm,
    elu: 1,
    delayP99Ms: 20, // busy, but turning around in time: the event-loop controller stays off
    completionRate: 300,
    connections: 200, // 200 connections for 1 600 req/s: 125 ms by Little's law, work is queueing
  };
  /** Feeds `n` samples of 100 ms, with `arrivals` decisions counted in each (the arrival rate the policy sees). */
  function feed(policy: ShedPolicy, advance: (ms: number) => void, sample: PolicySample, n = 1) {
    for (let i = 0; i < n; i++) {
      advance(100);
      for (let k = 0; k < 160; k++) policy.decide('normal', 0, 0.999); // 1 600 req/s
      policy.onSample(sample);
    }
  }

  it('limits nothing on a calm loop, however long one turn is (a GC, a batch job)', () => {
    const { policy, advance, at } = setup();
    feed(policy, advance, { ...calm, connections: 200 });
    expect(at(40, 40, 10).isCalm(0)).toBe(true);
    expect(at(40, 40, 10).decide('normal', 0, 0.5).shed).toBe(false);
  });

  it('limits nothing on a busy closed loop: its turns are long but nothing queues in front of it', () => {
    const { policy, advance, at } = setup();
    // 50 connections at 2 800 req/s (18 ms by Little's law), no new connections
    feed(
      policy,
      advance,
      { ...busyOpenLoop, delayP99Ms: 20, connections: 50, completionRate: 2800 },
      5,
    );
    expect(at(15, 15, 0).decide('normal', 0, 0.5).shed).toBe(false);
    expect(at(15, 15, 0).isCalm(0)).toBe(true);
  });

  it('on a busy loop with work queueing in front, sheds what waits behind more than the budget in one turn', () => {
    const { policy, advance, at } = setup(); // turnBudgetMs 5: sheddable 2.5, normal 5, critical 10
    feed(policy, advance, busyOpenLoop, 2); // the first sample has no interval to measure a rate over
    const shed = (priority: Priority, turnMs: number, previousTurnMs = 8) =>
      at(turnMs, previousTurnMs, 0).decide(priority, 0, 0.99).shed;
    expect(shed('normal', 4.9)).toBe(false);
    expect(at(5, 8, 0).decide('normal', 0, 0.99)).toEqual({
      shed: true,
      reason: 'event_loop',
      probability: 1,
    });
    expect([shed('sheddable', 2.4), shed('sheddable', 2.5)]).toEqual([false, true]);
    expect([shed('critical', 9.9), shed('critical', 10)]).toEqual([false, true]);
    expect(at(2.5, 8, 0).isCalm(0)).toBe(false);
    // the previous turn was short: this is a burst, not a standing queue
    expect(shed('normal', 6, 4)).toBe(false);
  });

  it('starts at the first long turn while clients keep opening connections (Node accepts one per turn)', () => {
    const { policy, advance, at } = setup(); // delayThresholdMs 50: a 25 ms turn starts it
    // busy, but the queue estimate has not seen the overload yet (50 connections for 2 800 req/s)
    feed(policy, advance, { ...busyOpenLoop, connections: 50, completionRate: 2800 });
    const shed = (turnMs: number, previousTurnMs: number, acceptingTurns: number) =>
      at(turnMs, previousTurnMs, acceptingTurns).decide('normal', 0, 0.99).shed;
    expect(shed(6, 20, 5)).toBe(false); // connections waiting, but turns still short
    expect(shed(6, 30, 2)).toBe(false); // a long turn, but no backlog of connections
    expect(shed(1, 30, 3)).toBe(false); // 3 turns in a row accepted one, and a long turn: limited now, ...
    expect(shed(1.25, 30, 3)).toBe(true); // ... to a quarter of the budget while connections wait
    expect(shed(1.25, 2, 40)).toBe(true); // it holds while they keep coming, however short the turns got
    expect(shed(1.25, 2, 0)).toBe(false); // a turn that accepted none lets go
    expect(shed(1.25, 2, 3)).toBe(false); // and it takes a long turn again to start
  });

  it('can be turned off', () => {
    const { policy, advance, at } = setup({ eventLoop: { turnBudgetMs: false } });
    feed(policy, advance, busyOpenLoop, 3);
    expect(at(500, 500, 50).decide('normal', 0, 0.99).shed).toBe(false);
  });

  /**
   * A CPU-bound server, simulated turn by turn: an admitted request costs 3 ms of loop time (capacity 333 req/s),
   * a rejection 0.06 ms. Requests that arrive during a turn are dispatched, in order, in the next one (Node reads
   * every ready socket in one poll phase); every 100 ms of loop time the monitor takes a sample.
   */
  function simulateTurns(
    { policy, advance, at }: ReturnType<typeof setup>,
    rate: number,
    ms: number,
  ) {
    let now = 0;
    let pending = 0;
    let carry = 0;
    let previousTurnMs = 0;
    let nextSample = 100;
    let sampleAdmitted = 0;
    let turnMax = 0;
    const out = { admitted: 0, shed: 0, maxTurnMs: 0, maxWaitMs: 0, admits: [] as number[] };
    while (now < ms) {
      const n = Math.floor(pending);
      let t = 0;
      for (let i = 0; i < n; i++) {
        if (at(t, previousTurnMs, 0).decide('normal', 0, 0.999).shed) {
          t += 0.06;
          out.shed++;
        } else {
          // it waited the whole previous turn in the kernel, at worst, then t in this one
          out.maxWaitMs = Math.max(out.maxWaitMs, previousTurnMs + t);
          t += 3;
          out.admitted++;
          sampleAdmitted++;
        }
      }
      const turn = Math.max(t, 0.5); // an idle turn: the poll phase waits for the next arrival
      pending -= n;
      carry += (rate * turn) / 1000;
      pending += carry;
      carry = 0;
      previousTurnMs = turn;
      turnMax = Math.max(turnMax, turn);
      out.maxTurnMs = Math.max(out.maxTurnMs, now > 1000 ? turn : 0);
      now += turn;
      if (now >= nextSample) {
        advance(now - (nextSample - 100));
        policy.onSample({
          ...busyOpenLoop,
          elu: Math.min(1, (sampleAdmitted * 3) / 100),
          delayP99Ms: turnMax,
          turnMaxMs: turnMax,
          completionRate: sampleAdmitted * 10,
        });
        out.admits.push(policy.state().admitFraction);
        nextSample = now + 100;
        sampleAdmitted = 0;
        turnMax = 0;
      }
    }
    return out;
  }

  it.each([2, 5])(
    'holds goodput at %d× overload near capacity, with short turns and no cut by fraction',
    (factor) => {
      const s = setup();
      s.policy.onSample({ ...busyOpenLoop, elu: 0.5, delayP99Ms: 5 });
      simulateTurns(s, 333 * factor, 1000); // the onset
      const r = simulateTurns(s, 333 * factor, 5000);
      // goodput: admitted work per second against the 333 req/s capacity (rejections take the rest)
      const goodput = r.admitted / 5 / 333;
      expect(goodput).toBeGreaterThanOrEqual(factor === 2 ? 0.95 : 0.9);
      expect(r.maxTurnMs).toBeLessThan(12); // 5 ms budget + the last admitted request + the rejections
      expect(r.maxWaitMs).toBeLessThan(25); // nobody admitted waited long: no timeouts building up
      expect(r.admits.every((a) => a === 1)).toBe(true);
    },
  );

  it('without it, the same loop is held by fraction: turns stay long while the controller finds the level', () => {
    const s = setup({ eventLoop: { turnBudgetMs: false } });
    s.policy.onSample({ ...busyOpenLoop, elu: 0.5, delayP99Ms: 5 });
    simulateTurns(s, 333 * 5, 1000);
    const r = simulateTurns(s, 333 * 5, 5000);
    expect(r.admits.some((a) => a < 1)).toBe(true);
    expect(r.maxTurnMs).toBeGreaterThan(12);
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
