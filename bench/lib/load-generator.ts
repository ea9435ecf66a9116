import { createHistogram, performance, type RecordableHistogram } from 'node:perf_hooks';
import { Pool, type Dispatcher } from 'undici';
import {
  normalizeGeneratorConfig,
  type GeneratorConfig,
  type LoadMode,
  type NormalizedGeneratorConfig,
} from './generator-config';
import { DeadlineQueue } from './deadline-queue';
import { parseLoopbackTarget } from './host';
import { achievedRate, dueCount, plannedCount, scheduledOffsetMs } from './schedule';
import { round } from './stats';

/**
 * The load generator. Two modes:
 *
 * - open loop: request i is due at start + i/rate, sent whether or not earlier requests have
 *   completed; latency is measured from that intended time (no coordinated omission);
 * - closed loop: N workers, each sending its next request as soon as the previous one ended; the N
 *   connections are opened (one unmeasured request each) before the run starts.
 *
 * Every request has a deadline; at the deadline it is aborted and counted as a timeout.
 * Run this in its own process (see generator-cli.ts), never in the server's event loop.
 */

export interface LatencySummary {
  /** Number of samples in the histogram. */
  count: number;
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface GeneratorResult {
  mode: LoadMode;
  config: NormalizedGeneratorConfig;
  startedAt: string;
  elapsedMs: number;
  /** Open loop: requests the schedule asked for. Closed loop: equals `sent`. */
  scheduled: number;
  sent: number;
  /** Open loop: due requests not sent because `maxOutstanding` were already in flight. */
  dropped: number;
  /** 2xx answered within the deadline. */
  ok: number;
  /** Aborted at the deadline (or answered after it). */
  timeouts: number;
  /** shed429 + shed503. */
  shed: number;
  shed429: number;
  shed503: number;
  /** errorStatus + errorNetwork. */
  errors: number;
  /** Any other HTTP status (e.g. 404, 500) answered within the deadline. */
  errorStatus: number;
  /** Connection refused/reset, socket hang up, malformed response... */
  errorNetwork: number;
  /** Requests still in flight when the hard timeout hit (0 unless `aborted`). */
  inFlightAtEnd: number;
  statusCounts: Record<string, number>;
  /** Requests actually sent per second. */
  sendRate: number;
  /** Responses with a status (any) per second of the run. */
  throughput: number;
  /** `ok` per second: open loop over the scheduling window, closed loop over the run. */
  goodput: number;
  /** Latency of the `ok` requests in ms; open loop measures from the intended send time. */
  latencyMs: LatencySummary;
  /** Open loop: how late the generator actually sent relative to the schedule, in ms. */
  sendLagMs: LatencySummary | null;
  /** CPU used by the generator during the run; `pct` is % of one core. */
  cpu: { userMs: number; systemMs: number; pct: number };
  /** Set by the CLI: all CPU its process used, boot included, in ms. */
  processCpuMs?: number;
  /** The unrecorded warm-up before the run (`warmupMs`), if any. */
  warmup: { sent: number; ok: number; elapsedMs: number } | null;
  /** True when the hard timeout ended the run. */
  aborted: boolean;
  /** First few error messages, for diagnosis. */
  errorSamples: string[];
  /** Latency of the 429/503 answers from the intended send time (includes the generator's own send lag), in ms. */
  shedLatencyMs: LatencySummary;
  /** Latency of the 429/503 answers from when the request was handed to the connection pool, in ms. */
  shedFromSendMs: LatencySummary;
  /** With a `mix`: the counts per label. */
  byLabel: Record<string, LabelCounts> | null;
  /** With `timelineBucketMs`: counts per bucket of intended send time. */
  timeline: TimelineBucket[] | null;
}

export interface LabelCounts {
  sent: number;
  ok: number;
  shed: number;
  timeouts: number;
  errors: number;
}

export interface TimelineBucket {
  /** Start of the bucket, ms after the start of the run (intended send time). */
  atMs: number;
  ok: number;
  shed: number;
  timeouts: number;
  errors: number;
}

/**
 * Smooth weighted round robin (as in nginx): a cycle of mix indices where each appears `weight` times, spread
 * evenly, so any window of the run has the configured proportions.
 */
export function mixCycle(weights: readonly number[]): number[] {
  const total = weights.reduce((a, w) => a + w, 0);
  const current = weights.map(() => 0);
  const cycle: number[] = [];
  for (let n = 0; n < total; n++) {
    let best = 0;
    for (let i = 0; i < weights.length; i++) {
      current[i] += weights[i];
      if (current[i] > current[best]) best = i;
    }
    current[best] -= total;
    cycle.push(best);
  }
  return cycle;
}

/** Intended offsets (ms after start) of every request of a step load. */
export function stepOffsets(
  steps: readonly { durationMs: number; rate: number }[],
  max: number,
): number[] {
  const out: number[] = [];
  let base = 0;
  for (const s of steps) {
    const n = plannedCount(s.rate, s.durationMs);
    for (let i = 0; i < n && out.length < max; i++) out.push(base + scheduledOffsetMs(i, s.rate));
    base += s.durationMs;
  }
  return out;
}

const HIST_HIGHEST_US = 120_000_000; // 120 s, above any allowed deadline
const MAX_ERROR_SAMPLES = 5;

function newHistogram(): RecordableHistogram {
  return createHistogram({ lowest: 1, highest: HIST_HIGHEST_US, figures: 3 });
}

function recordMs(h: RecordableHistogram, ms: number): void {
  const us = Math.round(ms * 1000);
  h.record(Math.min(HIST_HIGHEST_US, Math.max(1, us)));
}

function summarize(h: RecordableHistogram): LatencySummary {
  if (h.count === 0) {
    return { count: 0, min: NaN, mean: NaN, p50: NaN, p90: NaN, p99: NaN, max: NaN };
  }
  const ms = (us: number): number => round(us / 1000, 3);
  return {
    count: h.count,
    min: ms(h.min),
    mean: ms(h.mean),
    p50: ms(h.percentile(50)),
    p90: ms(h.percentile(90)),
    p99: ms(h.percentile(99)),
    max: ms(h.max),
  };
}

type Outcome =
  { kind: 'response'; status: number } | { kind: 'timeout' } | { kind: 'network'; message: string };

export async function runLoad(
  input: GeneratorConfig | NormalizedGeneratorConfig,
): Promise<GeneratorResult> {
  const config = normalizeGeneratorConfig(input);
  const { host, port } = parseLoopbackTarget(config.target); // re-checked on purpose
  let warmup: GeneratorResult['warmup'] = null;
  if (config.warmupMs > 0) {
    const w = await runLoad({
      ...config,
      mode: 'closed',
      connections: Math.min(4, config.maxSockets),
      maxSockets: Math.min(4, config.maxSockets),
      durationMs: config.warmupMs,
      hardTimeoutMs: config.warmupMs + config.deadlineMs + 1_000,
      warmupMs: 0,
      rate: null,
      steps: null,
      timelineBucketMs: null,
    });
    warmup = { sent: w.sent, ok: w.ok, elapsedMs: w.elapsedMs };
  }
  // undici rather than node:http: about 40% less generator CPU per request, which keeps the
  // generator from being the bottleneck of a closed-loop run against a fast server.
  const pool = new Pool(`http://${host}:${port}`, {
    connections: config.maxSockets,
    pipelining: 1,
    headersTimeout: 0, // deadlines are enforced above, per request
    bodyTimeout: 0,
  });
  if (config.mode === 'closed') {
    // Open every connection before measuring, as wrk does: a Node server accepts one new connection per
    // event-loop turn, so N connections opened at t0 would put a ramp of up to N turns into the measured run.
    const path = (config.mix ? config.mix[0].request : config.request).path;
    const opened = Promise.all(
      Array.from({ length: config.connections as number }, () =>
        pool
          .request({ method: 'GET', path })
          .then((r) => r.body.dump())
          .catch(() => undefined),
      ),
    );
    await Promise.race([opened, new Promise((r) => setTimeout(r, 2 * config.deadlineMs).unref())]);
  }
  const latency = newHistogram();
  const shedLatency = newHistogram();
  const shedFromSend = newHistogram();
  const sendLag = newHistogram();
  const mix = config.mix;
  const cycle = mix ? mixCycle(mix.map((m) => m.weight)) : [0];
  const byLabel: Record<string, LabelCounts> | null = mix
    ? Object.fromEntries(
        mix.map((m) => [m.label, { sent: 0, ok: 0, shed: 0, timeouts: 0, errors: 0 }]),
      )
    : null;
  const bucketMs = config.timelineBucketMs;
  const timeline: TimelineBucket[] = [];
  const bucketOf = (intendedMs: number): TimelineBucket | undefined => {
    if (bucketMs === null) return undefined;
    const i = Math.max(0, Math.floor((intendedMs - t0) / bucketMs));
    while (timeline.length <= i)
      timeline.push({ atMs: timeline.length * bucketMs, ok: 0, shed: 0, timeouts: 0, errors: 0 });
    return timeline[i];
  };
  let sendIndex = 0;
  const statusCounts: Record<string, number> = {};
  const errorSamples: string[] = [];
  const c = {
    sent: 0,
    dropped: 0,
    ok: 0,
    timeouts: 0,
    shed429: 0,
    shed503: 0,
    errorStatus: 0,
    errorNetwork: 0,
  };
  let outstanding = 0;
  let lastSendOffsetMs = 0;
  let lastCompletionMs = 0;
  // One queue (one timer) per distinct deadline: each stays in non-decreasing order.
  const deadlineQueues = new Map<number, DeadlineQueue>();
  const deadlinesFor = (ms: number): DeadlineQueue => {
    let q = deadlineQueues.get(ms);
    if (!q) deadlineQueues.set(ms, (q = new DeadlineQueue()));
    return q;
  };
  const startedAt = new Date().toISOString();
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();

  const kinds = (mix ?? [{ label: '', weight: 1, request: config.request }]).map((m) => ({
    label: m.label,
    method: m.request.method ?? 'GET',
    path: m.request.path,
    headers: { ...(m.request.headers ?? {}) } as Record<string, string>, // undici adds content-length
    body: m.request.body ?? null,
    okStatuses: new Set(m.request.okStatuses ?? []),
    deadlineMs:
      ('deadlineMs' in m && m.deadlineMs !== undefined ? m.deadlineMs : undefined) ??
      config.deadlineMs,
  }));
  let runOver = false; // set once the result is taken: late callbacks must not change it

  function record(
    outcome: Outcome,
    intendedMs: number,
    nowMs: number,
    kind: (typeof kinds)[number],
    sentAtMs: number,
  ): void {
    const elapsed = nowMs - intendedMs;
    lastCompletionMs = Math.max(lastCompletionMs, nowMs - t0);
    const label = byLabel ? byLabel[kind.label] : undefined;
    const bucket = bucketOf(intendedMs);
    if (outcome.kind === 'timeout' || (outcome.kind === 'response' && elapsed > kind.deadlineMs)) {
      c.timeouts++;
      if (label) label.timeouts++;
      if (bucket) bucket.timeouts++;
      return;
    }
    if (outcome.kind === 'network') {
      c.errorNetwork++;
      if (label) label.errors++;
      if (bucket) bucket.errors++;
      if (errorSamples.length < MAX_ERROR_SAMPLES) errorSamples.push(outcome.message);
      return;
    }
    const s = outcome.status;
    statusCounts[s] = (statusCounts[s] ?? 0) + 1;
    if ((s >= 200 && s < 300) || kind.okStatuses.has(s)) {
      c.ok++;
      if (label) label.ok++;
      if (bucket) bucket.ok++;
      recordMs(latency, elapsed);
    } else if (s === 429 || s === 503) {
      if (s === 429) c.shed429++;
      else c.shed503++;
      if (label) label.shed++;
      if (bucket) bucket.shed++;
      recordMs(shedLatency, elapsed);
      recordMs(shedFromSend, nowMs - sentAtMs);
    } else {
      c.errorStatus++;
      if (label) label.errors++;
      if (bucket) bucket.errors++;
    }
  }

  /** Sends one request intended at `intendedMs` (performance.now() clock); calls back once settled. */
  function send(intendedMs: number, onSettled: () => void): void {
    const sentAt = performance.now();
    lastSendOffsetMs = sentAt - t0;
    const kind = kinds[cycle[sendIndex++ % cycle.length]];
    if (byLabel) byLabel[kind.label].sent++;
    c.sent++;
    outstanding++;
    let settled = false;
    let status = 0;
    let controller: Dispatcher.DispatchController | undefined;
    const finish = (outcome: Outcome): void => {
      if (settled || runOver) return;
      settled = true;
      deadline.settle();
      outstanding--;
      record(outcome, intendedMs, performance.now(), kind, sentAt);
      onSettled();
    };
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(ctrl) {
        controller = ctrl;
        // Expired while queued for a connection: never put it on the wire.
        if (settled) ctrl.abort(new Error('deadline exceeded'));
      },
      onResponseStart(_ctrl, statusCode) {
        status = statusCode;
      },
      onResponseData() {
        // body discarded; only completion matters
      },
      onResponseEnd() {
        finish({ kind: 'response', status });
      },
      onResponseError(_ctrl, err) {
        finish({ kind: 'network', message: err.message });
      },
    };
    const deadline = deadlinesFor(kind.deadlineMs).add(intendedMs + kind.deadlineMs, () => {
      finish({ kind: 'timeout' });
      if (controller && !controller.aborted) controller.abort(new Error('deadline exceeded'));
    });
    pool.dispatch(
      { path: kind.path, method: kind.method, headers: kind.headers, body: kind.body },
      handler,
    );
  }

