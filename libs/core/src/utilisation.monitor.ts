import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { EventEmitter } from 'node:events';
import {
  monitorEventLoopDelay,
  performance,
  type EventLoopUtilization,
  type IntervalHistogram,
} from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import { STEADY_CORE_OPTIONS } from './core.constants';
import type { ResolvedSteadyCoreOptions } from './core-options.interface';
import { InFlightTracker } from './in-flight.tracker';
import type {
  EventLoopDelayStats,
  HeapStats,
  UtilisationProbe,
  UtilisationSample,
} from './utilisation-sample.interface';

const NS_PER_MS = 1e6;

/**
 * The one sampling timer of the process. Every `sampleIntervalMs` (default 100 ms) it reads the interval
 * event-loop utilisation, the event-loop delay percentiles, CPU, heap used vs limit, RSS and the in-flight
 * count, and emits a `sample` event. Readers call {@link snapshot} (free: it returns the last sample) or
 * subscribe with {@link onSample}. Libraries that need another reading add a {@link UtilisationProbe}
 * instead of a timer of their own.
 *
 * @publicApi
 */
@Injectable()
export class UtilisationMonitor implements OnModuleInit, OnApplicationShutdown {
  protected readonly logger = new Logger(UtilisationMonitor.name);
  private readonly events = new EventEmitter();
  private readonly probes = new Map<string, UtilisationProbe>();
  private readonly failedProbes = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private delay: IntervalHistogram | undefined;
  private delayWindowStart: number;
  private previousDelay: DelayStats | undefined;
  private lastElu: EventLoopUtilization;
  private lastCpu: NodeJS.CpuUsage;
  private lastAt: number;
  private lastStarted: number;
  private lastCompleted: number;
  private lastRejected: number;
  private lastAccepted: number;
  private latest: UtilisationSample;

  constructor(
    @Inject(STEADY_CORE_OPTIONS) protected readonly options: ResolvedSteadyCoreOptions,
    protected readonly tracker: InFlightTracker,
  ) {
    this.events.setMaxListeners(0);
    this.lastElu = performance.eventLoopUtilization();
    this.lastCpu = process.cpuUsage();
    this.lastAt = performance.now();
    this.lastStarted = tracker.startedTotal;
    this.lastCompleted = tracker.completedTotal;
    this.lastRejected = tracker.rejectedTotal;
    this.lastAccepted = tracker.connectionsTotal;
    this.delayWindowStart = this.lastAt;
    this.latest = this.read(this.lastAt);
  }

  /** Whether the timer is running. */
  get running(): boolean {
    return this.timer !== undefined;
  }

  onModuleInit(): void {
    this.start();
  }

  /** Stops after the HTTP server has closed, so the drain can still read samples while it waits. */
  onApplicationShutdown(): void {
    this.stop();
  }

  /** Starts the timer (idempotent). Called at module init. */
  start(): void {
    if (this.timer) return;
    this.delay = monitorEventLoopDelay({ resolution: this.options.eventLoopDelayResolutionMs });
    this.delay.enable();
    this.delayWindowStart = performance.now();
    this.previousDelay = undefined;
    this.timer = setInterval(() => this.sampleNow(), this.options.sampleIntervalMs);
    this.timer.unref();
  }

