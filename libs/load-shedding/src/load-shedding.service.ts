import {
  Inject,
  Injectable,
  Logger,
  Optional,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import {
  InFlightTracker,
  MetricsSink,
  UtilisationMonitor,
  LabelledCounts,
  mirrorCounter,
  type UtilisationSample,
} from '@steady/core';
import type { IncomingMessage } from 'node:http';
import { PRIORITIES, STEADY_LOAD_SHEDDING_OPTIONS } from './load-shedding.constants';
import type {
  Priority,
  ResolvedLoadSheddingOptions,
  ShedRouteOptions,
} from './load-shedding-options.interface';
import { ShedPolicy, type PolicyState, type ShedReason } from './shed.policy';

/** The outcome of {@link LoadSheddingService.check}. */
export interface ShedVerdict {
  /** Reject this request (false in shadow mode, where it is only counted). */
  readonly shed: boolean;
  /** The decision was to shed, whether or not it was enforced. */
  readonly wouldShed: boolean;
  readonly reason: ShedReason | undefined;
  readonly priority: Priority | undefined;
}

/** The live state, for health, metrics and the explain view. */
export interface LoadSheddingState extends PolicyState {
  enabled: boolean;
  shadow: boolean;
  inFlight: number;
  maxInFlight: number;
  /** in-flight / maxInFlight, live. */
  utilisation: number;
  admittedTotal: number;
  shedTotal: number;
  wouldShedTotal: number;
}

const ADMIT: ShedVerdict = Object.freeze({
  shed: false,
  wouldShed: false,
  reason: undefined,
  priority: undefined,
});
const SHADOW_LOG_INTERVAL_MS = 10_000;
/** EWMA weight per monitor sample of the critical in-flight count (~0.5 s to follow a sustained change). */
const CRITICAL_SMOOTHING = 0.3;

/**
 * Decides, per request, whether to shed it, from the `@steady/core` signal: the live in-flight count (per
 * request) and the monitor's samples (event loop, heap, custom signals; on its timer, never per request).
 * Used by the admission hook at the HTTP server (before routing and body parsing) and by {@link ShedGuard}.
 *
 * @publicApi
 */
@Injectable()
export class LoadSheddingService implements OnModuleInit, OnModuleDestroy {
  protected readonly logger = new Logger('LoadShedding');
  protected readonly policy: ShedPolicy;
  private enabled: boolean;
  private shadow: boolean;
  private unsubscribe: (() => void) | undefined;
  private admitted = 0;
  private readonly shedCounts = new LabelledCounts(['reason', 'priority'] as const);
  private readonly wouldShedCounts = new LabelledCounts(['reason', 'priority'] as const);
  private shed = 0;
  private wouldShed = 0;
  private lastShadowLog = -Infinity;
  private recentPeak = 0;
  private criticalSmoothed = 0;
  /** Uniform draws in [0, 1); `protected` so a test or a subclass can make decisions deterministic. */
  protected random: () => number = Math.random;

  constructor(
    @Inject(STEADY_LOAD_SHEDDING_OPTIONS) readonly options: ResolvedLoadSheddingOptions,
    protected readonly tracker: InFlightTracker,
    protected readonly monitor: UtilisationMonitor,
    @Optional() @Inject(MetricsSink) protected readonly metrics?: MetricsSink,
  ) {
    this.policy = new ShedPolicy(options, undefined, tracker);
    this.enabled = options.enabled;
    this.shadow = options.shadow;
  }

  onModuleInit(): void {
    this.unsubscribe = this.monitor.onSample((s) => this.onSample(s));
    this.registerMetrics();
  }

  onModuleDestroy(): void {
    this.unsubscribe?.();
  }

  /** Turns shedding on or off at run time (the kill switch). */
  setEnabled(enabled: boolean): void {
    if (enabled !== this.enabled)
      this.logger.log(`load shedding ${enabled ? 'enabled' : 'disabled'}`);
    this.enabled = enabled;
  }

  /** Shadow mode: decide and count, reject nothing. */
  setShadow(shadow: boolean): void {
    if (shadow !== this.shadow) this.logger.log(`shadow mode ${shadow ? 'on' : 'off'}`);
    this.shadow = shadow;
  }

  get isEnabled(): boolean {
    return this.enabled;
  }

  get isShadow(): boolean {
    return this.shadow;
  }

  /**
   * The per-request fast path: when nothing is pressing and in-flight is below the soft threshold, counts the
   * request as admitted and returns true without looking at it.
   */
  admitIfCalm(): boolean {
    if (!this.enabled || !this.policy.isCalm(this.tracker.inFlight)) return false;
    this.policy.countCalm();
    this.admitted++;
    return true;
  }

  /**
   * Decides for one request. Cheap when the server is calm (a comparison and a counter); resolves the bypass
   * predicate and the priority only under pressure.
   */
  check(req: IncomingMessage, route?: ShedRouteOptions): ShedVerdict {
    if (!this.enabled) return ADMIT;
    if (this.admitIfCalm()) return ADMIT;
    if (this.options.bypass?.(req)) {
      this.policy.countCalm();
      this.admitted++;
      return ADMIT;
    }
    const priority = this.resolvePriority(req, route);
    const decision = this.policy.decide(priority, this.inFlightFor(priority), this.random());
    if (!decision.shed) {
      this.admitted++;
      this.tracker.classify(req, priority);
      return { shed: false, wouldShed: false, reason: undefined, priority };
    }
    const reason = decision.reason ?? 'in_flight';
    if (this.shadow) {
      this.admitted++;
      this.tracker.classify(req, priority);
      this.wouldShed++;
      this.wouldShedCounts.inc({ reason, priority });
      this.logShadow(reason, priority);
      return { shed: false, wouldShed: true, reason, priority };
    }
    this.shed++;
    this.shedCounts.inc({ reason, priority });
    return { shed: true, wouldShed: true, reason, priority };
  }

  /** `Retry-After` in whole seconds: the base plus a random jitter, so rejected clients do not retry in step. */
  retryAfterSeconds(): number {
    const { base, jitter } = this.options.retryAfter;
    return base + Math.floor(this.random() * (jitter + 1));
  }

  /** The JSON body of a rejection. */
  rejectionBody(verdict: ShedVerdict): {
    statusCode: number;
    error: string;
    message: string;
    reason?: string;
  } {
    const status = this.options.statusCode;
    return {
      statusCode: status,
      error: status === 429 ? 'Too Many Requests' : 'Service Unavailable',
      message: this.options.message,
      reason: verdict.reason,
    };
  }

  state(): LoadSheddingState {
    const inFlight = this.tracker.inFlight;
    return {
      ...this.policy.state(),
      enabled: this.enabled,
      shadow: this.shadow,
      inFlight,
      maxInFlight: this.options.maxInFlight,
      utilisation: inFlight / this.options.maxInFlight,
      admittedTotal: this.admitted,
      shedTotal: this.shed,
      wouldShedTotal: this.wouldShed,
    };
  }

  /**
   * The in-flight count a request of `priority` is judged by: everything in flight except the requests known to
   * be of a lower priority. So sheddable traffic never uses up the room critical traffic is judged by, and
   * critical traffic is shed only when critical (and untagged) work alone fills the band. Requests admitted on
   * the calm fast path carry no priority and count against every class.
   */
  protected inFlightFor(priority: Priority): number {
    const t = this.tracker;
    switch (priority) {
      case 'sheddable':
        // Shed first means yielding to any sign of saturation: the peak of the last sample, not only the live
        // count, so sheddable work does not slip in through the troughs of a bursty load.
        return Math.max(t.inFlight, this.recentPeak);
      case 'normal':
        return t.inFlight - t.inFlightOf('sheddable');
      case 'critical':
        // Shed last means riding out bursts: a burst of critical work queues for a moment and drains (critical
        // load at 90 % of capacity fills the band now and then at random), so critical traffic is judged by the
        // smaller of its live count and its count smoothed over the last samples — only sustained overload sheds it.
        return Math.min(this.criticalNow(), this.criticalSmoothed);
    }
  }

  private criticalNow(): number {
    const t = this.tracker;
    return t.inFlight - t.inFlightOf('sheddable') - t.inFlightOf('normal');
  }

  /** Priority of a request: the resolver, else the route's `@Shed({ priority })`, else the header, else the default. */
  protected resolvePriority(req: IncomingMessage, route?: ShedRouteOptions): Priority {
    const fromResolver = this.options.priorityResolver?.(req);
    if (fromResolver && (PRIORITIES as readonly string[]).includes(fromResolver))
      return fromResolver;
    if (route?.priority) return route.priority;
    const header = this.options.priorityHeader;
    if (header) {
      const raw = req.headers[header];
      const value = (Array.isArray(raw) ? raw[0] : raw)?.trim().toLowerCase();
      if (value && (PRIORITIES as readonly string[]).includes(value)) return value as Priority;
    }
    return this.options.defaultPriority;
  }

  private onSample(s: UtilisationSample): void {
    this.recentPeak = s.inFlightPeak;
    this.criticalSmoothed += CRITICAL_SMOOTHING * (this.criticalNow() - this.criticalSmoothed);
    const signals: Record<string, number> = {};
    for (const signal of this.options.signals) {
      try {
        signals[signal.name] = signal.read();
      } catch {
        // a broken custom signal must not stop the others; it simply reads as absent
      }
    }
    this.policy.onSample({
      elu: s.elu,
      delayP99Ms: s.eventLoopDelay.p99,
      heapRatio: s.heap.ratio,
      completionRate: s.completionRate,
      connections: s.connections,
      turnMaxMs: s.requestTurnMaxMs,
      signals,
    });
  }

  private logShadow(reason: string, priority: Priority): void {
    const now = performance.now();
    if (now - this.lastShadowLog < SHADOW_LOG_INTERVAL_MS) return;
    this.lastShadowLog = now;
    this.logger.warn(
      `shadow mode: would shed (${reason}, ${priority}); ${this.wouldShed} would-shed so far, in flight ${this.tracker.inFlight}/${this.options.maxInFlight}`,
    );
  }

  private registerMetrics(): void {
    const m = this.metrics;
    if (!m) return;
    const labelNames = this.shedCounts.labelNames;
    mirrorCounter(
      m,
      {
        name: 'shed_requests_total',
        help: 'Requests rejected by load shedding, by reason and priority',
        labelNames,
      },
      () => this.shedCounts.series(),
    );
    mirrorCounter(
      m,
      {
        name: 'shed_would_shed_requests_total',
        help: 'Requests shadow mode would have rejected (admitted), by reason and priority',
        labelNames,
      },
      () => this.wouldShedCounts.series(),
    );
    mirrorCounter(
      m,
      { name: 'shed_admitted_requests_total', help: 'Requests load shedding admitted' },
      () => this.admitted,
    );
    m.gauge({
      name: 'shed_max_in_flight_requests',
      help: 'The in-flight limit (maxInFlight)',
      collect: (g) => g.set(undefined, this.options.maxInFlight),
    });
    m.gauge({
      name: 'shed_in_flight_utilization_ratio',
      help: 'Requests in flight / maxInFlight (the seed rule sheds from 0.85)',
      collect: (g) => g.set(undefined, this.tracker.inFlight / this.options.maxInFlight),
    });
    m.gauge({
      name: 'shed_in_flight_requests',
      help: 'Requests in flight by the priority they were admitted with under pressure (calm-path requests carry none)',
      labelNames: ['priority'],
      collect: (g) => {
        for (const p of PRIORITIES) g.set({ priority: p }, this.tracker.inFlightOf(p));
      },
    });
    m.gauge({
      name: 'shed_admit_ratio',
      help: 'Fraction of each priority the event-loop controller admits (1 = no shedding)',
      labelNames: ['priority'],
      collect: (g) => {
        const by = this.policy.state().admitByPriority;
        for (const p of PRIORITIES) g.set({ priority: p }, by[p]);
      },
    });
    m.gauge({
      name: 'shed_signal_level_ratio',
      help: 'Level of each banded signal: 0 at its soft threshold, 1 at its hard threshold (negative: calm)',
      labelNames: ['signal'],
      collect: (g) => {
        for (const [signal, level] of Object.entries(this.policy.state().levels))
          g.set({ signal }, level);
      },
    });
    m.gauge({
      name: 'shed_enabled',
      help: '1 when load shedding is enabled',
      collect: (g) => g.set(undefined, this.enabled ? 1 : 0),
    });
    m.gauge({
      name: 'shed_shadow_mode',
      help: '1 when load shedding runs in shadow mode (counts, rejects nothing)',
      collect: (g) => g.set(undefined, this.shadow ? 1 : 0),
    });
  }
}
