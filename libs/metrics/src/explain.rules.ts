import {
  combineCore,
  counterDelta,
  counterDeltaBy,
  has,
  histogramDelta,
  histogramDeltaBy,
  labelValues,
  mean,
  quantile,
  seriesOf,
  shareAbove,
  slopePerSecond,
  value,
  type HistogramDelta,
  type LabelMatch,
} from './explain-query';
import type {
  ExplainFinding,
  ExplainReport,
  FindingSeverity,
  FindingStatus,
} from './explain-report.interface';
import type { CoreWindowStats, ExplainSnapshot } from './explain-snapshot.interface';

/** A downstream whose latency the explain view reads from a histogram in seconds (besides the HTTP client's). */
export interface ExplainDownstream {
  /** Name used in the text, e.g. "spam scanner". */
  readonly name: string;
  /** Full metric name of a histogram in seconds, e.g. `steady_sample_spam_scan_duration_seconds`. */
  readonly metric: string;
  /** Only these series (e.g. `{ outcome: 'ok' }`). */
  readonly match?: LabelMatch;
  /**
   * The bounded pool in front of it (the Tomcat-style thread pool), as full gauge names: slots in use, pool size
   * and, optionally, callers waiting. Read by the `pool-saturation` rule.
   */
  readonly pool?: { readonly inUse: string; readonly size: string; readonly queued?: string };
}

/**
 * Thresholds of the explain rules. Every one has a default ({@link DEFAULT_EXPLAIN_THRESHOLDS}); ratios are 0..1.
 *
 * @publicApi
 */
export interface ExplainThresholds {
  /** The "recent" part of the window, compared with the rest. Default 30 000 ms. */
  recentMs: number;
  /** In-flight capacity when `@steady/load-shedding` is absent (with it, its `maxInFlight` is used). Default 100. */
  maxInFlight: number;
  /** In flight / capacity from which the server counts as saturated. Default 0.7. */
  inFlightHighRatio: number;
  /** Event-loop utilisation below which the CPU counts as idle. Default 0.5. */
  eluLow: number;
  /** Event-loop utilisation from which the server counts as CPU-bound. Default 0.9. */
  eluHigh: number;
  /** Event-loop delay p99 from which the loop counts as blocked, ms. Default 100. */
  loopDelayHighMs: number;
  /** Mean downstream latency that counts as slow, seconds. Default 0.5. */
  downstreamSlowSeconds: number;
  /** Or: mean latency this many times its earlier mean (and at least 50 ms). Default 3. */
  downstreamRiseFactor: number;
  /** Arrival rate this many times the earlier rate counts as a volume spike. Default 2. */
  spikeFactor: number;
  /** ... and at least this many requests per second. Default 5. */
  spikeMinRate: number;
  /** A request body this large counts as large. Default 1 MiB. */
  largeRequestBytes: number;
  /** Share of large requests (of those with a body) that makes "large payloads" fire. Default 0.2. */
  largeShare: number;
  /** Memory fires when it reaches the OOM guard's action threshold within this time at its current trend. Default 1800 s. */
  memoryEtaSeconds: number;
  /** Share of recent snapshots with unwritable WebSocket clients that counts as slow consumers. Default 0.5. */
  wsUnwritableShare: number;
  /** Requests per part of the window before a cache hit ratio is judged. Default 20. */
  cacheMinRequests: number;
  /** The earlier hit ratio must have been at least this for a collapse. Default 0.5. */
  cacheMinBaselineHitRatio: number;
  /** Collapse: the recent hit ratio at most this fraction of the earlier one. Default 0.5. */
  cacheCollapseFactor: number;
  /** Scale-up advisor: average utilisation over the window from which to scale up. Default 0.7. */
  scaleUpAverage: number;
  /** Scale-up advisor: a peak from which a spike is reported. Default 0.85 (the seed's shedding point). */
  spikePeak: number;
  /** Scale-up advisor: history needed before "scale up" is said. Default 60 000 ms. */
  advisorMinWindowMs: number;
}

/** @publicApi */
export const DEFAULT_EXPLAIN_THRESHOLDS: Readonly<ExplainThresholds> = Object.freeze({
  recentMs: 30_000,
  maxInFlight: 100,
  inFlightHighRatio: 0.7,
  eluLow: 0.5,
  eluHigh: 0.9,
  loopDelayHighMs: 100,
  downstreamSlowSeconds: 0.5,
  downstreamRiseFactor: 3,
  spikeFactor: 2,
  spikeMinRate: 5,
  largeRequestBytes: 1024 * 1024,
  largeShare: 0.2,
  memoryEtaSeconds: 1800,
  wsUnwritableShare: 0.5,
  cacheMinRequests: 20,
  cacheMinBaselineHitRatio: 0.5,
  cacheCollapseFactor: 0.5,
  scaleUpAverage: 0.7,
  spikePeak: 0.85,
  advisorMinWindowMs: 60_000,
});

/** Metric names the rules read (full names). */
export const EXPLAIN_METRICS = Object.freeze({
  requestDuration: 'steady_http_server_request_duration_seconds',
  requestSize: 'steady_http_server_request_size_bytes',
  shedEnabled: 'steady_shed_enabled',
  shedShadow: 'steady_shed_shadow_mode',
  shedRequests: 'steady_shed_requests_total',
  shedWouldShed: 'steady_shed_would_shed_requests_total',
  shedAdmitted: 'steady_shed_admitted_requests_total',
  shedMaxInFlight: 'steady_shed_max_in_flight_requests',
  shedAdmitRatio: 'steady_shed_admit_ratio',
  shedSignalLevel: 'steady_shed_signal_level_ratio',
  drainState: 'steady_drain_state',
  drainDuration: 'steady_drain_duration_seconds',
  drainInFlight: 'steady_drain_in_flight_requests',
  drainTriggers: 'steady_drain_triggers_total',
  drainForced: 'steady_drain_forced_requests_total',
  wsClients: 'steady_ws_clients',
  wsUnwritable: 'steady_ws_unwritable_clients',
  wsBuffered: 'steady_ws_buffered_bytes',
  wsDropped: 'steady_ws_dropped_messages_total',
  wsEvicted: 'steady_ws_evicted_clients_total',
  clientRequests: 'steady_http_client_requests_total',
  clientOrigin: 'steady_http_client_origin_duration_seconds',
  clientStoreErrors: 'steady_http_client_store_errors_total',
  oomRatio: 'steady_oom_memory_ratio',
  oomThreshold: 'steady_oom_threshold_ratio',
  oomLevel: 'steady_oom_level',
  oomTriggers: 'steady_oom_triggers_total',
});
const M = EXPLAIN_METRICS;

/** What the rules see: the window (oldest first, newest last) and derived points. */
export interface ExplainContext {
  readonly t: ExplainThresholds;
  readonly downstreams: readonly ExplainDownstream[];
  readonly snapshots: readonly ExplainSnapshot[];
  readonly first: ExplainSnapshot;
  readonly last: ExplainSnapshot;
  /** The newest snapshot at least `recentMs` old (or the first): deltas "recent" run from here to `last`. */
  readonly pivot: ExplainSnapshot;
  readonly recentSeconds: number;
  /** Seconds from `first` to `pivot` (0 when the window is shorter than `recentMs`). */
  readonly earlierSeconds: number;
  readonly coreRecent: CoreWindowStats | undefined;
  readonly coreEarlier: CoreWindowStats | undefined;
  readonly capacity: number;
  readonly capacitySource: string;
}