  let aborted = false;
  let hardTimer: NodeJS.Timeout | undefined;
  const hardTimeout = new Promise<void>((resolve) => {
    hardTimer = setTimeout(() => {
      aborted = true;
      resolve();
    }, config.hardTimeoutMs);
  });

  function openLoop(rate: number, total: number, offsets: number[] | null): Promise<void> {
    const offsetOf = (i: number): number => (offsets ? offsets[i] : scheduledOffsetMs(i, rate));
    const due = (elapsedMs: number, from: number): number => {
      if (!offsets) return dueCount(elapsedMs, rate, total);
      let n = from;
      while (n < total && offsets[n] <= elapsedMs) n++;
      return n;
    };
    return new Promise<void>((resolve) => {
      let next = 0;
      let sendingDone = total === 0;
      const settled = (): void => {
        if (sendingDone && outstanding === 0) resolve();
      };
      const tick = (): void => {
        if (aborted) return;
        const dueNow = due(performance.now() - t0, next);
        while (next < dueNow) {
          const intended = t0 + offsetOf(next);
          next++;
          if (outstanding >= config.maxOutstanding) {
            c.dropped++;
            continue;
          }
          recordMs(sendLag, performance.now() - intended);
          send(intended, settled);
        }
        if (next >= total) {
          sendingDone = true;
          settled();
          return;
        }
        const wait = t0 + offsetOf(next) - performance.now();
        // Node timers have 1 ms granularity: requests due within the same millisecond go out
        // together, which is what the send-lag summary reports.
        setTimeout(tick, Math.max(0, Math.floor(wait)));
      };
      if (sendingDone) resolve();
      else tick();
    });
  }

