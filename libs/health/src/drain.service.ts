import {
  Inject,
  Injectable,
  Logger,
  Optional,
  type BeforeApplicationShutdown,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { InFlightTracker, LabelledCounts, MetricsSink, mirrorCounter } from '@steady/core';
import { DRAIN_STATES, STEADY_HEALTH_OPTIONS } from './health.constants';
import type { ResolvedHealthOptions } from './health-options.interface';
import type {
  DrainableApplication,
  DrainedHook,
  DrainPhase,
  DrainRequest,
  DrainSource,
  DrainState,
  DrainStatus,
  DrainTrigger,
} from './drain-state.interface';

/** The parts of a Node HTTP server the drain uses. */
interface DrainableServer {
  close(callback?: (err?: Error) => void): unknown;
  closeIdleConnections?(): void;
  closeAllConnections?(): void;
}

/** After the deadline has destroyed the connections, how long their responses get to emit `close`. */
const FORCE_SETTLE_MS = 1_000;
const MAX_REASON_LENGTH = 200;
const PHASE_LABELS: Record<DrainPhase, string> = {
  lbWait: 'lb_wait',
  inFlightWait: 'in_flight_wait',
  shutdown: 'shutdown',
  total: 'total',
};

/**
 * Takes the instance out of the load balancer without losing a request, then hands over to Nest's shutdown:
 *
 * 1. `serving → draining(reason)`: readiness answers 503 (liveness stays 200), the agent responder answers `drain`;
 *    the server keeps serving while the balancer notices — `max(lb.delayMs, fall × intervalMs + marginMs)`, or
 *    until `lb.probes` readiness probes were refused.
 * 2. `closing`: `server.close()` (stop accepting), `Connection: close` on every response in flight and to come
 *    (through the `@steady/core` tracker), idle keep-alive sockets closed; then waits for the tracker's in-flight
 *    count — the count the shedder limits — to reach 0. At the hard deadline (`deadlineMs` from the trigger) the
 *    connections still open are destroyed.
 * 3. The `onDrained` hooks, then `app.close(signal)`: Nest's shutdown hooks run after the HTTP drain.
 * 4. `exited`; then, if asked, the process exits (a signal is raised again, like Nest does; or `process.exit(code)`).
 *
 * Triggered by SIGTERM/SIGINT ({@link enableDrainHooks}), by {@link drain} (the OOM guard, your code), by the
 * admin endpoint, or by `app.close()` itself (then without the balancer wait: the owner closes now). Idempotent:
 * a second trigger joins the running sequence. Never relies on `forceCloseConnections` or `return503OnClosing`.
 *
 * @publicApi
 */
@Injectable()
export class DrainService
  implements OnModuleInit, BeforeApplicationShutdown, OnApplicationShutdown
{
  protected readonly logger = new Logger('Drain');
  private current: DrainState = 'serving';
  private trigger: DrainTrigger | undefined;
  private since: number | undefined;
  private startedAt = 0;
  private sequence: Promise<DrainStatus> | undefined;
  private handoverReady: Promise<void> | undefined;
  private releaseHandover: () => void = () => undefined;
  private refused = 0;
  private forced = 0;
  private durations: Partial<Record<DrainPhase, number>> = {};
  private readonly inFlightAt: Partial<Record<'draining' | 'closing' | 'shutdown', number>> = {};
  private readonly stateListeners = new Set<(status: DrainStatus) => void>();
  private readonly drainedHooks = new Set<DrainedHook>();
  private readonly triggerCounts = new LabelledCounts(['source', 'result'] as const);
  private readonly signalHandlers = new Map<string, () => void>();
  private onProbeRefused: (() => void) | undefined;
  private app: DrainableApplication | undefined;
  private handingOver = false;

  constructor(
    @Inject(STEADY_HEALTH_OPTIONS) readonly options: ResolvedHealthOptions,
    protected readonly tracker: InFlightTracker,
    @Optional() protected readonly adapterHost?: HttpAdapterHost,
    @Optional() @Inject(MetricsSink) protected readonly metrics?: MetricsSink,
  ) {}

  /** The current state. */
  get state(): DrainState {
    return this.current;
  }

  /** `true` until a drain starts: readiness is UP. */
  get isServing(): boolean {
    return this.current === 'serving';
  }

  /** Where the drain is, with the numbers readiness, the admin endpoint and metrics show. */
  status(): DrainStatus {
    const durations = { ...this.durations };
    if (this.trigger && durations.total === undefined)
      durations.total = this.now() - this.startedAt;
    return {
      state: this.current,
      source: this.trigger?.source,
      reason: this.trigger?.reason,
      since: this.since,
      inFlight: this.tracker.inFlight,
      refusedProbes: this.refused,
      forcedRequests: this.forced,
      durations,
    };
  }

  /**
   * Starts the drain (or joins the one under way) and resolves once it has `exited`: readiness flips to DOWN
   * before this returns. No process exit unless `exitCode` is given (here or in the module options).
   *
   * @example
   * await drain.drain('memory', { exitCode: 70 });
   */
  drain(reason: string, request: DrainRequest = {}): Promise<DrainStatus> {
    return this.start({
      source: 'api',
      reason: cleanReason(reason),
      exit: request.exitCode ?? this.options.exitCode,
    });
  }

  /** Starts a drain from any source; a second trigger joins the running sequence (and is counted as ignored). */
  start(trigger: DrainTrigger): Promise<DrainStatus> {
    if (this.sequence) {
      this.count(trigger.source, 'ignored');
      this.logger.log(
        `drain already under way (${this.current}, ${this.trigger?.reason}); ignoring ${trigger.source} trigger "${trigger.reason}"`,
      );
      return this.sequence;
    }
    this.count(trigger.source, 'started');
    this.trigger = { ...trigger, reason: cleanReason(trigger.reason) };
    this.since = Date.now();
    this.startedAt = this.now();
    this.handoverReady = new Promise<void>((resolve) => (this.releaseHandover = resolve));
    this.sequence = this.run(this.trigger);
    return this.sequence;
  }

  /** Calls `listener` on every state change; returns the function that unsubscribes it. */
  onStateChange(listener: (status: DrainStatus) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  /**
   * Runs `hook` after the HTTP drain (server closed, in-flight 0) and before Nest's shutdown: work that must not
   * overlap requests. Returns the function that removes it.
   */
  onDrained(hook: DrainedHook): () => void {
    this.drainedHooks.add(hook);
    return () => this.drainedHooks.delete(hook);
  }

  /** Counts a readiness probe answered 503 (called by the readiness endpoint). */
  recordRefusedProbe(): void {
    if (this.current === 'serving') return;
    this.refused++;
    this.onProbeRefused?.();
  }

  /** The application to hand over to (`app.close()`) once the HTTP drain is done. Set by {@link enableDrainHooks}. */
  attachApplication(app: DrainableApplication): void {
    this.app = app;
  }

  /**
   * Drains on these signals instead of closing at once. After the drain the signal is raised again (the process
   * ends the way it would have without a handler) or, with a number, `process.exit(exit)`.
   */
  listenToSignals(signals: readonly NodeJS.Signals[], exit: 'reraise' | number = 'reraise'): void {
    for (const signal of signals) {
      if (this.signalHandlers.has(signal)) continue;
      if (process.listenerCount(signal) > 0) {
        this.logger.warn(
          `${signal} already has a listener (app.enableShutdownHooks()?): it may close the app before the drain; ` +
            `let enableDrainHooks() own ${signal}`,
        );
      }
      const handler = () => void this.start({ source: 'signal', reason: signal, signal, exit });
      this.signalHandlers.set(signal, handler);
      process.on(signal, handler);
    }
  }

  /** Stops listening to the signals (done at shutdown, before a re-raised signal ends the process). */
  removeSignalListeners(): void {
    for (const [signal, handler] of this.signalHandlers) process.removeListener(signal, handler);
    this.signalHandlers.clear();
  }

  onModuleInit(): void {
    this.registerMetrics();
  }

  /**
   * `app.close()` called directly (not by the drain): drain the HTTP server first — no balancer wait, the owner is
   * closing now — so in-flight requests finish before Nest disposes the server. During a drain, waits for it.
   */
  async beforeApplicationShutdown(signal?: string): Promise<void> {
    if (!this.sequence) {
      void this.start({
        source: 'app_close',
        reason: signal ?? 'app.close()',
        signal,
        exit: false,
        skipLbWait: true,
      });
    } else if (!this.handingOver) {
      this.count('app_close', 'ignored');
    }
    await this.handoverReady;
  }

  onApplicationShutdown(): void {
    this.removeSignalListeners();
  }

  /** `performance.now()`; `protected` so a subclass (or a test) can substitute the clock. */
  protected now(): number {
    return performance.now();
  }

  private async run(trigger: DrainTrigger): Promise<DrainStatus> {
    const deadlineAt = this.startedAt + this.options.deadlineMs;
    this.inFlightAt.draining = this.tracker.inFlight;
    this.setState('draining');
    const wait = trigger.skipLbWait
      ? 'no load-balancer wait (app.close())'
      : `waiting ${this.options.lbWaitMs} ms for the load balancer` +
        (this.options.lb.probes !== false ? ` (or ${this.options.lb.probes} refused probes)` : '');
    this.logger.warn(
      `draining (${trigger.reason}): readiness DOWN, ${this.tracker.inFlight} in flight; ${wait}`,
    );
    try {
      if (!trigger.skipLbWait) await this.waitForLoadBalancer();
      this.durations.lbWait = this.now() - this.startedAt;
      await this.closeHttp(deadlineAt);
    } catch (err) {
      this.logger.error(`HTTP drain failed: ${(err as Error).message}`, (err as Error).stack);
    }
    const shutdownAt = this.now();
    this.inFlightAt.shutdown = this.tracker.inFlight;
    const done = await withTimeout(this.handOver(trigger), this.options.shutdownTimeoutMs);
    if (!done) {
      this.logger.error(
        `the onDrained hooks and the Nest shutdown did not finish within ${this.options.shutdownTimeoutMs} ms`,
      );
    }
    this.releaseHandover();
    this.durations.shutdown = this.now() - shutdownAt;
    this.durations.total = this.now() - this.startedAt;
    this.setState('exited');
    const d = this.durations;
    this.logger.log(
      `drained (${trigger.reason}) in ${ms(d.total)}: load balancer ${ms(d.lbWait)}, in-flight ${ms(d.inFlightWait)}` +
        `, shutdown ${ms(d.shutdown)}; ${this.refused} probes refused, ${this.forced} requests forced`,
    );
    const status = this.status();
    try {
      this.terminate(trigger);
    } catch (err) {
      this.logger.error(`could not end the process: ${(err as Error).message}`);
    }
    return status;
  }

  /** Resolves once the balancer has had time to notice (or `lb.probes` probes were refused, plus `marginMs`). */
  protected waitForLoadBalancer(): Promise<'timer' | 'probes'> {
    const { lbWaitMs } = this.options;
    const { probes, marginMs } = this.options.lb;
    return new Promise((resolve) => {
      let settle: NodeJS.Timeout | undefined;
      const finish = (why: 'timer' | 'probes') => {
        clearTimeout(timer);
        clearTimeout(settle);
        this.onProbeRefused = undefined;
        resolve(why);
      };
      const timer = setTimeout(() => finish('timer'), lbWaitMs);
      if (probes !== false) {
        this.onProbeRefused = () => {
          if (this.refused >= probes && settle === undefined) {
            settle = setTimeout(() => finish('probes'), marginMs);
          }
        };
        this.onProbeRefused();
      }
    });
  }

  /**
   * Stop accepting, close keep-alive connections, wait for in-flight to reach 0 and then for the last connection to
   * end (a connection accepted before the close may still deliver a request); force at the deadline.
   */
  private async closeHttp(deadlineAt: number): Promise<void> {
    const closingAt = this.now();
    const remaining = () => Math.max(0, deadlineAt - this.now());
    this.inFlightAt.closing = this.tracker.inFlight;
    this.setState('closing');
    const marked = this.tracker.setConnectionClose(true);
    const server = this.httpServer();
    // the callback runs once every connection has ended (at once, with an error, if the server was not listening)
    const connectionsEnded = new Promise<void>((resolve) =>
      server ? server.close(() => resolve()) : resolve(),
    );
    server?.closeIdleConnections?.();
    this.logger.log(
      `closing: stopped accepting after ${this.refused} refused readiness probes; ` +
        `${this.tracker.inFlight} in flight (${marked} marked Connection: close)`,
    );
    const fall = this.options.lb.fall;
    if (!this.trigger?.skipLbWait && this.refused > 0 && this.refused < fall) {
      this.logger.warn(
        `only ${this.refused} of lb.fall = ${fall} readiness probes were refused before closing: the load balancer ` +
          `may still route here (slow checks?); raise lb.marginMs or use lb.probes`,
      );
    }
    let drained = await this.tracker.waitForIdle(remaining());
    if (drained) {
      // a response whose headers were out before the flip kept its connection alive: close it now that it is idle
      server?.closeIdleConnections?.();
      drained = await settlesWithin(connectionsEnded, remaining());
    }
    if (!drained) {
      this.forced = this.tracker.inFlight;
      this.logger.error(
        `hard deadline (${this.options.deadlineMs} ms) reached with ${this.forced} requests in flight: ` +
          `destroying the connections left (oldest requests: ${describeOldest(this.tracker)})`,
      );
      server?.closeAllConnections?.();
      if (!(await this.tracker.waitForIdle(FORCE_SETTLE_MS))) {
        this.logger.error(`${this.tracker.inFlight} requests still counted after the forced close`);
      }
    }
    this.durations.inFlightWait = this.now() - closingAt;
  }

  /** The `onDrained` hooks, then Nest's shutdown (unless Nest's shutdown is what called us). */
  protected async handOver(trigger: DrainTrigger): Promise<void> {
    const status = this.status();
    for (const hook of [...this.drainedHooks]) {
      try {
        await hook(status);
      } catch (err) {
        this.logger.error(`an onDrained hook failed: ${(err as Error).message}`);
      }
    }
    this.releaseHandover();
    if (trigger.source === 'app_close') return;
    if (!this.app) {
      this.logger.warn(
        'no application attached (call enableDrainHooks(app)): Nest shutdown hooks were not run',
      );
      return;
    }
    this.handingOver = true;
    await this.app.close(trigger.signal);
  }

  /** Ends the process as the trigger asked; `protected` so a test (or a supervisor-less app) can replace it. */
  protected terminate(trigger: DrainTrigger): void {
    if (trigger.exit === 'reraise' && trigger.signal) {
      this.removeSignalListeners();
      process.kill(process.pid, trigger.signal);
    } else if (typeof trigger.exit === 'number') {
      process.exit(trigger.exit);
    }
  }

  /** The Node HTTP server under the Nest adapter, if any. */
  protected httpServer(): DrainableServer | undefined {
    const server: unknown = this.adapterHost?.httpAdapter?.getHttpServer?.();
    return server && typeof (server as DrainableServer).close === 'function'
      ? (server as DrainableServer)
      : undefined;
  }

  private setState(state: DrainState): void {
    this.current = state;
    const status = this.status();
    for (const listener of [...this.stateListeners]) {
      try {
        listener(status);
      } catch (err) {
        this.logger.error(`a drain state listener threw: ${(err as Error).message}`);
      }
    }
  }

  private count(source: DrainSource, result: 'started' | 'ignored'): void {
    this.triggerCounts.inc({ source, result });
  }

  private registerMetrics(): void {
    const m = this.metrics;
    if (!m) return;
    m.gauge({
      name: 'drain_state',
      help: '1 for the current drain state (serving, draining, closing, exited), 0 for the others',
      labelNames: ['state'],
      collect: (g) => {
        for (const s of DRAIN_STATES) g.set({ state: s }, s === this.current ? 1 : 0);
      },
    });
    m.gauge({
      name: 'drain_duration_seconds',
      help: 'Time each phase of the drain took (total: since the trigger, live while draining)',
      labelNames: ['phase'],
      collect: (g) => {
        const d = this.status().durations;
        for (const [phase, label] of Object.entries(PHASE_LABELS)) {
          const value = d[phase as DrainPhase];
          if (value !== undefined) g.set({ phase: label }, value / 1000);
        }
      },
    });
    m.gauge({
      name: 'drain_in_flight_requests',
      help: 'Requests in flight when each drain phase began (draining, closing, shutdown)',
      labelNames: ['phase'],
      collect: (g) => {
        for (const [phase, value] of Object.entries(this.inFlightAt)) g.set({ phase }, value);
      },
    });
    m.gauge({
      name: 'drain_lb_wait_seconds',
      help: 'How long a drain waits for the load balancer to notice (from the lb options)',
      collect: (g) => g.set(undefined, this.options.lbWaitMs / 1000),
    });
    mirrorCounter(
      m,
      {
        name: 'drain_triggers_total',
        help: 'Drain triggers by source; result=ignored for those that joined a drain under way',
        labelNames: this.triggerCounts.labelNames,
      },
      () => this.triggerCounts.series(),
    );
    const mirror = (name: string, help: string, read: () => number) =>
      mirrorCounter(m, { name, help }, read);
    mirror(
      'drain_refused_probes_total',
      'Readiness probes answered 503 during a drain',
      () => this.refused,
    );
    mirror(
      'drain_forced_requests_total',
      'Requests still in flight at the hard deadline, whose connections were destroyed',
      () => this.forced,
    );
  }
}

function cleanReason(reason: unknown): string {
  const text = typeof reason === 'string' ? reason.trim() : '';
  return (text || 'unspecified').slice(0, MAX_REASON_LENGTH);
}

function ms(value: number | undefined): string {
  return value === undefined ? '-' : `${Math.round(value)} ms`;
}

function describeOldest(tracker: InFlightTracker): string {
  return (
    tracker
      .oldest(3)
      .map((r) => `${r.method ?? '?'} ${r.url ?? '?'}`)
      .join(', ') || 'none'
  );
}

/** `true` when `promise` resolves within `timeoutMs`, `false` otherwise. */
async function settlesWithin(promise: Promise<void>, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves `true` when `promise` settles within `timeoutMs`, `false` otherwise (rejections are logged by callers). */
async function withTimeout(promise: Promise<unknown>, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return await Promise.race([
      promise.then(
        () => true,
        (err: unknown) => {
          new Logger('Drain').error(`shutdown failed: ${(err as Error)?.message ?? String(err)}`);
          return true;
        },
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
