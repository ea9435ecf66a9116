import type {
  Priority,
  ResolvedLoadSheddingOptions,
  ShedBand,
} from './load-shedding-options.interface';

/** Why a request was (or would have been) shed. */
export type ShedReason = 'in_flight' | 'event_loop' | 'heap' | string;

export interface ShedDecision {
  readonly shed: boolean;
  readonly reason: ShedReason | undefined;
  /** Probability of shedding this request's priority right now, 0..1. */
  readonly probability: number;
}

/** The readings the policy needs from one monitor sample. */
export interface PolicySample {
  elu: number;
  delayP99Ms: number;
  heapRatio: number;
  /** Requests released per second over the interval (capacity, when saturated). */
  completionRate: number;
  /** Client connections open (a growing count while saturated: work queueing in front of the server). */
  connections?: number;
  /** The longest request turn of the interval, ms (see `UtilisationSample.requestTurnMaxMs`). */
  turnMaxMs?: number;
  /** Custom signal readings by name. */
  signals: Readonly<Record<string, number>>;
}

/**
 * The event-loop turn the request being decided is dispatched in, as the `@steady/core` `InFlightTracker` measures
 * it (the tracker is passed as is).
 */
export interface TurnClock {
  /** Work (ms) done in the current turn before this request. */
  turnElapsedMs(): number;
  /** Length (ms) of the last completed request turn. */
  readonly previousTurnMs: number;
  /** Turns in a row, up to the last completed one, that accepted a connection. */
  readonly acceptingTurnStreak: number;
}

/** No turns seen (a policy used without a tracker): the per-turn budget never applies. */
const NO_TURNS: TurnClock = { turnElapsedMs: () => 0, previousTurnMs: 0, acceptingTurnStreak: 0 };

/** A snapshot of the policy for metrics, health and the explain view. */
export interface PolicyState {
  /** In-flight level at the last decision: 0 at the soft threshold, 1 at the hard one. */
  inFlightLevel: number;
  /** Smoothed event-loop utilisation and delay p99 (ms) the controller acts on. */
  elu: number;
  delayP99Ms: number;
  /** Fraction of all traffic the event-loop controller admits (1 = no shedding). */
  admitFraction: number;
  /** Admitted fraction per priority after allocation (critical first). */
  admitByPriority: Readonly<Record<Priority, number>>;
  /** Levels of the banded slow signals (heap, custom): 0 at soft, 1 at hard. */
  levels: Readonly<Record<string, number>>;
  /** Whether any priority is being shed at all (ignoring the live in-flight count). */
  pressured: boolean;
}

const ADMIT_ALL = 0;
const ELU_SATURATED = 0.98;
const SATURATED_STEP = 0.5;
/** Consecutive saturated samples before the controller halves the admitted fraction. */
const PINNED_SAMPLES = 2;
const HYSTERESIS = 0.05;
const MAX_STEP_UP = 2;
const MAX_STEP_DOWN = 0.1;
/** Consecutive samples a queueing reading must hold to start the controller (a stall of the clients is shorter). */
const ONSET_STREAK = 2;
/** Consecutive clearly-not-queueing samples that stop the controller. */
const RELEASE_STREAK = 3;
/** Below this fraction of the delay threshold, the queue estimate says nothing is queueing. */
const NOT_QUEUEING = 0.25;
/** Samples (~300 ms at the default interval) over which the queueing estimate is averaged. */
const QUEUE_WINDOW = 3;

/** Turns in a row that accepted a connection before an over-budget turn counts as the onset of an open-loop overload. */
const ACCEPTING_TURNS = 3;
/** Share of `turnBudgetMs` while connections wait to be accepted (every recent turn accepted one). */
const BACKLOG_SHARE = 0.25;
/** Share of `turnBudgetMs` each priority may queue behind in one loop turn. */
const TURN_SHARE: Readonly<Record<Priority, number>> = { sheddable: 0.5, normal: 1, critical: 2 };