  function closedLoop(connections: number): Promise<void> {
    const endAt = t0 + config.durationMs;
    const worker = (): Promise<void> =>
      new Promise<void>((resolve) => {
        const loop = (): void => {
          const now = performance.now();
          if (aborted || now >= endAt || c.sent >= config.maxRequests) {
            resolve();
            return;
          }
          // Closed loop: the intended time is the actual send time.
          send(now, () => setImmediate(loop));
        };
        loop();
      });
    return Promise.all(Array.from({ length: connections }, worker)).then(() => undefined);
  }

  let scheduled: number;
  let windowMs: number;
  if (config.mode === 'open') {
    const rate = config.rate as number;
    const offsets = config.steps ? stepOffsets(config.steps, config.maxRequests) : null;
    const total = offsets
      ? offsets.length
      : Math.min(plannedCount(rate, config.durationMs), config.maxRequests);
    scheduled = total;
    windowMs = config.durationMs;
    await Promise.race([openLoop(rate, total, offsets), hardTimeout]);
  } else {
    const connections = config.connections as number;
    scheduled = -1;
    await Promise.race([closedLoop(connections), hardTimeout]);
    scheduled = c.sent;
    windowMs = Math.max(1, lastCompletionMs);
  }
  clearTimeout(hardTimer);
  const elapsedMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const inFlightAtEnd = outstanding;
  runOver = true;
  for (const q of deadlineQueues.values()) q.close();
  await pool.destroy().catch(() => undefined);

