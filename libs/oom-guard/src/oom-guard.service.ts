import {
  Inject,
  Injectable,
  Logger,
  Optional,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { LabelledCounts, MetricsSink, mirrorCounter, UtilisationMonitor } from '@steady/core';
import { DrainService } from '@steady/health';
import { EventEmitter } from 'node:events';
import {
  constants as perfConstants,
  performance,
  PerformanceObserver,
  type PerformanceEntry,
} from 'node:perf_hooks';
import { setHeapSnapshotNearHeapLimit } from 'node:v8';
import { MemoryReader } from './memory.reader';
import { MemoryTrigger, type OomLevelChange } from './memory-trigger';
import {
  MEMORY_KINDS,
  OOM_LEVELS,
  OOM_STEPS,
  STEADY_OOM_GUARD_OPTIONS,
} from './oom-guard.constants';
import type {
  MemoryKind,
  MemoryReading,
  OomLastWords,
  OomLevel,
  OomStep,
  ResolvedOomGuardOptions,
} from './oom-guard-options.interface';
import {
  evidencePath,
  snapshotDecision,
  writeRedactedReport,
  writeSnapshotAtomically,
  type SnapshotOutcome,
} from './oom-evidence';

/** Time kept for the report, the last words and the exit after the snapshot, within the hard deadline. */
const AFTER_SNAPSHOT_RESERVE_MS = 2_000;

/** Where the guard is, for the explain view, metrics and tests. @publicApi */
export interface OomGuardStatus {
  readonly level: OomLevel;
  readonly levels: Readonly<Record<MemoryKind, OomLevel>>;
  readonly latest: MemoryReading | undefined;
  /** `true` from the action on. */
  readonly acting: boolean;
  readonly cause: OomCause | undefined;
  readonly snapshot: SnapshotOutcome | undefined;
  readonly reportPath: string | undefined;
  /** Milliseconds each finished step of the action took. */
  readonly steps: Readonly<Partial<Record<OomStep, number>>>;
  /** Readings taken on major GCs and on the monitor's samples. */
  readonly samples: Readonly<{ gc: number; monitor: number }>;
  /** Set when memory reached the critical level during the action (the drain was cut short). */
  readonly emergency: string | undefined;
}

/** What started the action. @publicApi */
export interface OomCause {
  readonly kind: MemoryKind | 'manual';
  readonly reason: string;
  readonly ratio: number | undefined;
  readonly threshold: number | undefined;
  readonly reading: MemoryReading | undefined;
  /** `Date.now()` of the reading that crossed the threshold (for a GC reading: when that GC ended). */
  readonly crossedAtEpochMs: number;
  /**
   * `Date.now()` of the first reading at or above the action threshold: the same as `crossedAtEpochMs` for a GC
   * reading; for monitor readings, which must stay above it for `confirmMs`, the start of that run.
   */
  readonly firstAboveAtEpochMs: number;
  /** `Date.now()` when the guard acted on it. */
  readonly actedAtEpochMs: number;
}

/**
 * Leaves the load balancer, keeps the evidence and restarts **before** memory runs out — the Node version of the
 * JVM's `-XX:+HeapDumpOnOutOfMemoryError -XX:OnOutOfMemoryError='lb_out.sh; sleep 30; kill.sh %p'`.
 *
 * Samples memory on every major GC (one `PerformanceObserver`) and on every `@steady/core` monitor sample (no timer
 * of its own): old generation vs its real limit, RSS vs the cgroup limit. At the warning level it emits an event,
 * logs and counts; at the action level it runs, once, each step time-boxed:
 *
 * 1. `DrainService.drain('memory')` (`@steady/health`): readiness DOWN, wait for the load balancer, close the server,
 *    wait for the requests in flight, Nest shutdown;
 * 2. a heap snapshot, only if headroom and time allow (`.tmp`, then renamed);
 * 3. a diagnostic report with the environment variables redacted;
 * 4. the app's last words (`lastWords` option, {@link onLastWords});
 * 5. `process.exit(exitCode)` (70) — and a hard deadline exits anyway.
 *
 * @publicApi
 */
@Injectable()
export class OomGuardService implements OnModuleInit, OnApplicationShutdown {
  protected readonly logger = new Logger('OomGuard');
  protected readonly trigger: MemoryTrigger;
  private readonly events = new EventEmitter();
  private readonly lastWordsHooks = new Set<(info: OomLastWords) => void | Promise<void>>();
  private readonly triggerCounts = new LabelledCounts(['level', 'kind'] as const);
  private readonly snapshotCounts = { written: 0, skipped: 0, failed: 0 };
  private readonly stepDurations: Partial<Record<OomStep, number>> = {};
  private readonly sampleCounts = { gc: 0, monitor: 0 };
  private observer: PerformanceObserver | undefined;
  private stopMonitor: (() => void) | undefined;
  private removeProbe: (() => void) | undefined;
  private latest: MemoryReading | undefined;
  private acting: Promise<void> | undefined;
  private cause: OomCause | undefined;
  private snapshot: SnapshotOutcome | undefined;
  private reportPath: string | undefined;
  private lastActionEpochMs: number | undefined;
  private emergency: string | undefined;
  private declareEmergency: (why: string) => void = () => undefined;
  private readonly emergencyDeclared = new Promise<string>(
    (resolve) => (this.declareEmergency = resolve),
  );

  constructor(
    @Inject(STEADY_OOM_GUARD_OPTIONS) readonly options: ResolvedOomGuardOptions,
    protected readonly monitor: UtilisationMonitor,
    protected readonly reader: MemoryReader,
    @Optional() protected readonly drain?: DrainService,
    @Optional() @Inject(MetricsSink) protected readonly metrics?: MetricsSink,
  ) {
    this.events.setMaxListeners(0);
    this.trigger = new MemoryTrigger(options);
  }

  onModuleInit(): void {
    this.registerMetrics();
    this.installFallbacks();
    if (!this.drain) {
      this.logger.warn(
        'no DrainService (import HealthModule from @steady/health): the action will not take the instance ' +
          'out of the load balancer before it exits',
      );
    }
    this.start();
    const cg = this.reader.cgroup;
    const t = this.options.thresholds;
    this.logger.log(
      `watching memory: old-gen ${pct(t.old_gen.warning)}/${pct(t.old_gen.action)} of ` +
        `${mib(this.latest?.oldGenLimit ?? 0)}, RSS ${pct(t.cgroup.warning)}/${pct(t.cgroup.action)} of ` +
        (cg.limit !== undefined
          ? `cgroup v${cg.version} limit ${mib(cg.limit)}`
          : 'no cgroup limit (not judged)') +
        `${this.options.dryRun ? ' (dry run)' : ''}`,
    );
  }

  onApplicationShutdown(): void {
    this.stop();
  }

  /** Starts sampling (idempotent): the GC observer and the monitor subscription. */
  start(): void {
    if (this.stopMonitor) return;
    this.stopMonitor = this.monitor.onSample((sample) => this.check('monitor', sample.rss));
    try {
      this.removeProbe = this.monitor.addProbe({
        name: 'oom',
        read: () => ({ level: this.level, ratios: this.latest?.ratios }),
      });
    } catch (err) {
      this.logger.warn(`could not add the "oom" utilisation probe: ${(err as Error).message}`);
    }
    if (this.options.observeGc) {
      this.observer = new PerformanceObserver((list) => {
        let major: PerformanceEntry | undefined;
        for (const entry of list.getEntries()) {
          const kind = (entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind;
          if (kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR) major = entry;
        }
        if (major) {
          this.check('gc', undefined, performance.timeOrigin + major.startTime + major.duration);
        }
      });
      this.observer.observe({ entryTypes: ['gc'] });
    }
    this.check('manual');
  }

  /** Stops sampling (idempotent); an action under way goes on. */
  stop(): void {
    this.stopMonitor?.();
    this.stopMonitor = undefined;
    this.removeProbe?.();
    this.removeProbe = undefined;
    this.observer?.disconnect();
    this.observer = undefined;
  }

  /** The overall level (`action` from the action on). */
  get level(): OomLevel {
    return this.acting ? 'action' : this.trigger.overall;
  }

  status(): OomGuardStatus {
    return {
      level: this.level,
      levels: { old_gen: this.trigger.level('old_gen'), cgroup: this.trigger.level('cgroup') },
      latest: this.latest,
      acting: this.acting !== undefined,
      cause: this.cause,
      snapshot: this.snapshot,
      reportPath: this.reportPath,
      steps: { ...this.stepDurations },
      samples: { ...this.sampleCounts },
      emergency: this.emergency,
    };
  }

  /** Calls `listener` on every level change (warning, action, back to ok); returns the unsubscribe function. */
  onLevelChange(listener: (change: OomLevelChange) => void): () => void {
    this.events.on('level', listener);
    return () => this.events.off('level', listener);
  }

  /** Adds last words (flush logs, alert) run after the report, before exit; returns the remove function. */
  onLastWords(hook: (info: OomLastWords) => void | Promise<void>): () => void {
    this.lastWordsHooks.add(hook);
    return () => this.lastWordsHooks.delete(hook);
  }

  /** Takes a reading now and judges it (the GC observer and the monitor call this). */
  check(source: MemoryReading['source'], rss?: number, crossedAtEpochMs?: number): MemoryReading {
    const reading = this.reader.read(source, rss);
    this.latest = reading;
    if (source !== 'manual') this.sampleCounts[source]++;
    if (this.acting) {
      this.watchCritical(reading);
      return reading;
    }
    for (const change of this.trigger.evaluate(reading)) {
      this.onChange(change, crossedAtEpochMs ?? Date.now());
    }
    return reading;
  }

  /**
   * Runs the action now (drain → snapshot → report → last words → exit), as a threshold crossing does. A second
   * call joins the action under way.
   */
  act(reason = 'manual', change?: OomLevelChange, crossedAtEpochMs = Date.now()): Promise<void> {
    if (this.acting) return this.acting;
    this.cause = {
      kind: change?.kind ?? 'manual',
      reason,
      ratio: change?.ratio,
      threshold: change?.threshold,
      reading: change?.reading ?? this.latest,
      crossedAtEpochMs,
      firstAboveAtEpochMs:
        change?.firstAboveAt === undefined
          ? crossedAtEpochMs
          : crossedAtEpochMs - Math.max(0, change.reading.at - change.firstAboveAt),
      actedAtEpochMs: Date.now(),
    };
    this.lastActionEpochMs = this.cause.actedAtEpochMs;
    this.acting = this.run(this.cause);
    return this.acting;
  }

  /** During the action: memory still climbing to the critical level cuts the drain short. */
  private watchCritical(reading: MemoryReading): void {
    if (this.emergency !== undefined) return;
    const t = this.options.thresholds;
    // any reading, the monitor's too: V8 escalates from here to its abort inside one allocation (scavenge,
    // mark-compact, last-resort GC), delivering no GC entry in between; garbage or not, this close, leave now
    const oldGen = reading.ratios.old_gen >= t.old_gen.critical;
    const cgroup = reading.cgroupLimit !== undefined && reading.ratios.cgroup >= t.cgroup.critical;
    if (!oldGen && !cgroup) return;
    const kind: MemoryKind = oldGen ? 'old_gen' : 'cgroup';
    this.emergency =
      `memory critical during the action: ${kind} ${pct(reading.ratios[kind])} ≥ ${pct(t[kind].critical)} ` +
      `(${reading.source} reading)`;
    this.logger.error(`${this.emergency}: cutting the drain short, no snapshot, report and exit`);
    this.declareEmergency(this.emergency);
  }

  private onChange(change: OomLevelChange, crossedAtEpochMs: number): void {
    const r = change.reading;
    const what =
      change.kind === 'old_gen'
        ? `old-gen ${mib(r.oldGenUsed)} of ${mib(r.oldGenLimit)}`
        : `RSS ${mib(r.rss)} of ${r.cgroupLimit !== undefined ? mib(r.cgroupLimit) : '?'}`;
    const text =
      `${change.kind} ${pct(change.ratio)} (${what}, ${r.source} reading): ${change.from} → ${change.to}` +
      (change.to === 'ok' ? '' : ` (threshold ${pct(change.threshold)})`);
    if (change.to === 'action') this.logger.error(`memory ACTION level: ${text}`);
    else if (change.to === 'warning') this.logger.warn(`memory warning: ${text}`);
    else this.logger.log(`memory back to normal: ${text}`);
    if (change.to !== 'ok' && rank(change.to) > rank(change.from)) {
      this.triggerCounts.inc({ level: change.to, kind: change.kind });
    }
    try {
      this.events.emit('level', change);
    } catch (err) {
      this.logger.error(`a level listener threw: ${(err as Error).message}`);
    }
    if (change.to !== 'action') return;
    if (this.options.dryRun) {
      this.logger.warn('dry run: not draining, not exiting');
      return;
    }
    void this.act(
      `${change.kind} ${pct(change.ratio)} ≥ ${pct(change.threshold)}`,
      change,
      crossedAtEpochMs,
    );
  }

  private async run(cause: OomCause): Promise<void> {
    const startedAt = this.options.clock();
    const code = this.options.exitCode;
    const deadline = setTimeout(() => {
      this.logger.error(
        `hard deadline (${this.options.hardDeadlineMs} ms) reached during the action: exiting with ${code}`,
      );
      this.exit(code);
    }, this.options.hardDeadlineMs);
    this.logger.error(
      `leaving the load balancer and restarting before memory runs out (${cause.reason}); ` +
        `crossed ${Date.now() - cause.crossedAtEpochMs} ms ago`,
    );
    try {
      await this.step('drain', async () => {
        if (!this.drain) return;
        const done = await settlesWithin(
          Promise.race([this.drain.drain('memory', { exitCode: false }), this.emergencyDeclared]),
          this.options.drainTimeoutMs,
        );
        if (this.emergency !== undefined) return;
        if (!done) {
          this.logger.error(
            `the drain did not finish within ${this.options.drainTimeoutMs} ms; going on`,
          );
        }
      });
      this.stop();
      await this.step('snapshot', () => {
        this.snapshot = this.takeSnapshot(startedAt);
        this.countSnapshot(this.snapshot);
      });
      await this.step('report', () => {
        if (!this.options.report) return;
        const file = evidencePath(this.options.directory, 'oom-report', 'json');
        const bytes = writeRedactedReport(file, this.evidence(cause));
        this.reportPath = file;
        this.logger.log(`report written: ${file} (${Math.round(bytes / 1024)} KiB, env redacted)`);
      });
      await this.step('last_words', () =>
        settlesWithin(this.runLastWords(cause), this.options.lastWordsTimeoutMs).then((done) => {
          if (!done)
            this.logger.error(`last words took over ${this.options.lastWordsTimeoutMs} ms`);
        }),
      );
    } catch (err) {
      this.logger.error(`the memory action failed: ${(err as Error).message}`);
    }
    const s = this.stepDurations;
    this.logger.error(
      `exiting with ${code} ${Math.round(this.options.clock() - startedAt)} ms after the trigger (drain ` +
        `${ms(s.drain)}, snapshot ${ms(s.snapshot)} ${this.snapshot?.result ?? '-'}, report ${ms(s.report)}, ` +
        `last words ${ms(s.last_words)})`,
    );
    clearTimeout(deadline);
    this.exit(code);
  }

  private takeSnapshot(startedAt: number): SnapshotOutcome {
    const o = this.options.snapshot;
    if (this.emergency !== undefined) {
      return { result: 'skipped', reason: this.emergency, durationMs: 0 };
    }
    if (!o.enabled)
      return { result: 'skipped', reason: 'snapshot disabled (snapshot: false)', durationMs: 0 };
    const reading = this.reader.read('manual');
    const remaining =
      this.options.hardDeadlineMs - (this.options.clock() - startedAt) - AFTER_SNAPSHOT_RESERVE_MS;
    const decision = snapshotDecision(reading, o, remaining);
    const figures = { headroom: decision.headroom, needed: decision.needed };
    if (!decision.take) {
      this.logger.warn(`heap snapshot skipped: ${decision.reason}`);
      return { result: 'skipped', reason: decision.reason, durationMs: 0, ...figures };
    }
    this.logger.log(
      `writing a heap snapshot of ${mib(reading.heapUsed)} heap (~${Math.round(decision.expectedMs)} ms expected, ` +
        `${mib(decision.headroom)} headroom)`,
    );
    const outcome = writeSnapshotAtomically(
      evidencePath(this.options.directory, 'oom', 'heapsnapshot'),
    );
    if (outcome.result === 'written') {
      this.logger.log(
        `heap snapshot written: ${outcome.path} (${mib(outcome.bytes ?? 0)} in ${ms(outcome.durationMs)})`,
      );
    } else {
      this.logger.error(`heap snapshot failed: ${outcome.reason}`);
    }
    return { ...outcome, ...figures };
  }

  private async runLastWords(cause: OomCause): Promise<void> {
    const info: OomLastWords = {
      reason: cause.reason,
      kind: cause.kind,
      reading: cause.reading,
      snapshotPath: this.snapshot?.path,
      reportPath: this.reportPath,
      exitCode: this.options.exitCode,
    };
    const hooks = [
      ...(this.options.lastWords ? [this.options.lastWords] : []),
      ...this.lastWordsHooks,
    ];
    for (const hook of hooks) {
      try {
        await hook(info);
      } catch (err) {
        this.logger.error(`last words failed: ${(err as Error).message}`);
      }
    }
  }

  /** Runs one step of the action, timed; a failing step is logged and the next one runs. */
  private async step(step: OomStep, fn: () => unknown): Promise<void> {
    const started = this.options.clock();
    try {
      await fn();
    } catch (err) {
      this.logger.error(`the ${step} step failed: ${(err as Error).message}`);
    } finally {
      this.stepDurations[step] = this.options.clock() - started;
    }
  }

  /** What the report carries besides Node's own sections. */
  protected evidence(cause: OomCause): Record<string, unknown> {
    return {
      cause,
      emergency: this.emergency,
      snapshot: this.snapshot,
      stepsMs: { ...this.stepDurations },
      drain: this.drain?.status(),
      thresholds: this.options.thresholds,
      cgroup: this.reader.cgroup,
      samples: { ...this.sampleCounts },
      exitCode: this.options.exitCode,
    };
  }

  /** Ends the process; `protected` so a test (or an app with its own supervisor hand-off) can replace it. */
  protected exit(code: number): void {
    process.exit(code);
  }

  private countSnapshot(outcome: SnapshotOutcome): void {
    this.snapshotCounts[outcome.result]++;
  }

  private installFallbacks(): void {
    const f = this.options.fallbacks;
    if (f.reportOnFatalError) {
      process.report.directory = this.options.directory;
      process.report.reportOnFatalError = true;
      this.logger.log(
        `fallback: a diagnostic report on a fatal error goes to ${this.options.directory} (it contains env values)`,
      );
    }
    if (f.nearHeapLimitSnapshot) {
      setHeapSnapshotNearHeapLimit(1);
      this.logger.log('fallback: V8 writes one heap snapshot near the heap limit (then aborts)');
    }
  }

  private registerMetrics(): void {
    const m = this.metrics;
    if (!m) return;
    m.gauge({
      name: 'oom_memory_ratio',
      help: 'Memory use vs its limit: old_gen = old generation / (heap limit - young reserve); cgroup = RSS / cgroup limit',
      labelNames: ['kind'],
      collect: (g) => {
        const r = this.latest ?? this.reader.read('manual');
        for (const kind of MEMORY_KINDS) g.set({ kind }, r.ratios[kind]);
      },
    });
    m.gauge({
      name: 'oom_threshold_ratio',
      help: 'The configured thresholds, per kind and level',
      labelNames: ['kind', 'level'],
      collect: (g) => {
        for (const kind of MEMORY_KINDS) {
          const t = this.options.thresholds[kind];
          g.set({ kind, level: 'warning' }, t.warning);
          g.set({ kind, level: 'action' }, t.action);
          g.set({ kind, level: 'critical' }, t.critical);
        }
      },
    });
    m.gauge({
      name: 'oom_level',
      help: 'OOM guard level: 0 ok, 1 warning, 2 action',
      collect: (g) => g.set(undefined, OOM_LEVELS.indexOf(this.level)),
    });
    m.gauge({
      name: 'oom_last_action_timestamp_seconds',
      help: 'Unix time of the last memory action (0: none since start-up)',
      collect: (g) => g.set(undefined, (this.lastActionEpochMs ?? 0) / 1000),
    });
    m.gauge({
      name: 'oom_step_duration_seconds',
      help: 'How long each step of the memory action took (drain, snapshot, report, last_words)',
      labelNames: ['step'],
      collect: (g) => {
        for (const step of OOM_STEPS) {
          const v = this.stepDurations[step];
          if (v !== undefined) g.set({ step }, v / 1000);
        }
      },
    });
    mirrorCounter(
      m,
      {
        name: 'oom_triggers_total',
        help: 'Times a memory kind entered the warning or action level',
        labelNames: this.triggerCounts.labelNames,
      },
      () => this.triggerCounts.series(),
    );
    mirrorCounter(
      m,
      {
        name: 'oom_snapshots_total',
        help: 'Heap snapshots by result (written, skipped for headroom or time, failed)',
        labelNames: ['result'],
      },
      () => Object.entries(this.snapshotCounts).map(([result, n]) => [{ result }, n] as const),
    );
    mirrorCounter(
      m,
      {
        name: 'oom_samples_total',
        help: 'Memory readings judged, by source (gc: after a major GC; monitor: the core sampling timer)',
        labelNames: ['source'],
      },
      () => Object.entries(this.sampleCounts).map(([source, n]) => [{ source }, n] as const),
    );
  }
}

function rank(level: OomLevel): number {
  return OOM_LEVELS.indexOf(level);
}

function pct(ratio: number): string {
  return `${(ratio * 100).toFixed(1)} %`;
}

function mib(bytes: number): string {
  return `${Math.round(bytes / (1024 * 1024))} MiB`;
}

function ms(value: number | undefined): string {
  return value === undefined ? '-' : `${Math.round(value)} ms`;
}

async function settlesWithin(promise: Promise<unknown>, timeoutMs: number): Promise<boolean> {
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