/**
 * The shedding policy, separated from Nest so it can be tested with fake samples and a fake random source.
 *
 * Two kinds of signal, because they behave differently:
 * - **Banded** signals (the live in-flight ratio; smoothed heap and custom signals) shed proportionally between a
 *   soft and a hard threshold. Sheddable traffic is all shed at the middle of the band, normal traffic at the hard
 *   threshold, critical traffic only beyond it (`criticalReserve` band widths). The in-flight count is read live,
 *   per request, so this reacts with no sampling delay — it is the seed's 85 % rule made non-binary.
 * - **Event-loop** signals: the loop is overloaded when it is busy (interval ELU at or above `eluTarget`), slow to
 *   turn around (delay p99 above `delayThresholdMs`) and, with `openLoopOnly`, work queues in front of it (open
 *   connections / arrival rate above the delay threshold: Little's law, so a saturated closed loop is left alone).
 *   Then a multiplicative feedback controller holds the admitted fraction at the ELU target:
 *   `admit ← admit · target / measured` per sample (scale-free, so stable at 2× and at 10× overload where a fixed
 *   band oscillates); two saturated samples in a row halve it, since an ELU of 1 hides the size of the overload.
 *   It lets go once everything is admitted and ELU is `HYSTERESIS` below target. The admitted load is allocated by
 *   priority: critical first, then normal, then sheddable.
 */
export class ShedPolicy {
  private eluSmoothed = 0;
  private delaySmoothed = 0;
  private admit = 1;
  private controlling = false;
  private admitBy: Record<Priority, number> = { critical: 1, normal: 1, sheddable: 1 };
  private levels: Record<string, number> = {};
  private maxLevel = -Infinity;
  private lastInFlightLevel = -Infinity;
  private arrivals: Record<Priority, number> = { critical: 0, normal: 0, sheddable: 0 };
  private unclassified = 0;
  private lastSampleAt: number | undefined;
  private readonly inFlightSoft: number;
  private readonly turnBudgetMs: number;
  private readonly acceptOnsetMs: number;
  /** Connections are waiting to be accepted and a busy loop's turn got long: limit turns until a turn accepts none. */
  private acceptLatch = false;
  private pinnedStreak = 0;
  /** The last sample's queue estimate said work is queueing in front of the server (an open loop). */
  private queueing = false;
  /** The last sample's event loop was at or above the ELU target. */
  private busy = false;
  private queueingStreak = 0;
  private idleQueueStreak = 0;
  private readonly queueHistory: Array<{ connections: number; arrivals: number; ms: number }> = [];

  constructor(
    protected readonly options: ResolvedLoadSheddingOptions,
    private readonly now: () => number = () => performance.now(),
    private readonly turns: TurnClock = NO_TURNS,
  ) {
    this.inFlightSoft = options.inFlight ? options.inFlight.soft * options.maxInFlight : Infinity;
    const el = options.eventLoop;
    const budget = el ? el.turnBudgetMs : false;
    this.turnBudgetMs = budget === false ? Infinity : budget;
    this.acceptOnsetMs = el && el.delayThresholdMs !== false ? el.delayThresholdMs / 2 : 25;
  }

  /**
   * How much work (ms) a normal request may find ahead of it in the current loop turn; `Infinity` when turns are not
   * limited. Limited while the controller is engaged (an open loop overloading the loop), and before a sample can
   * confirm it in two cases: the loop is busy (last sample at the ELU target), the last turn was over budget and the
   * last sample's queue estimate says work queues in front of the server; or connections are waiting in the kernel
   * — every one of the last `ACCEPTING_TURNS` turns accepted one (Node accepts one per turn) — and a turn of a busy
   * loop reached half the delay threshold, which latches until a turn accepts none. While connections wait, the
   * budget is a quarter: short turns are what gets them accepted. A closed loop (no new connections, nothing
   * queueing by Little's law) and one long turn of an otherwise idle loop (a GC, a batch job) are left alone.
   */
  private turnBudget(): number {
    const { previousTurnMs, acceptingTurnStreak } = this.turns;
    const backlog = acceptingTurnStreak >= ACCEPTING_TURNS;
    if (!backlog) this.acceptLatch = false;
    else if (this.busy && previousTurnMs >= this.acceptOnsetMs) this.acceptLatch = true;
    const budget = backlog ? this.turnBudgetMs * BACKLOG_SHARE : this.turnBudgetMs;
    const limited =
      this.controlling ||
      this.acceptLatch ||
      (this.busy && this.queueing && previousTurnMs >= budget);
    return limited ? budget : Infinity;
  }

