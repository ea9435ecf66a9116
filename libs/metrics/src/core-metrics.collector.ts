import { Inject, Injectable, Optional, type OnModuleInit } from '@nestjs/common';
import { InFlightTracker, UtilisationMonitor, mirrorCounter } from '@steady/core';
import { STEADY_METRICS_OPTIONS } from './metrics.constants';
import type { ResolvedMetricsOptions } from './metrics-options.interface';
import { MetricsService } from './metrics.service';

/**
 * Exposes the `@steady/core` signal — the numbers shedding, drain and the OOM guard decide on — as
 * `steady_*` metrics, read at scrape time from the monitor's last sample (no extra timer, no per-request work).
 * Does nothing when `SteadyCoreModule` is not imported or `coreMetrics` is `false`.
 *
 * @publicApi
 */
@Injectable()
export class CoreMetricsCollector implements OnModuleInit {
  constructor(
    protected readonly metrics: MetricsService,
    @Inject(STEADY_METRICS_OPTIONS) protected readonly options: ResolvedMetricsOptions,
    @Optional() protected readonly tracker?: InFlightTracker,
    @Optional() protected readonly monitor?: UtilisationMonitor,
  ) {}

  onModuleInit(): void {
    const { tracker, monitor } = this;
    if (!this.options.coreMetrics || !tracker || !monitor) return;
    const m = this.metrics;
    m.gauge({
      name: 'in_flight_requests',
      help: 'HTTP requests in flight now (counted on arrival, before body parsing; the count shedding limits and the drain waits for)',
      collect: (g) => g.set(undefined, tracker.inFlight),
    });
    m.gauge({
      name: 'in_flight_peak_requests',
      help: 'Highest in-flight count during the last sample interval',
      collect: (g) => g.set(undefined, monitor.snapshot().inFlightPeak),
    });
    mirrorCounter(
      m,
      { name: 'requests_started_total', help: 'HTTP requests counted by the in-flight tracker' },
      () => tracker.startedTotal,
    );
    mirrorCounter(
      m,
      {
        name: 'requests_aborted_total',
        help: 'HTTP requests whose response closed before it finished (client abort, socket timeout or error)',
      },
      () => tracker.abortedTotal,
    );
    m.gauge({
      name: 'event_loop_utilization_ratio',
      help: 'Event-loop utilisation over the last sample interval (0..1)',
      collect: (g) => g.set(undefined, monitor.snapshot().elu),
    });
    m.gauge({
      name: 'event_loop_delay_seconds',
      help: 'Event-loop delay over the last one to two delay windows, by statistic',
      labelNames: ['stat'],
      collect: (g) => {
        const d = monitor.snapshot().eventLoopDelay;
        g.set({ stat: 'p50' }, d.p50 / 1000);
        g.set({ stat: 'p90' }, d.p90 / 1000);
        g.set({ stat: 'p99' }, d.p99 / 1000);
        g.set({ stat: 'max' }, d.max / 1000);
        g.set({ stat: 'mean' }, d.mean / 1000);
      },
    });
    m.gauge({
      name: 'event_loop_request_turn_max_seconds',
      help: 'Longest request turn in the last sample interval: the most any request waited in the process behind the other requests of its event-loop turn',
      collect: (g) => g.set(undefined, monitor.snapshot().requestTurnMaxMs / 1000),
    });
    m.gauge({
      name: 'cpu_utilization_ratio',
      help: 'Process CPU time over the last sample interval, as a fraction of one core (can exceed 1)',
      collect: (g) => g.set(undefined, monitor.snapshot().cpu),
    });
    m.gauge({
      name: 'heap_used_ratio',
      help: 'V8 heap used divided by the heap size limit (0..1)',
      collect: (g) => g.set(undefined, monitor.snapshot().heap.ratio),
    });
    m.gauge({
      name: 'heap_limit_bytes',
      help: 'V8 heap size limit',
      collect: (g) => g.set(undefined, monitor.snapshot().heap.limit),
    });
  }
}