/** A rule: a pure function from the window to one finding. */
export type ExplainRule = (ctx: ExplainContext) => ExplainFinding;

/** Builds the context the rules read. `snapshots` must be oldest first and non-empty. */
export function explainContext(
  snapshots: readonly ExplainSnapshot[],
  thresholds: Partial<ExplainThresholds> = {},
  downstreams: readonly ExplainDownstream[] = [],
): ExplainContext {
  if (snapshots.length === 0)
    throw new Error('@steady/metrics: explain needs at least one snapshot');
  const t = { ...DEFAULT_EXPLAIN_THRESHOLDS, ...thresholds };
  const first = snapshots[0]!;
  const last = snapshots[snapshots.length - 1]!;
  let pivotIndex = 0;
  let found = false;
  for (let i = snapshots.length - 1; i >= 0; i--) {
    if (snapshots[i]!.at <= last.at - t.recentMs) {
      pivotIndex = i;
      found = true;
      break;
    }
  }
  const pivot = snapshots[pivotIndex]!;
  const recent = snapshots.length === 1 ? [last] : snapshots.slice(pivotIndex + 1);
  const earlier = snapshots.slice(0, pivotIndex + 1);
  const shedMax = value(last, M.shedMaxInFlight);
  return {
    t,
    downstreams,
    snapshots,
    first,
    last,
    pivot,
    recentSeconds: Math.max((last.at - pivot.at) / 1000, 0),
    earlierSeconds: Math.max((pivot.at - first.at) / 1000, 0),
    coreRecent: combineCore(recent),
    coreEarlier: found ? combineCore(earlier) : undefined,
    capacity: shedMax && shedMax > 0 ? shedMax : t.maxInFlight,
    capacitySource: shedMax && shedMax > 0 ? 'maxInFlight of load shedding' : 'explain maxInFlight',
  };
}

// ---------------------------------------------------------------------------------------------- formatting

const pct = (x: number) => `${Math.round(x * 100)} %`;
const num = (x: number) =>
  x >= 100 ? String(Math.round(x)) : String(Number(x.toFixed(x >= 10 ? 1 : 2)));
const secs = (x: number) => (x >= 1 ? `${num(x)} s` : `${Math.round(x * 1000)} ms`);
const rate = (x: number) => `${num(x)}/s`;
function bytes(x: number): string {
  if (x >= 1024 * 1024) return `${num(x / 1024 / 1024)} MiB`;
  if (x >= 1024) return `${num(x / 1024)} KiB`;
  return `${Math.round(x)} B`;
}
const round = (x: number | undefined, digits = 3): number | null =>
  x === undefined || !Number.isFinite(x) ? null : Number(x.toFixed(digits));

function finding(
  rule: string,
  module: string,
  status: FindingStatus,
  severity: FindingSeverity,
  title: string,
  text: string,
  numbers: Record<string, number | string | null> = {},
  advice?: string,
): ExplainFinding {
  return { rule, module, status, severity, title, text, numbers, ...(advice ? { advice } : {}) };
}

function absent(rule: string, module: string, title: string, pkg: string): ExplainFinding {
  return finding(
    rule,
    module,
    'absent',
    'info',
    title,
    `${pkg} is not present (none of its metrics are registered), so this is not checked.`,
  );
}

function recentWindow(ctx: ExplainContext): string {
  return `the last ${secs(ctx.recentSeconds || 0)}`;
}

// ---------------------------------------------------------------------------------------------- signals

interface Latency {
  name: string;
  recentMean: number | undefined;
  recentP90: number | undefined;
  earlierMean: number | undefined;
  count: number;
  slow: boolean;
}

/** Latency of every known downstream: the HTTP client's origin round trips per client, and the configured ones. */
export function downstreamLatencies(ctx: ExplainContext): Latency[] {
  const { first, pivot, last, t } = ctx;
  const out: Latency[] = [];
  const judge = (name: string, recent?: HistogramDelta, earlier?: HistogramDelta) => {
    const recentMean = mean(recent);
    const earlierMean = mean(earlier);
    const slow =
      recentMean !== undefined &&
      (recentMean >= t.downstreamSlowSeconds ||
        (earlierMean !== undefined &&
          recentMean >= 0.05 &&
          recentMean >= t.downstreamRiseFactor * earlierMean));
    out.push({
      name,
      recentMean,
      recentP90: quantile(recent, 0.9),
      earlierMean,
      count: recent?.count ?? 0,
      slow,
    });
  };
  if (has(last, M.clientOrigin)) {
    for (const client of labelValues(last, M.clientOrigin, 'client')) {
      judge(
        `HTTP client "${client}"`,
        histogramDelta(pivot, last, M.clientOrigin, { client }),
        pivot === first ? undefined : histogramDelta(first, pivot, M.clientOrigin, { client }),
      );
    }
  }
  for (const d of ctx.downstreams) {
    if (!has(last, d.metric)) continue;
    judge(
      d.name,
      histogramDelta(pivot, last, d.metric, d.match),
      pivot === first ? undefined : histogramDelta(first, pivot, d.metric, d.match),
    );
  }
  return out;
}

interface RouteLatency {
  route: string;
  count: number;
  mean: number;
  p90: number | undefined;
  totalSeconds: number;
}

/** Per-route latency over the recent part, slowest mean first. */
export function routeLatencies(ctx: ExplainContext): RouteLatency[] {
  const { pivot, last } = ctx;
  if (!has(last, M.requestDuration)) return [];
  const out: RouteLatency[] = [];
  const routes = new Set<string>();
  for (const s of seriesOfHistogram(last, M.requestDuration)) routes.add(`${s.method} ${s.route}`);
  for (const key of routes) {
    const [method, ...rest] = key.split(' ');
    const route = rest.join(' ');
    const h = histogramDelta(pivot, last, M.requestDuration, { method: method!, route });
    if (!h || h.count === 0) continue;
    out.push({
      route: key,
      count: h.count,
      mean: h.sum / h.count,
      p90: quantile(h, 0.9),
      totalSeconds: h.sum,
    });
  }
  return out.sort((a, b) => b.mean - a.mean);
}

function seriesOfHistogram(s: ExplainSnapshot, name: string): { method: string; route: string }[] {
  const f = s.metrics[name];
  if (!f || f.type !== 'histogram') return [];
  return f.series.map((x) => ({ method: x.labels.method ?? '', route: x.labels.route ?? '' }));
}

function sizes(ctx: ExplainContext): { recent?: HistogramDelta; earlier?: HistogramDelta } {
  const { first, pivot, last } = ctx;
  if (!has(last, M.requestSize)) return {};
  return {
    recent: histogramDelta(pivot, last, M.requestSize),
    earlier: pivot === first ? undefined : histogramDelta(first, pivot, M.requestSize),
  };
}

function inFlightText(ctx: ExplainContext, c: CoreWindowStats): string {
  return `${num(c.inFlightMean)} of ${num(ctx.capacity)} requests in flight on average (${pct(
    c.inFlightMean / ctx.capacity,
  )}, peak ${c.inFlightMax})`;
}