  const shed = c.shed429 + c.shed503;
  const errors = c.errorStatus + c.errorNetwork;
  const responses = c.ok + shed + c.errorStatus;
  const elapsedSec = elapsedMs / 1000;
  return {
    mode: config.mode,
    config,
    startedAt,
    elapsedMs: round(elapsedMs, 1),
    scheduled,
    sent: c.sent,
    dropped: c.dropped,
    ok: c.ok,
    timeouts: c.timeouts,
    shed,
    shed429: c.shed429,
    shed503: c.shed503,
    errors,
    errorStatus: c.errorStatus,
    errorNetwork: c.errorNetwork,
    inFlightAtEnd,
    statusCounts,
    sendRate: round(
      config.mode === 'open'
        ? achievedRate(c.sent, lastSendOffsetMs, config.rate as number)
        : c.sent / elapsedSec,
      1,
    ),
    throughput: round(responses / elapsedSec, 1),
    goodput: round((c.ok * 1000) / windowMs, 1),
    latencyMs: summarize(latency),
    sendLagMs: config.mode === 'open' ? summarize(sendLag) : null,
    cpu: {
      userMs: round(cpu.user / 1000, 1),
      systemMs: round(cpu.system / 1000, 1),
      pct: round(((cpu.user + cpu.system) / 1000 / elapsedMs) * 100, 1),
    },
    warmup,
    aborted,
    errorSamples,
    shedLatencyMs: summarize(shedLatency),
    shedFromSendMs: summarize(shedFromSend),
    byLabel,
    timeline: bucketMs === null ? null : timeline,
  };
}