  /** Stops the timer (idempotent). */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.delay?.disable();
    this.delay = undefined;
  }

  /** The latest sample. Costs nothing: it is computed on the timer, not on the call. */
  snapshot(): UtilisationSample {
    return this.latest;
  }

  /** Calls `listener` with every new sample; returns the function that unsubscribes it. */
  onSample(listener: (sample: UtilisationSample) => void): () => void {
    this.events.on('sample', listener);
    return () => this.events.off('sample', listener);
  }

  /** Adds a reading to every sample (under `sample.probes[probe.name]`). Names are unique. */
  addProbe(probe: UtilisationProbe): () => void {
    if (this.probes.has(probe.name)) {
      throw new Error(
        `@steady/core: a utilisation probe named "${probe.name}" is already registered`,
      );
    }
    this.probes.set(probe.name, probe);
    return () => {
      this.probes.delete(probe.name);
      this.failedProbes.delete(probe.name);
    };
  }

  /** Takes a sample now (the timer calls this), stores it as the snapshot and emits it. */
  sampleNow(): UtilisationSample {
    const now = performance.now();
    this.rollDelayWindow(now);
    const sample = this.read(now);
    this.latest = sample;
    try {
      this.events.emit('sample', sample);
    } catch (err) {
      this.logger.error(`a sample listener threw: ${(err as Error).message}`);
    }
    return sample;
  }

  private read(now: number): UtilisationSample {
    const intervalMs = Math.max(now - this.lastAt, 1e-3);
    const elu = performance.eventLoopUtilization(this.lastElu);
    this.lastElu = performance.eventLoopUtilization();
    const cpuDelta = process.cpuUsage(this.lastCpu);
    this.lastCpu = process.cpuUsage();
    const started = this.tracker.startedTotal;
    const completed = this.tracker.completedTotal;
    const rejected = this.tracker.rejectedTotal;
    const accepted = this.tracker.connectionsTotal;
    const perSecond = 1000 / intervalMs;
    const sample: UtilisationSample = {
      at: Date.now(),
      intervalMs,
      inFlight: this.tracker.inFlight,
      inFlightPeak: this.tracker.takePeak(),
      arrivalRate: (started - this.lastStarted + rejected - this.lastRejected) * perSecond,
      rejectionRate: (rejected - this.lastRejected) * perSecond,
      completionRate: (completed - this.lastCompleted) * perSecond,
      connections: this.tracker.connections,
      connectionRate: (accepted - this.lastAccepted) * perSecond,
      requestTurnMaxMs: this.tracker.takeTurnMax(),
      elu: clamp01(elu.utilization),
      cpu: (cpuDelta.user + cpuDelta.system) / 1000 / intervalMs,
      eventLoopDelay: withoutCount(this.readDelay()),
      heap: this.readHeap(),
      rss: process.memoryUsage.rss(),
      probes: this.readProbes(),
    };
    this.lastAt = now;
    this.lastStarted = started;
    this.lastCompleted = completed;
    this.lastRejected = rejected;
    this.lastAccepted = accepted;
    return sample;
  }

  /** Heap reading; `protected` so a subclass (or a test) can substitute it. */
  protected readHeap(): HeapStats {
    const h = getHeapStatistics();
    return {
      used: h.used_heap_size,
      total: h.total_heap_size,
      limit: h.heap_size_limit,
      ratio: h.heap_size_limit > 0 ? h.used_heap_size / h.heap_size_limit : 0,
    };
  }

  /**
   * The delay histogram is a tumbling window of `eventLoopDelayWindowMs`; when it rolls, its statistics are kept
   * so a sample taken just after the roll still covers a full window. Node cannot merge an interval histogram
   * into another, so the two windows are combined conservatively: a percentile of the union is at most the larger
   * of the two windows' percentiles, which is what is reported (the mean is count-weighted, exact).
   */
  private rollDelayWindow(now: number): void {
    if (!this.delay || now - this.delayWindowStart < this.options.eventLoopDelayWindowMs) return;
    this.previousDelay = this.delay.count > 0 ? statsOf(this.delay) : undefined;
    this.delay.reset();
    this.delayWindowStart = now;
  }

  private readDelay(): DelayStats {
    const current = this.delay && this.delay.count > 0 ? statsOf(this.delay) : undefined;
    const previous = this.previousDelay;
    if (!current) return previous ?? ZERO_DELAY;
    if (!previous) return current;
    const n = current.count + previous.count;
    return {
      min: Math.min(current.min, previous.min),
      mean: (current.mean * current.count + previous.mean * previous.count) / n,
      p50: Math.max(current.p50, previous.p50),
      p90: Math.max(current.p90, previous.p90),
      p99: Math.max(current.p99, previous.p99),
      max: Math.max(current.max, previous.max),
      count: n,
    };
  }

  private readProbes(): Record<string, unknown> {
    if (this.probes.size === 0) return EMPTY;
    const out: Record<string, unknown> = {};
    for (const [name, probe] of this.probes) {
      try {
        out[name] = probe.read();
      } catch (err) {
        out[name] = undefined;
        if (!this.failedProbes.has(name)) {
          this.failedProbes.add(name);
          this.logger.warn(`utilisation probe "${name}" threw: ${(err as Error).message}`);
        }
      }
    }
    return out;
  }
}

const EMPTY: Readonly<Record<string, unknown>> = Object.freeze({});

type DelayStats = EventLoopDelayStats & { count: number };
const ZERO_DELAY: DelayStats = Object.freeze({
  min: 0,
  mean: 0,
  p50: 0,
  p90: 0,
  p99: 0,
  max: 0,
  count: 0,
});

function statsOf(h: IntervalHistogram): DelayStats {
  return {
    min: h.min / NS_PER_MS,
    mean: h.mean / NS_PER_MS,
    p50: h.percentile(50) / NS_PER_MS,
    p90: h.percentile(90) / NS_PER_MS,
    p99: h.percentile(99) / NS_PER_MS,
    max: h.max / NS_PER_MS,
    count: h.count,
  };
}

function withoutCount({ min, mean, p50, p90, p99, max }: DelayStats): EventLoopDelayStats {
  return { min, mean, p50, p90, p99, max };
}

function clamp01(x: number): number {
  return x < 0 ? 0 : x > 1 ? 1 : x;
}