// ---------------------------------------------------------------------------------------------- rules

function poolText(ctx: ExplainContext, name: string): string {
  const p = poolReadings(ctx).find((x) => x.name === name);
  if (!p) return '';
  return `; its pool has ${p.inUse} of ${p.size} slots busy${p.queued !== undefined ? ` and ${p.queued} callers waiting` : ''}`;
}

/** Saturated because a downstream is slow: in flight high, event loop idle, downstream latency up. */
export const slowDownstreamRule: ExplainRule = (ctx) => {
  const rule = 'slow-downstream';
  const c = ctx.coreRecent;
  if (!c) return absent(rule, 'core', 'Saturation by a slow downstream', '@steady/core');
  const util = c.inFlightMean / ctx.capacity;
  const downstreams = downstreamLatencies(ctx);
  const slow = downstreams.filter((d) => d.slow);
  const routes = routeLatencies(ctx).slice(0, 3);
  const numbers: Record<string, number | string | null> = {
    in_flight_mean: round(c.inFlightMean, 1),
    in_flight_max: c.inFlightMax,
    capacity: ctx.capacity,
    in_flight_utilisation_ratio: round(util),
    elu_mean_ratio: round(c.eluMean),
    cpu_mean_ratio: round(c.cpuMean),
  };
  for (const d of downstreams) {
    numbers[`${d.name} mean_seconds`] = round(d.recentMean);
    numbers[`${d.name} earlier_mean_seconds`] = round(d.earlierMean);
  }
  for (const r of routes) numbers[`route ${r.route} mean_seconds`] = round(r.mean);
  const saturated = util >= ctx.t.inFlightHighRatio;
  const idle = c.eluMean < ctx.t.eluLow;
  if (!saturated || !idle) {
    const why = !saturated
      ? `not saturated: ${inFlightText(ctx, c)}, below ${pct(ctx.t.inFlightHighRatio)}`
      : `in flight is high (${pct(util)}) but the event loop is busy (${pct(c.eluMean)}): see CPU-bound`;
    return finding(
      rule,
      'core',
      'quiet',
      'ok',
      'No saturation by a slow downstream',
      `Over ${recentWindow(ctx)}: ${why}.`,
      numbers,
    );
  }
  const routeText =
    routes.length > 0
      ? ` Slowest routes: ${routes
          .map((r) => `${r.route} ${secs(r.mean)} mean (${r.count} requests)`)
          .join(', ')}.`
      : '';
  const downstreamText =
    slow.length > 0
      ? ` ${slow
          .map(
            (d) =>
              `The ${d.name} takes ${secs(d.recentMean!)} per call on average` +
              (d.recentP90 !== undefined ? ` (p90 ${secs(d.recentP90)})` : '') +
              (d.earlierMean === undefined
                ? ''
                : d.earlierMean < 0.8 * d.recentMean!
                  ? `, up from ${secs(d.earlierMean)}`
                  : ` (already ${secs(d.earlierMean)} before)`) +
              poolText(ctx, d.name) +
              '.',
          )
          .join(' ')}`
      : downstreams.length > 0
        ? ` No measured downstream is slow (${downstreams
            .map((d) => `${d.name} ${d.recentMean === undefined ? 'no calls' : secs(d.recentMean)}`)
            .join(', ')}): the requests wait on something not measured here.`
        : ' No downstream latency is measured here (no @steady/http-client, no configured downstream): the requests wait on something outside the process.';
  return finding(
    rule,
    'core',
    'firing',
    'critical',
    slow.length > 0 ? `Saturated: the ${slow[0]!.name} is slow` : 'Saturated while the CPU idles',
    `Over ${recentWindow(ctx)}: ${inFlightText(ctx, c)} while the event loop is only ${pct(
      c.eluMean,
    )} busy (CPU ${num(c.cpuMean)} core): requests are waiting, not working.${downstreamText}${routeText}`,
    numbers,
    'This is not a capacity problem: more instances only add more waiters on the same downstream. ' +
      'Shedding keeps the rest of the service answering (429 + Retry-After for the excess); bound the downstream ' +
      '(timeout, circuit breaker, a smaller pool) and look at why it is slow.',
  );
};

interface PoolReading {
  name: string;
  inUse: number;
  size: number;
  queued: number | undefined;
  busyShare: number;
  meanUtilisation: number;
}

/** The configured pools over the recent part: last reading, share of snapshots at ≥ 90 % busy, mean utilisation. */
export function poolReadings(ctx: ExplainContext): PoolReading[] {
  const recent = ctx.snapshots.filter((s) => s.at > ctx.pivot.at || s === ctx.last);
  const out: PoolReading[] = [];
  for (const d of ctx.downstreams) {
    const pool = d.pool;
    if (!pool || !has(ctx.last, pool.inUse) || !has(ctx.last, pool.size)) continue;
    let busy = 0;
    let util = 0;
    let n = 0;
    for (const s of recent) {
      const inUse = value(s, pool.inUse);
      const size = value(s, pool.size);
      if (inUse === undefined || !size) continue;
      n++;
      util += inUse / size;
      if (inUse / size >= 0.9) busy++;
    }
    out.push({
      name: d.name,
      inUse: value(ctx.last, pool.inUse) ?? 0,
      size: value(ctx.last, pool.size) ?? 0,
      queued: pool.queued ? value(ctx.last, pool.queued) : undefined,
      busyShare: n > 0 ? busy / n : 0,
      meanUtilisation: n > 0 ? util / n : 0,
    });
  }
  return out;
}

/**
 * A bounded pool in front of a downstream is full (the seed: "all Tomcat threads are busy"): at least 90 % of its
 * slots in use in most of the recent snapshots.
 */
export const poolSaturationRule: ExplainRule = (ctx) => {
  const rule = 'pool-saturation';
  const pools = poolReadings(ctx);
  if (pools.length === 0) {
    return finding(
      rule,
      'app',
      'absent',
      'info',
      'Pool saturation',
      'No pool is configured (ExplainModule downstreams[].pool) or its gauges are not registered.',
    );
  }
  const numbers: Record<string, number | string | null> = {};
  for (const p of pools) {
    numbers[`${p.name} in_use`] = p.inUse;
    numbers[`${p.name} size`] = p.size;
    numbers[`${p.name} queued`] = p.queued ?? null;
    numbers[`${p.name} mean_utilisation_ratio`] = round(p.meanUtilisation);
    numbers[`${p.name} busy_share_ratio`] = round(p.busyShare);
  }
  const full = pools.filter((p) => p.busyShare >= 0.5);
  const describe = (p: PoolReading) =>
    `the ${p.name} pool: ${p.inUse} of ${p.size} slots busy now, ${pct(p.meanUtilisation)} on average over ${recentWindow(ctx)}` +
    (p.queued !== undefined ? `, ${p.queued} callers waiting` : '');
  if (full.length === 0) {
    return finding(
      rule,
      'app',
      'quiet',
      'ok',
      'Pools have room',
      `${pools.map(describe).join('; ')}.`,
      numbers,
    );
  }
  return finding(
    rule,
    'app',
    'firing',
    'warning',
    `The ${full[0]!.name} pool is full`,
    `${full.map(describe).join('; ')}: every slot is taken, new calls queue behind them.`,
    numbers,
    'A full pool with a slow downstream behind it is the incident, not its cause: read slow-downstream. With a ' +
      'normal downstream latency it is too small for the load (or the load is a spike: see volume-spike).',
  );
};

