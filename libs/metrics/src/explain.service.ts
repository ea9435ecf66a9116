import {
  Inject,
  Injectable,
  Logger,
  Optional,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import { UtilisationMonitor, type UtilisationSample } from '@steady/core';
import { CoreAccumulator } from './explain-core.accumulator';
import { readSteadyMetrics } from './explain-registry.reader';
import type { ExplainReport } from './explain-report.interface';
import type { ExplainSnapshot } from './explain-snapshot.interface';
import { STEADY_EXPLAIN_OPTIONS } from './explain.constants';
import type { ResolvedExplainOptions } from './explain-options.interface';
import { explain } from './explain.rules';
import { MetricsService } from './metrics.service';

/**
 * Keeps a short window of {@link ExplainSnapshot}s and runs the explain rules over it. Snapshots are driven by
 * the core monitor's samples (no timer of its own): each sample is added up (a few additions every ~100 ms) and
 * every `snapshotIntervalMs` the `steady_*` metrics are read from the registry into a plain snapshot. Without
 * `SteadyCoreModule` a snapshot is taken when a report is asked for. Nothing runs per request.
 *
 * @publicApi
 */
@Injectable()
export class ExplainService implements OnModuleInit, OnApplicationBootstrap, OnModuleDestroy {
  protected readonly logger = new Logger(ExplainService.name);
  private readonly history: ExplainSnapshot[] = [];
  private warned = false;
  private readonly accumulator = new CoreAccumulator();
  private unsubscribe: (() => void) | undefined;
  private capturing: Promise<ExplainSnapshot> | undefined;
  private lastCaptureAt = Date.now();

  constructor(
    @Inject(STEADY_EXPLAIN_OPTIONS) protected readonly options: ResolvedExplainOptions,
    @Optional() protected readonly metrics?: MetricsService,
    @Optional() protected readonly monitor?: UtilisationMonitor,
  ) {
    if (!metrics) {
      throw new Error(
        '@steady/metrics: ExplainModule needs MetricsModule: import MetricsModule.forRoot() in the root module',
      );
    }
  }

  onModuleInit(): void {
    this.lastCaptureAt = Date.now();
    this.unsubscribe = this.monitor?.onSample((s) => this.onSample(s));
  }

  /** The first snapshot, once every module has registered its metrics: counters start from it, not from later. */
  onApplicationBootstrap(): Promise<void> {
    return this.capture(false).then(() => undefined);
  }

  onModuleDestroy(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  /** The snapshots kept, oldest first (a copy). */
  snapshots(): ExplainSnapshot[] {
    return [...this.history];
  }

  /**
   * Adds a snapshot to the window (e.g. a recorded one, to replay an incident); snapshots must come in time
   * order. Older ones fall out after `windowMs`.
   */
  record(snapshot: ExplainSnapshot): void {
    const last = this.history[this.history.length - 1];
    if (last && snapshot.at < last.at) {
      throw new Error('@steady/metrics: explain snapshots must be recorded in time order');
    }
    this.history.push(snapshot);
    const horizon = snapshot.at - this.options.windowMs;
    // keep one snapshot at or before the horizon: counter growth over the window is measured from it
    while (this.history.length > 2 && this.history[1]!.at <= horizon) this.history.shift();
    const max = Math.ceil(this.options.windowMs / this.options.snapshotIntervalMs) + 2;
    while (this.history.length > max) this.history.shift();
  }

  /** Takes a snapshot now and keeps it (what the monitor's samples trigger every `snapshotIntervalMs`). */
  capture(withCore = true): Promise<ExplainSnapshot> {
    if (this.capturing) return this.capturing;
    this.lastCaptureAt = Date.now();
    const { stats, spanMs } = this.accumulator.take();
    const core = withCore ? (stats ?? this.fromMonitor()) : undefined;
    this.capturing = readSteadyMetrics(this.metrics!.registry)
      .then((metrics) => {
        const snapshot: ExplainSnapshot = {
          at: Date.now(),
          spanMs: stats ? spanMs : core ? this.monitor!.snapshot().intervalMs : 0,
          ...(core ? { core } : {}),
          metrics,
        };
        this.record(snapshot);
        return snapshot;
      })
      .finally(() => {
        this.capturing = undefined;
      });
    return this.capturing;
  }

  /** The report over the window plus a snapshot of now (kept when a snapshot is due). */
  async report(): Promise<ExplainReport> {
    return explain(await this.window(), this.options.thresholds, this.options.downstreams);
  }

  /** The report and the snapshots it was made from (to record an incident and replay it in a test). */
  async reportWithSnapshots(): Promise<ExplainReport & { snapshots: ExplainSnapshot[] }> {
    const window = await this.window();
    return {
      ...explain(window, this.options.thresholds, this.options.downstreams),
      snapshots: window,
    };
  }

  /** The window the next report reads: the kept snapshots and one of now. */
  async window(): Promise<ExplainSnapshot[]> {
    const due = Date.now() - this.lastCaptureAt >= this.options.snapshotIntervalMs;
    if (due || this.history.length === 0) {
      await this.capture();
      return this.snapshots();
    }
    const stats = this.accumulator.peek() ?? this.fromMonitor();
    const live: ExplainSnapshot = {
      at: Date.now(),
      spanMs: this.accumulator.samples > 0 ? this.accumulator.coveredMs : 0,
      ...(stats ? { core: stats } : {}),
      metrics: await readSteadyMetrics(this.metrics!.registry),
    };
    const last = this.history[this.history.length - 1];
    return last && live.at < last.at ? this.snapshots() : [...this.history, live];
  }

  /** Called with every core monitor sample. */
  protected onSample(sample: UtilisationSample): void {
    this.accumulator.add(sample);
    if (sample.at - this.lastCaptureAt >= this.options.snapshotIntervalMs && !this.capturing) {
      void this.capture().catch((err: unknown) => {
        if (this.warned) return;
        this.warned = true;
        this.logger.warn(`could not read the metrics for /ops/explain: ${(err as Error).message}`);
      });
    }
  }

  private fromMonitor() {
    const s = this.monitor?.snapshot();
    // before the monitor's first timed sample, its reading covers next to no time (CPU and ELU are noise)
    if (!s || s.intervalMs < 10) return undefined;
    const one = new CoreAccumulator();
    one.add(s);
    return one.peek();
  }
}