  /** Whether the request being dispatched finds more than `priority`'s share of the turn budget ahead of it. */
  private overTurnBudget(priority: Priority): boolean {
    const budget = this.turnBudget();
    return budget !== Infinity && this.turns.turnElapsedMs() >= budget * TURN_SHARE[priority];
  }

  /**
   * True when a request can be admitted without looking at it: no slow signal is pressing and the in-flight
   * count is below the soft threshold. The per-request fast path.
   */
  isCalm(inFlight: number): boolean {
    return (
      this.maxLevel <= 0 &&
      this.admit >= 1 &&
      inFlight < this.inFlightSoft &&
      !this.overTurnBudget('sheddable')
    );
  }

  /** Counts a request admitted on the fast path (its priority was not resolved). */
  countCalm(): void {
    this.unclassified++;
  }

  /** Decides for one request. `random` is a uniform draw in [0, 1). */
  decide(priority: Priority, inFlight: number, random: number): ShedDecision {
    this.arrivals[priority]++;
    if (this.overTurnBudget(priority)) {
      // This loop turn has already done its share of work: whatever still waits in it would wait longer than
      // the budget. Reject the rest of the turn (cheaply), so turns stay short and new connections get accepted.
      return { shed: true, reason: 'event_loop', probability: 1 };
    }
    let probability = 0;
    let reason: ShedReason | undefined;
    if (this.options.inFlight) {
      const level = bandLevel(inFlight / this.options.maxInFlight, this.options.inFlight);
      this.lastInFlightLevel = level;
      const p = this.priorityProbability(priority, level);
      if (p > probability) [probability, reason] = [p, 'in_flight'];
    }
    for (const name in this.levels) {
      const p = this.priorityProbability(priority, this.levels[name]);
      if (p > probability) [probability, reason] = [p, name];
    }
    const p = 1 - this.admitBy[priority];
    if (p > probability) [probability, reason] = [p, 'event_loop'];
    const shed = probability > 0 && random < probability;
    return { shed, reason: probability > 0 ? reason : undefined, probability };
  }

  /** Feeds one monitor sample: smooths the slow signals and steps the event-loop controller. */
  onSample(sample: PolicySample): void {
    const at = this.now();
    const elapsedMs = this.lastSampleAt === undefined ? 0 : at - this.lastSampleAt;
    this.lastSampleAt = at;
    this.updateLevels(sample);
    this.stepController(sample, elapsedMs);
    this.arrivals = { critical: 0, normal: 0, sheddable: 0 };
    this.unclassified = 0;
  }

  state(): PolicyState {
    return {
      inFlightLevel: this.lastInFlightLevel,
      elu: this.eluSmoothed,
      delayP99Ms: this.delaySmoothed,
      admitFraction: this.admit,
      admitByPriority: { ...this.admitBy },
      levels: { ...this.levels },
      pressured: this.maxLevel > 0 || this.admit < 1,
    };
  }

  /** The shed probability of `priority` at a banded `level` (0 at soft, 1 at hard). */
  protected priorityProbability(priority: Priority, level: number): number {
    if (level <= ADMIT_ALL) return 0;
    switch (priority) {
      case 'sheddable':
        return clamp01(2 * level);
      case 'normal':
        return clamp01(level);
      case 'critical': {
        const reserve = this.options.criticalReserve;
        if (level <= 1) return 0;
        return reserve === 0 ? 1 : clamp01((level - 1) / reserve);
      }
    }
  }

  private updateLevels(sample: PolicySample): void {
    const alpha = this.options.eventLoop ? this.options.eventLoop.smoothing : 0.5;
    const next: Record<string, number> = {};
    let max = -Infinity;
    const banded = (name: string, value: number, band: ShedBand) => {
      const level = bandLevel(value, band);
      const previous = this.levels[name];
      const smoothed = previous === undefined ? level : previous + alpha * (level - previous);
      next[name] = smoothed;
      if (smoothed > max) max = smoothed;
    };
    if (this.options.heap) banded('heap', sample.heapRatio, this.options.heap);
    for (const signal of this.options.signals) {
      const value = sample.signals[signal.name];
      if (typeof value === 'number' && Number.isFinite(value)) banded(signal.name, value, signal);
    }
    this.levels = next;
    this.maxLevel = max;
  }