/** CPU-bound: the event loop is busy (ELU high) or blocked (delay p99 high). */
export const cpuBoundRule: ExplainRule = (ctx) => {
  const rule = 'cpu-bound';
  const c = ctx.coreRecent;
  if (!c) return absent(rule, 'core', 'CPU-bound', '@steady/core');
  const numbers = {
    elu_mean_ratio: round(c.eluMean),
    elu_max_ratio: round(c.eluMax),
    cpu_mean_ratio: round(c.cpuMean),
    loop_delay_p99_seconds: round(c.loopDelayP99Ms / 1000),
    in_flight_mean: round(c.inFlightMean, 1),
  };
  // a loop that is busy without the CPU time to show for it is starved (see cpu-starved), not CPU-bound
  const working = !isStarved(ctx, c);
  const busy = working && c.eluMean >= ctx.t.eluHigh;
  // one stall can put p99 over the threshold; a loop that is blocked again and again is busy for it too
  const blocked = working && c.loopDelayP99Ms >= ctx.t.loopDelayHighMs && c.eluMean >= 0.2;
  if (!busy && !blocked) {
    return finding(
      rule,
      'core',
      'quiet',
      'ok',
      'Not CPU-bound',
      `Over ${recentWindow(ctx)}: the event loop is ${pct(c.eluMean)} busy on average (CPU ${num(
        c.cpuMean,
      )} core), loop delay p99 ${secs(c.loopDelayP99Ms / 1000)}.`,
      numbers,
    );
  }
  const hot = routeLatencies(ctx)
    .sort((a, b) => b.totalSeconds - a.totalSeconds)
    .slice(0, 3);
  const hotText =
    hot.length > 0
      ? ` Most time is spent in ${hot.map((r) => `${r.route} (${r.count} requests, ${secs(r.mean)} mean)`).join(', ')}.`
      : '';
  return finding(
    rule,
    'core',
    'firing',
    busy ? 'critical' : 'warning',
    busy ? 'CPU-bound: the event loop is saturated' : 'The event loop is blocked',
    `Over ${recentWindow(ctx)}: the event loop is ${pct(c.eluMean)} busy on average (peak ${pct(
      c.eluMax,
    )}), CPU ${num(c.cpuMean)} core, loop delay p99 ${secs(c.loopDelayP99Ms / 1000)}` +
      (busy
        ? ': requests wait for the CPU, not for a downstream.'
        : ': something runs synchronously for long stretches (JSON of a large body, crypto, a sync call).') +
      hotText,
    numbers,
    busy
      ? 'Shedding on the event loop keeps latency bounded for the admitted requests. If the average stays this high ' +
          '(see the scale-up advisor), add instances; otherwise profile the hottest route.'
      : 'Find the synchronous work (a CPU profile during the stall) and move it off the loop or split it.',
  );
};

/** Busy or delayed loop with less than half its busy time spent on the CPU: the process waits for a CPU. */
function isStarved(ctx: ExplainContext, c: CoreWindowStats): boolean {
  return (
    c.cpuMean < 0.5 * c.eluMean &&
    (c.eluMean >= ctx.t.eluLow || c.loopDelayP99Ms >= ctx.t.loopDelayHighMs)
  );
}

/**
 * Starved of CPU: the loop is busy (or delayed) but the process got far less CPU time than that: the host is
 * overloaded (noisy neighbours), the container's CPU quota throttles it, or the loop waits in synchronous I/O.
 */
export const cpuStarvedRule: ExplainRule = (ctx) => {
  const rule = 'cpu-starved';
  const c = ctx.coreRecent;
  if (!c) return absent(rule, 'core', 'Starved of CPU', '@steady/core');
  const numbers = {
    elu_mean_ratio: round(c.eluMean),
    cpu_mean_ratio: round(c.cpuMean),
    loop_delay_p99_seconds: round(c.loopDelayP99Ms / 1000),
  };
  const text = `Over ${recentWindow(ctx)}: the event loop is ${pct(c.eluMean)} busy, loop delay p99 ${secs(
    c.loopDelayP99Ms / 1000,
  )}, but the process used only ${num(c.cpuMean)} core of CPU`;
  if (!isStarved(ctx, c)) {
    return finding(
      rule,
      'core',
      'quiet',
      'ok',
      'Not starved of CPU',
      `${text.replace(', but the process used only', ', using')}.`,
      numbers,
    );
  }
  return finding(
    rule,
    'core',
    'firing',
    'warning',
    'Starved of CPU',
    `${text}: it is waiting for a CPU (an overloaded host, a CPU quota throttling the container) or in synchronous I/O.`,
    numbers,
    'Check CPU throttling (cgroup cpu.stat nr_throttled) and the host load; raise the CPU limit or move the instance. More instances on the same host do not help.',
  );
};

/** A volume spike: the arrival rate well above its earlier level; says whether it occupies the server. */
export const volumeSpikeRule: ExplainRule = (ctx) => {
  const rule = 'volume-spike';
  const c = ctx.coreRecent;
  if (!c) return absent(rule, 'core', 'Volume spike', '@steady/core');
  const before = ctx.coreEarlier;
  const { recent: size } = sizes(ctx);
  const sizeMean = mean(size);
  const numbers = {
    arrival_rate: round(c.arrivalRate, 1),
    earlier_arrival_rate: round(before?.arrivalRate, 1),
    in_flight_mean: round(c.inFlightMean, 1),
    in_flight_utilisation_ratio: round(c.inFlightMean / ctx.capacity),
    request_size_mean_bytes: round(sizeMean, 0),
  };
  if (!before) {
    return finding(
      rule,
      'core',
      'quiet',
      'ok',
      'No volume spike',
      `${rate(c.arrivalRate)} requests arrive now; not enough history yet to compare (${secs(
        ctx.earlierSeconds,
      )} before the recent ${secs(ctx.recentSeconds)}).`,
      numbers,
    );
  }
  const spike =
    c.arrivalRate >= ctx.t.spikeMinRate &&
    c.arrivalRate >= ctx.t.spikeFactor * Math.max(before.arrivalRate, 0.1);
  if (!spike) {
    return finding(
      rule,
      'core',
      'quiet',
      'ok',
      'No volume spike',
      `Over ${recentWindow(ctx)}: ${rate(c.arrivalRate)} requests, ${rate(
        before.arrivalRate,
      )} before (${num(c.arrivalRate / Math.max(before.arrivalRate, 0.1))}×).`,
      numbers,
    );
  }
  const util = c.inFlightMean / ctx.capacity;
  const occupies = util >= ctx.t.inFlightHighRatio;
  const sizeText =
    sizeMean !== undefined ? ` Requests with a body average ${bytes(sizeMean)}.` : '';
  return finding(
    rule,
    'core',
    'firing',
    occupies ? 'warning' : 'info',
    occupies ? 'Volume spike filling the server' : 'Volume spike, absorbed',
    `Over ${recentWindow(ctx)}: ${rate(c.arrivalRate)} requests, ${num(
      c.arrivalRate / Math.max(before.arrivalRate, 0.1),
    )}× the ${rate(before.arrivalRate)} before.${sizeText} ` +
      (occupies
        ? `They fill the server: ${inFlightText(ctx, c)}.`
        : `They do not occupy the server: ${inFlightText(
            ctx,
            c,
          )}: many short requests pass through quickly.`),
    numbers,
    occupies
      ? 'Spikes are what shedding is for: the excess gets 429 + Retry-After and comes back later. Scale up only if the average stays high (see the advisor).'
      : 'Nothing to do: the volume is up but the requests are short.',
  );
};

/** Large payloads: the request-size distribution shifted to large bodies. */
export const largePayloadRule: ExplainRule = (ctx) => {
  const rule = 'large-payloads';
  if (!has(ctx.last, M.requestSize))
    return finding(
      rule,
      'metrics',
      'absent',
      'info',
      'Large payloads',
      'The request-size histogram (ExplainModule httpMetrics) is off, so request sizes are not known.',
    );
  const { recent, earlier } = sizes(ctx);
  const share = shareAbove(recent, ctx.t.largeRequestBytes - 1);
  const m = mean(recent);
  const before = mean(earlier);
  const c = ctx.coreRecent;
  const numbers: Record<string, number | null> = {
    requests_with_body: recent?.count ?? 0,
    large_share_ratio: round(share),
    size_mean_bytes: round(m, 0),
    size_p90_bytes: round(quantile(recent, 0.9), 0),
    earlier_size_mean_bytes: round(before, 0),
    large_threshold_bytes: ctx.t.largeRequestBytes,
    in_flight_mean: round(c?.inFlightMean, 1),
  };
  const n = recent?.count ?? 0;
  const largeCount = Math.round((share ?? 0) * n);
  // a lower bound of the bytes the large bodies carried: each is at least largeRequestBytes
  const byteShare =
    recent && recent.sum > 0 ? Math.min(1, (largeCount * ctx.t.largeRequestBytes) / recent.sum) : 0;
  numbers.large_bytes_share_ratio = round(byteShare);
  const large =
    n >= 5 &&
    ((share ?? 0) >= ctx.t.largeShare ||
      (largeCount >= 3 && byteShare >= 0.5) ||
      (m !== undefined && before !== undefined && m >= 64 * 1024 && m >= 4 * before));
  if (!large) {
    return finding(
      rule,
      'metrics',
      'quiet',
      'ok',
      'No large payloads',
      n === 0
        ? `No request with a body over ${recentWindow(ctx)}.`
        : `Over ${recentWindow(ctx)}: ${n} requests with a body, mean ${bytes(m ?? 0)}, ${pct(
            share ?? 0,
          )} of them ${bytes(ctx.t.largeRequestBytes)} or more.`,
      numbers,
    );
  }
  const p90 = quantile(recent, 0.9);
  return finding(
    rule,
    'metrics',
    'firing',
    c && c.inFlightMean / ctx.capacity >= ctx.t.inFlightHighRatio ? 'warning' : 'info',
    'Large payloads',
    `Over ${recentWindow(ctx)}: ${pct(share ?? 0)} of the ${n} requests with a body were ${bytes(
      ctx.t.largeRequestBytes,
    )} or more, carrying at least ${pct(byteShare)} of the bytes (mean ${bytes(m!)}${
      p90 !== undefined ? `, p90 ${bytes(p90)}` : ''
    }${
      before !== undefined ? `; before: mean ${bytes(before)}` : ''
    }). Few large requests hold the server longer than many small ones` +
      (c ? `: ${inFlightText(ctx, c)}.` : '.'),
    numbers,
    'Check who sends them (the route with the largest bodies); a body limit or a separate, lower shedding priority for large uploads keeps them from crowding out small requests.',
  );
};

/** Shedding active and why. */
export const sheddingRule: ExplainRule = (ctx) => {
  const rule = 'shedding';
  const { pivot, last } = ctx;
  if (!has(last, M.shedEnabled))
    return absent(rule, 'load-shedding', 'Load shedding', '@steady/load-shedding');
  const enabled = value(last, M.shedEnabled) === 1;
  const shadow = value(last, M.shedShadow) === 1;
  const shed = counterDelta(pivot, last, M.shedRequests) ?? 0;
  const would = counterDelta(pivot, last, M.shedWouldShed) ?? 0;
  const admitted = counterDelta(pivot, last, M.shedAdmitted) ?? 0;
  const byReason = counterDeltaBy(pivot, last, shadow ? M.shedWouldShed : M.shedRequests, 'reason');
  const byPriority = counterDeltaBy(
    pivot,
    last,
    shadow ? M.shedWouldShed : M.shedRequests,
    'priority',
  );
  const c = ctx.coreRecent;
  const seconds = Math.max(ctx.recentSeconds, 1e-3);
  const numbers: Record<string, number | string | null> = {
    enabled: enabled ? 1 : 0,
    shadow: shadow ? 1 : 0,
    shed_requests: shed,
    would_shed_requests: would,
    admitted_requests: admitted,
    shed_rate: round(shed / seconds, 2),
    shed_share_ratio: round(shed + admitted > 0 ? shed / (shed + admitted) : 0),
    max_in_flight: value(last, M.shedMaxInFlight) ?? null,
  };
  for (const [r, n] of byReason) if (n > 0) numbers[`reason ${r}`] = n;
  const count = shadow ? would : shed;
  if (!enabled) {
    return finding(
      rule,
      'load-shedding',
      'quiet',
      'info',
      'Load shedding is disabled',
      'Load shedding is imported but disabled: nothing is shed.',
      numbers,
    );
  }
  if (count === 0) {
    return finding(
      rule,
      'load-shedding',
      'quiet',
      'ok',
      'Nothing shed',
      `Load shedding${shadow ? ' (shadow mode)' : ''} rejected nothing over ${recentWindow(ctx)}` +
        (c ? ` (${inFlightText(ctx, c)}).` : '.'),
      numbers,
    );
  }
  const reasons = [...byReason].filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]);
  const priorities = [...byPriority].filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]);
  const why = reasons.map(([r, n]) => `${n} for ${reasonText(r, ctx)}`).join('; ');
  const levels = seriesOf(last, M.shedSignalLevel).filter((s) => s.value > 0);
  const levelText =
    levels.length > 0
      ? ` Signals over their soft threshold: ${levels.map((s) => `${s.labels.signal} ${num(s.value)}`).join(', ')}.`
      : '';
  return finding(
    rule,
    'load-shedding',
    'firing',
    shadow ? 'info' : 'warning',
    shadow ? 'Shadow mode would shed' : 'Shedding is active',
    `Over ${recentWindow(ctx)}: ${count} requests ${shadow ? 'would have been' : 'were'} answered 429 (${rate(
      count / seconds,
    )}, ${pct(count / Math.max(count + admitted, 1))} of arrivals): ${why}. By priority: ${priorities
      .map(([p, n]) => `${p} ${n}`)
      .join(', ')}.${levelText}`,
    numbers,
    shadow
      ? 'Shadow mode only counts: turn it off to actually protect the service once the would-shed counts look right.'
      : 'Shedding is protecting the admitted requests. If it sheds for long stretches, read the cause above (slow downstream, CPU, spike) and the scale-up advisor.',
  );
};