  private stepController(sample: PolicySample, elapsedMs: number): void {
    const el = this.options.eventLoop;
    if (!el) return;
    const alpha = el.smoothing;
    this.eluSmoothed =
      this.eluSmoothed === 0
        ? sample.elu
        : this.eluSmoothed + alpha * (sample.elu - this.eluSmoothed);
    this.delaySmoothed =
      this.delaySmoothed === 0
        ? sample.delayP99Ms
        : this.delaySmoothed + alpha * (sample.delayP99Ms - this.delaySmoothed);
    const arrivals = this.totalArrivals();
    const arrivalRate = elapsedMs > 0 ? (arrivals * 1000) / elapsedMs : 0;
    // Light traffic cannot be what keeps the loop busy (start-up JIT, GC, a batch job): never shed for it.
    const light = arrivalRate < el.minRate;
    const eluTarget = el.eluTarget;
    const delayThreshold = el.delayThresholdMs;
    // Onset is read from the raw sample too, so shedding starts within one sample of an overload.
    const busy = eluTarget !== false && Math.max(sample.elu, this.eluSmoothed) >= eluTarget;
    const turnMax = sample.turnMaxMs;
    const slow =
      delayThreshold !== false &&
      (Math.max(sample.delayP99Ms, this.delaySmoothed) > delayThreshold ||
        (turnMax !== undefined && turnMax >= delayThreshold));
    const queueMs = this.queueEstimateMs(sample.connections, arrivals, elapsedMs);
    const queueing = delayThreshold === false || queueMs > delayThreshold;
    this.queueing = queueing && !light;
    this.busy = eluTarget === false || sample.elu >= eluTarget;
    // Unknown connections (a server the tracker does not see) are not held back by the streak either.
    this.queueingStreak = !queueing
      ? 0
      : sample.connections === undefined
        ? ONSET_STREAK
        : this.queueingStreak + 1;
    // Clearly not queueing: rejected work is replaced at once (a closed loop turned into a rejection storm).
    this.idleQueueStreak =
      delayThreshold !== false && queueMs < delayThreshold * NOT_QUEUEING
        ? this.idleQueueStreak + 1
        : 0;
    this.pinnedStreak = sample.elu >= ELU_SATURATED ? this.pinnedStreak + 1 : 0;
    if (!this.controlling) {
      // Overloaded = busy AND slow to turn around: a loop at ELU 1 with short turns (a steady 95 % load) is
      // keeping up and needs nothing shed. And, by default, clients opening new connections: work is queueing
      // in front of the server. A saturated loop on a fixed set of connections is a closed loop; every rejection
      // would be replaced at once, so shedding there only costs throughput.
      const overloaded =
        (eluTarget === false ? slow : delayThreshold === false ? busy : busy && slow) &&
        (!el.openLoopOnly || this.queueingStreak >= ONSET_STREAK);
      if (light || !overloaded) return this.admitAll();
      this.controlling = true;
    } else if (el.openLoopOnly && this.idleQueueStreak >= RELEASE_STREAK) {
      // Shedding made the connections turn around in a few ms while the loop stays busy: the clients replace
      // every rejection at once (a closed loop), so rejecting only burns the loop. Let go.
      this.controlling = false;
      return this.admitAll();
    }
    let factor: number;
    if (light) {
      factor = MAX_STEP_UP;
    } else if (
      this.turnBudgetMs !== Infinity &&
      delayThreshold !== false &&
      turnMax !== undefined &&
      turnMax <= delayThreshold &&
      sample.delayP99Ms <= 2 * delayThreshold
    ) {
      // The turn budget holds the loop: its request turns are short, so it turns around in time while it stays
      // busy (ELU near 1 is the goal here, not a sign of overload), and nothing more is shed by fraction. The
      // delay histogram spans a window of a second or two, so only a delay far above the threshold (work the
      // request turns do not see: timers, immediates) still cuts by fraction.
      factor = MAX_STEP_UP;
    } else if (eluTarget !== false) {
      // Hold admitted load at the ELU target: admit <- admit * target / measured (scale-free, so one gain is
      // stable at 2x and at 10x). ELU saturates at 1 and hides how far over capacity we are, so step harder then.
      // The larger of the raw and the smoothed reading: smoothing damps noise on the way down, but on the way up
      // its lag would overshoot into saturation and start a halve-and-climb cycle.
      factor = eluTarget / Math.max(sample.elu, this.eluSmoothed, 1e-3);
      if (
        this.pinnedStreak >= PINNED_SAMPLES &&
        (delayThreshold === false || sample.delayP99Ms > delayThreshold || queueing)
      ) {
        // Saturated, sample after sample, and backing up: ELU (capped at 1) cannot say by how much, and the work
        // waiting in the kernel or at the clients cannot be seen (the loop delay grows only slowly with it), so
        // halve; the ELU step above then finds the level from below within a few samples. One saturated sample
        // is noise at the target and is left to the ELU step.
        factor = Math.min(factor, SATURATED_STEP);
      }
    } else {
      factor = (delayThreshold as number) / Math.max(this.delaySmoothed, 1e-3);
    }
    factor = Math.min(MAX_STEP_UP, Math.max(MAX_STEP_DOWN, factor));
    this.admit = Math.min(1, Math.max(el.minAdmitFraction, this.admit * factor));
    if (this.admit >= 1) {
      // Everything admitted again: stop controlling once the loop is clearly below its target (hysteresis).
      const calm = eluTarget !== false ? this.eluSmoothed < eluTarget - HYSTERESIS : !slow;
      if (calm || light) this.controlling = false;
      this.admitBy = { critical: 1, normal: 1, sheddable: 1 };
      return;
    }
    this.allocate(arrivals);
  }