function reasonText(reason: string, ctx: ExplainContext): string {
  switch (reason) {
    case 'in_flight':
      return `in flight near maxInFlight ${num(ctx.capacity)} (sheds from 85 %)`;
    case 'event_loop':
      return `the event loop overloaded (ELU ${pct(ctx.coreRecent?.eluMean ?? 0)}, delay p99 ${secs(
        (ctx.coreRecent?.loopDelayP99Ms ?? 0) / 1000,
      )})`;
    case 'heap':
      return `heap pressure (${pct(ctx.coreRecent?.heapRatio ?? 0)} of the limit)`;
    default:
      return `the signal "${reason}"`;
  }
}

/** Draining and why. */
export const drainingRule: ExplainRule = (ctx) => {
  const rule = 'draining';
  const { last, first } = ctx;
  if (!has(last, M.drainState)) return absent(rule, 'health', 'Draining', '@steady/health');
  const state = seriesOf(last, M.drainState).find((s) => s.value === 1)?.labels.state ?? 'serving';
  const started = new Map<string, number>();
  for (const s of seriesOf(last, M.drainTriggers, { result: 'started' }))
    started.set(s.labels.source ?? '?', s.value);
  const total = value(last, M.drainDuration, { phase: 'total' });
  const oomTriggers = counterDelta(first, last, M.oomTriggers, { level: 'action' }) ?? 0;
  const numbers: Record<string, number | string | null> = {
    state,
    drain_seconds: round(total),
    in_flight_at_drain: value(last, M.drainInFlight, { phase: 'draining' }) ?? null,
    in_flight_at_close: value(last, M.drainInFlight, { phase: 'closing' }) ?? null,
    forced_requests: value(last, M.drainForced) ?? 0,
    oom_action_triggers: oomTriggers,
  };
  for (const [source, n] of started) numbers[`triggered_by ${source}`] = n;
  if (state === 'serving') {
    return finding(
      rule,
      'health',
      'quiet',
      'ok',
      'Serving',
      'The instance is serving: no drain under way.',
      numbers,
    );
  }
  const sources = [...started].filter(([, n]) => n > 0).map(([s]) => s);
  const who = sources
    .map((s) =>
      s === 'signal'
        ? 'a signal (SIGTERM from the orchestrator: a deploy, a scale-in or an eviction)'
        : s === 'admin'
          ? 'the admin endpoint (someone called it)'
          : s === 'api'
            ? 'the application (DrainService.drain(): e.g. the OOM guard)'
            : 'app.close()',
    )
    .join(' and ');
  const oomText =
    oomTriggers > 0
      ? ` The OOM guard acted ${oomTriggers} times in the window: memory ran out.`
      : '';
  return finding(
    rule,
    'health',
    'firing',
    'warning',
    `Draining (${state})`,
    `The instance is ${state}${total !== undefined ? ` since ${secs(total)}` : ''}: it has left the load balancer and finishes the requests in flight.` +
      (who ? ` Triggered by ${who}.` : '') +
      (numbers.in_flight_at_drain !== null
        ? ` ${numbers.in_flight_at_drain} requests were in flight when it began.`
        : '') +
      oomText,
    numbers,
    'Expected during a deploy. Otherwise find who asked: the trigger above and the log line "drain started".',
  );
};

/** Memory trending toward the OOM guard's action threshold. */
export const memoryRule: ExplainRule = (ctx) => {
  const rule = 'memory';
  const { last, snapshots } = ctx;
  if (!has(last, M.oomRatio) && !has(last, M.oomLevel)) {
    const heap = ctx.coreRecent?.heapRatio;
    return finding(
      rule,
      'oom-guard',
      'absent',
      'info',
      'Memory toward the OOM guard',
      '@steady/oom-guard is not present (none of its metrics are registered), so the trend toward its threshold is not checked.' +
        (heap !== undefined ? ` The heap is ${pct(heap)} of its limit (from @steady/core).` : ''),
      { heap_used_ratio: round(heap) },
    );
  }
  const level = value(last, M.oomLevel) ?? 0;
  const kinds = labelValues(last, M.oomRatio, 'kind');
  const numbers: Record<string, number | string | null> = { level };
  let worst:
    | {
        kind: string;
        ratio: number;
        action?: number;
        warning?: number;
        eta?: number;
        slope?: number;
      }
    | undefined;
  const parts: string[] = [];
  for (const kind of kinds) {
    const ratio = value(last, M.oomRatio, { kind });
    if (ratio === undefined) continue;
    const action = value(last, M.oomThreshold, { kind, level: 'action' });
    const warning = value(last, M.oomThreshold, { kind, level: 'warning' });
    const points = snapshots
      .map((s) => [s.at, value(s, M.oomRatio, { kind })] as const)
      .filter((p): p is readonly [number, number] => p[1] !== undefined);
    const slope = slopePerSecond(points);
    const eta =
      action !== undefined && slope !== undefined && slope > 0 && ratio < action
        ? (action - ratio) / slope
        : undefined;
    numbers[`${kind}_ratio`] = round(ratio);
    numbers[`${kind}_action_ratio`] = round(action);
    numbers[`${kind}_slope_per_minute`] = round(slope === undefined ? undefined : slope * 60, 4);
    numbers[`${kind}_eta_seconds`] = round(eta, 0);
    parts.push(
      `${kind} ${pct(ratio)}` +
        (action !== undefined ? ` (action at ${pct(action)})` : '') +
        (slope !== undefined ? `, ${slope >= 0 ? '+' : ''}${num(slope * 6000)} points/min` : '') +
        (eta !== undefined && eta <= 86_400
          ? `, reaches the action threshold in ${eta >= 3600 ? `${num(eta / 3600)} h` : secs(eta)}`
          : ''),
    );
    const score = eta ?? (action !== undefined && ratio >= action ? 0 : Infinity);
    const worstScore = worst
      ? (worst.eta ?? (worst.action !== undefined && worst.ratio >= worst.action ? 0 : Infinity))
      : Infinity;
    if (!worst || score < worstScore) worst = { kind, ratio, action, warning, eta, slope };
  }
  const triggers = counterDelta(ctx.first, last, M.oomTriggers) ?? 0;
  numbers.triggers_in_window = triggers;
  const trending = worst?.eta !== undefined && worst.eta <= ctx.t.memoryEtaSeconds;
  if (level < 1 && !trending && triggers === 0) {
    return finding(
      rule,
      'oom-guard',
      'quiet',
      'ok',
      'Memory is not heading for the OOM guard',
      parts.length > 0 ? `Memory: ${parts.join('; ')}.` : 'The OOM guard reports level 0 (ok).',
      numbers,
    );
  }
  return finding(
    rule,
    'oom-guard',
    'firing',
    level >= 2 ? 'critical' : 'warning',
    level >= 2
      ? 'Memory at the OOM guard action threshold'
      : 'Memory trending toward the OOM guard',
    `Memory: ${parts.join('; ')}. OOM guard level ${level} (${['ok', 'warning', 'action'][level] ?? level})` +
      (triggers > 0 ? `, ${triggers} triggers in the window` : '') +
      '.',
    numbers,
    level >= 2
      ? 'The guard leaves the load balancer, writes a heap snapshot and restarts the process: look at the snapshot for what grew.'
      : 'Something grows steadily (a cache without a bound, a leak, buffers): compare two heap snapshots; the guard will restart the instance before V8 aborts.',
  );
};

/** Slow WebSocket consumers. */
export const wsSlowConsumersRule: ExplainRule = (ctx) => {
  const rule = 'ws-slow-consumers';
  const { pivot, last, snapshots } = ctx;
  if (!has(last, M.wsClients))
    return absent(rule, 'ws-backpressure', 'Slow WebSocket consumers', '@steady/ws-backpressure');
  const recent = snapshots.filter((s) => s.at > pivot.at || s === last);
  const withUnwritable = recent.filter((s) => (value(s, M.wsUnwritable) ?? 0) > 0).length;
  const share = withUnwritable / recent.length;
  const evicted = counterDeltaBy(pivot, last, M.wsEvicted, 'reason');
  const dropped = counterDeltaBy(pivot, last, M.wsDropped, 'reason');
  const evictedSlow = ['slow_consumer', 'overflow', 'queue_full', 'global_budget'].reduce(
    (a, r) => a + (evicted.get(r) ?? 0),
    0,
  );
  const droppedSlow = (dropped.get('overflow') ?? 0) + (dropped.get('queue_full') ?? 0);
  const clients = value(last, M.wsClients) ?? 0;
  const unwritable = value(last, M.wsUnwritable) ?? 0;
  const buffered = value(last, M.wsBuffered) ?? 0;
  const numbers: Record<string, number | string | null> = {
    clients,
    unwritable_clients: unwritable,
    unwritable_share_ratio: round(share),
    buffered_bytes: buffered,
    evicted_clients: evictedSlow,
    dropped_messages: droppedSlow,
  };
  const firing =
    (share >= ctx.t.wsUnwritableShare && unwritable > 0) || evictedSlow > 0 || droppedSlow > 0;
  if (!firing) {
    return finding(
      rule,
      'ws-backpressure',
      'quiet',
      'ok',
      'WebSocket consumers keep up',
      `${clients} WebSocket clients, ${unwritable} above their high water mark, ${bytes(buffered)} buffered; no slow-consumer eviction or drop over ${recentWindow(ctx)}.`,
      numbers,
    );
  }
  const ev = [...evicted].filter(([, n]) => n > 0).map(([r, n]) => `${n} ${r}`);
  const dr = [...dropped].filter(([, n]) => n > 0).map(([r, n]) => `${n} ${r}`);
  return finding(
    rule,
    'ws-backpressure',
    'firing',
    'warning',
    'Slow WebSocket consumers',
    `${unwritable} of ${clients} WebSocket clients are above their high water mark (in ${pct(
      share,
    )} of the recent samples), ${bytes(buffered)} buffered for them.` +
      (ev.length > 0 ? ` Evicted over ${recentWindow(ctx)}: ${ev.join(', ')}.` : '') +
      (dr.length > 0 ? ` Messages dropped: ${dr.join(', ')}.` : ''),
    numbers,
    'The guard bounds their buffers and evicts the ones that stay slow; nothing to do unless fast clients are affected. Many at once: a broadcast larger than clients can read (coalesce it) or a network problem.',
  );
};

/** HTTP-client cache hit ratio collapsing. */
export const cacheHitRatioRule: ExplainRule = (ctx) => {
  const rule = 'cache-hit-ratio';
  const { first, pivot, last } = ctx;
  if (!has(last, M.clientRequests) && !has(last, M.clientOrigin))
    return absent(rule, 'http-client', 'HTTP-client cache hit ratio', '@steady/http-client');
  const clients = labelValues(last, M.clientRequests, 'client');
  const numbers: Record<string, number | string | null> = {};
  const collapsed: string[] = [];
  const fine: string[] = [];
  for (const client of clients) {
    const ratio = (a: ExplainSnapshot, b: ExplainSnapshot) => {
      const by = counterDeltaBy(a, b, M.clientRequests, 'cache', { client });
      const hits = (by.get('hit') ?? 0) + (by.get('stale') ?? 0);
      const total = [...by].filter(([k]) => k !== 'bypass').reduce((x, [, n]) => x + n, 0);
      return { hits, total, ratio: total > 0 ? hits / total : undefined, by };
    };
    const now = ratio(pivot, last);
    const before = pivot === first ? undefined : ratio(first, pivot);
    const storeErrors = counterDelta(pivot, last, M.clientStoreErrors, { client }) ?? 0;
    const origin = mean(histogramDelta(pivot, last, M.clientOrigin, { client }));
    numbers[`${client} hit_ratio`] = round(now.ratio);
    numbers[`${client} earlier_hit_ratio`] = round(before?.ratio);
    numbers[`${client} requests`] = now.total;
    numbers[`${client} store_errors`] = storeErrors;
    numbers[`${client} origin_mean_seconds`] = round(origin);
    const t = ctx.t;
    const isCollapse =
      before?.ratio !== undefined &&
      now.ratio !== undefined &&
      before.total >= t.cacheMinRequests &&
      now.total >= t.cacheMinRequests &&
      before.ratio >= t.cacheMinBaselineHitRatio &&
      now.ratio <= before.ratio * t.cacheCollapseFactor;
    if (!isCollapse) {
      fine.push(
        `"${client}" ${now.ratio === undefined ? 'no requests' : `${pct(now.ratio)} hits of ${now.total}`}`,
      );
      continue;
    }
    const cause =
      storeErrors > 0
        ? `the cache store is failing (${storeErrors} store errors: is Redis reachable?)`
        : (now.by.get('error') ?? 0) > 0
          ? `${now.by.get('error')} requests ended in errors`
          : 'entries are missing (evicted, expired together, a restart or keys that changed)';
    collapsed.push(
      `"${client}": ${pct(now.ratio!)} hits of ${now.total} requests over ${recentWindow(ctx)}, down from ${pct(
        before!.ratio!,
      )} of ${before!.total}; cause: ${cause}` +
        (origin !== undefined ? `; origin round trips ${secs(origin)} mean` : ''),
    );
  }
  if (collapsed.length === 0) {
    return finding(
      rule,
      'http-client',
      'quiet',
      'ok',
      'HTTP-client cache hit ratio steady',
      clients.length === 0
        ? 'The HTTP client has made no request yet.'
        : `Cache hits: ${fine.join(', ')}.`,
      numbers,
    );
  }
  return finding(
    rule,
    'http-client',
    'firing',
    'warning',
    'HTTP-client cache hit ratio collapsed',
    `Cache hit ratio collapsed for ${collapsed.join('; ')}. Every miss is a downstream round trip: expect more load on it and higher latency.`,
    numbers,
    'Check the cache store (Redis up, memory limit, evictions) and whether the downstream stopped sending cacheable responses (Cache-Control, ETag).',
  );
};

/**
 * The scale-up advisor: average utilisation over the whole window above `scaleUpAverage` says "scale up"; peaks
 * above `spikePeak` with a lower average say "shedding is handling it". Utilisation is the larger of in flight /
 * capacity and event-loop utilisation; when in flight is high only because a downstream is slow, it says not to
 * scale for that.
 */