  private admitAll(): void {
    this.admit = 1;
    this.admitBy = { critical: 1, normal: 1, sheddable: 1 };
  }

  /**
   * How long a request waits in front of the server, by Little's law: an HTTP/1.1 connection carries one request
   * at a time, so the open connections bound the requests in the system (in flight, or still in the kernel where
   * the server cannot see them), and the arrival rate is the rate they leave. A closed loop of 50 connections at
   * 2 800 req/s waits 18 ms; an open loop piling up connections waits longer every sample. Idle keep-alive
   * connections make it an overestimate, never an underestimate. Averaged over a few samples; unknown connections
   * (a server the tracker does not see) read as queueing, so such a server is not protected less.
   */
  private queueEstimateMs(
    connections: number | undefined,
    arrivals: number,
    elapsedMs: number,
  ): number {
    if (connections === undefined) return Infinity;
    const h = this.queueHistory;
    h.push({ connections, arrivals, ms: elapsedMs });
    if (h.length > QUEUE_WINDOW) h.shift();
    let c = 0;
    let a = 0;
    let ms = 0;
    for (const x of h) {
      c += x.connections;
      a += x.arrivals;
      ms += x.ms;
    }
    if (a === 0 || ms === 0) return c > 0 ? Infinity : 0;
    return c / h.length / (a / ms); // mean connections / arrivals per ms
  }

  /** Admits critical traffic first, then normal, then sheddable, up to `admit` of all arrivals. */
  private allocate(total: number): void {
    if (total === 0) {
      // No traffic seen in the sample, so no mix to allocate by: admit the same fraction of each priority.
      this.admitBy = { critical: this.admit, normal: this.admit, sheddable: this.admit };
      return;
    }
    const a = this.arrivals;
    // Arrivals admitted on the fast path were not classified: count them as normal.
    const normal = a.normal + this.unclassified;
    let budget = this.admit * total;
    const share = (n: number) => {
      if (n === 0) return 1;
      const f = Math.min(1, Math.max(0, budget / n));
      budget = Math.max(0, budget - n);
      return f;
    };
    const floor = this.options.eventLoop ? this.options.eventLoop.minAdmitFraction : 0;
    this.admitBy = {
      critical: Math.max(floor, share(a.critical)),
      normal: Math.max(floor, share(normal)),
      sheddable: Math.max(floor, share(a.sheddable)),
    };
  }

  private totalArrivals(): number {
    return (
      this.arrivals.critical + this.arrivals.normal + this.arrivals.sheddable + this.unclassified
    );
  }
}

/** 0 at `soft`, 1 at `hard`, negative below soft. */
export function bandLevel(value: number, band: ShedBand): number {
  return (value - band.soft) / (band.hard - band.soft);
}

function clamp01(x: number): number {
  return x < 0 ? 0 : x > 1 ? 1 : x;
}