export const scaleUpAdvisorRule: ExplainRule = (ctx) => {
  const rule = 'scale-up-advisor';
  const all = combineCore(ctx.snapshots);
  if (!all) return absent(rule, 'core', 'Scale-up advisor', '@steady/core');
  let peak = 0;
  for (const s of ctx.snapshots) {
    if (!s.core) continue;
    peak = Math.max(peak, s.core.inFlightMax / ctx.capacity, s.core.eluMax);
  }
  const inFlightAvg = all.inFlightMean / ctx.capacity;
  const avg = Math.max(inFlightAvg, all.eluMean);
  const coveredMs = ctx.last.at - ctx.first.at + ctx.first.spanMs;
  const shed = counterDelta(ctx.first, ctx.last, M.shedRequests) ?? 0;
  const shedding = has(ctx.last, M.shedEnabled);
  const numbers = {
    average_utilisation_ratio: round(avg),
    average_in_flight_ratio: round(inFlightAvg),
    average_elu_ratio: round(all.eluMean),
    average_cpu_ratio: round(all.cpuMean),
    peak_utilisation_ratio: round(peak),
    window_seconds: round(coveredMs / 1000, 1),
    threshold_ratio: ctx.t.scaleUpAverage,
    shed_requests_in_window: shed,
  };
  const over = `over the last ${secs(coveredMs / 1000)}`;
  if (avg >= ctx.t.scaleUpAverage) {
    if (all.cpuMean < 0.5 * all.eluMean && all.eluMean >= ctx.t.scaleUpAverage) {
      return finding(
        rule,
        'core',
        'firing',
        'warning',
        'Do not scale up yet: the process is starved of CPU',
        `The event loop averages ${pct(all.eluMean)} busy ${over}, but the process got only ${num(
          all.cpuMean,
        )} core of CPU: it waits for a CPU it is not given (an overloaded host, a CPU quota).`,
        numbers,
        'Fix the host or the CPU limit first (see "Starved of CPU"); then judge capacity again.',
      );
    }
    if (all.eluMean < ctx.t.eluLow && inFlightAvg >= ctx.t.scaleUpAverage) {
      return finding(
        rule,
        'core',
        'firing',
        'warning',
        'Do not scale up for this: requests are waiting, not working',
        `In flight averages ${pct(inFlightAvg)} of ${num(ctx.capacity)} ${over}, but the event loop only ${pct(
          all.eluMean,
        )}: the instances are not short of CPU, they wait on a slow downstream. More instances add more waiters.`,
        numbers,
        'Fix or bound the downstream (see "slow downstream"); shedding keeps the service answering meanwhile.',
      );
    }
    if (coveredMs < ctx.t.advisorMinWindowMs) {
      return finding(
        rule,
        'core',
        'quiet',
        'info',
        'Busy, too early to advise scaling',
        `Average utilisation ${pct(avg)} ${over}; the advisor waits for ${secs(
          ctx.t.advisorMinWindowMs / 1000,
        )} of history before it says "scale up" (spikes are for shedding).`,
        numbers,
      );
    }
    return finding(
      rule,
      'core',
      'firing',
      'critical',
      'Scale up',
      `Average utilisation ${pct(avg)} ${over} (threshold ${pct(ctx.t.scaleUpAverage)}; in flight ${pct(
        inFlightAvg,
      )}, event loop ${pct(all.eluMean)}): even the average load is hard to carry. Shedding only trims peaks.`,
      numbers,
      `Add capacity: about ${num(avg / 0.5)}× the current instances brings the average to 50 %.`,
    );
  }
  if (peak >= ctx.t.spikePeak || shed > 0) {
    return finding(
      rule,
      'core',
      'firing',
      'info',
      shedding ? 'Spikes: shedding is handling them' : 'Spikes: nothing sheds them',
      `Peaks reach ${pct(peak)} but the average is ${pct(avg)} ${over}` +
        (shed > 0 ? `; ${shed} requests were shed` : '') +
        '. Short spikes are not a reason to scale up.',
      numbers,
      shedding
        ? 'No action: shedding answers the excess with 429 + Retry-After during spikes.'
        : 'Import @steady/load-shedding so spikes get 429 + Retry-After instead of queueing.',
    );
  }
  return finding(
    rule,
    'core',
    'quiet',
    'ok',
    'Capacity is fine',
    `Average utilisation ${pct(avg)}, peak ${pct(peak)} ${over}: no need to scale up.`,
    numbers,
  );
};

/** Every rule, in the order they are reported when equally severe. */
export const EXPLAIN_RULES: readonly ExplainRule[] = Object.freeze([
  slowDownstreamRule,
  cpuBoundRule,
  cpuStarvedRule,
  poolSaturationRule,
  volumeSpikeRule,
  largePayloadRule,
  sheddingRule,
  drainingRule,
  memoryRule,
  wsSlowConsumersRule,
  cacheHitRatioRule,
  scaleUpAdvisorRule,
]);

const SEVERITY_ORDER: Record<FindingSeverity, number> = { critical: 0, warning: 1, info: 2, ok: 3 };
const STATUS_ORDER: Record<FindingStatus, number> = { firing: 0, quiet: 1, absent: 2 };

/** Which Steady modules the snapshot shows, by their metrics. */
export function modulesPresent(s: ExplainSnapshot): Record<string, boolean> {
  return {
    core: s.core !== undefined,
    metrics: true,
    'load-shedding': has(s, M.shedEnabled),
    health: has(s, M.drainState),
    etag: has(s, 'steady_etag_conditional_requests_total'),
    'ws-backpressure': has(s, M.wsClients),
    'http-client': has(s, M.clientRequests) || has(s, M.clientOrigin),
    'oom-guard': has(s, M.oomRatio) || has(s, M.oomLevel),
  };
}

/**
 * Runs the rules over a window of snapshots (oldest first). Pure: the same snapshots give the same report.
 *
 * @publicApi
 */
export function explain(
  snapshots: readonly ExplainSnapshot[],
  thresholds: Partial<ExplainThresholds> = {},
  downstreams: readonly ExplainDownstream[] = [],
  rules: readonly ExplainRule[] = EXPLAIN_RULES,
): ExplainReport {
  const ctx = explainContext(snapshots, thresholds, downstreams);
  const results = rules.map((r) => r(ctx));
  const advisor = results.find((f) => f.rule === 'scale-up-advisor') ?? scaleUpAdvisorRule(ctx);
  const findings = results
    .map((f, i) => ({ f, i }))
    .sort(
      (a, b) =>
        STATUS_ORDER[a.f.status] - STATUS_ORDER[b.f.status] ||
        (a.f.status === 'firing'
          ? SEVERITY_ORDER[a.f.severity] - SEVERITY_ORDER[b.f.severity]
          : 0) ||
        a.i - b.i,
    )
    .map(({ f }) => f);
  const top = findings.find((f) => f.status === 'firing' && f.severity !== 'info');
  const notes = findings.filter((f) => f.status === 'firing' && f.severity === 'info');
  return {
    at: new Date(ctx.last.at).toISOString(),
    headline: top
      ? `${top.title}. ${top.text}`
      : notes.length > 0
        ? `All quiet: nothing needs action (${notes.map((f) => f.title).join('; ')}).`
        : 'All quiet: no rule fires.',
    window: {
      snapshots: snapshots.length,
      seconds: round((ctx.last.at - ctx.first.at + ctx.first.spanMs) / 1000, 1) ?? 0,
      recentSeconds: round(ctx.recentSeconds, 1) ?? 0,
    },
    modules: modulesPresent(ctx.last),
    advisor,
    findings,
  };
}
