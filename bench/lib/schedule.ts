/**
 * Schedule math for the open-loop generator. Request `i` is *intended* to be sent at
 * `start + i / rate`, whatever happened to requests `0..i-1`. Offsets are computed from the
 * index (never by adding an interval to the previous send time), so timer jitter never
 * accumulates into drift.
 */

/** Milliseconds between two intended sends. */
export function intervalMs(rate: number): number {
  assertRate(rate);
  return 1000 / rate;
}

/** How many requests an open-loop run of `durationMs` at `rate` req/s schedules. */
export function plannedCount(rate: number, durationMs: number): number {
  assertRate(rate);
  if (!(durationMs >= 0)) throw new RangeError(`durationMs must be >= 0, got ${durationMs}`);
  // The tiny epsilon keeps e.g. 0.1 * 30_000 / 1000 = 2.9999999999999996 from losing a request.
  return Math.floor((rate * durationMs) / 1000 + 1e-9);
}

/** Intended send time of request `index`, in ms after the start of the run. */
export function scheduledOffsetMs(index: number, rate: number): number {
  assertRate(rate);
  return (index * 1000) / rate;
}

/**
 * How many requests (indices 0..n-1) are due once `elapsedMs` have passed since the start,
 * capped at `total`. Request 0 is due at 0 ms.
 */
export function dueCount(elapsedMs: number, rate: number, total: number): number {
  assertRate(rate);
  if (elapsedMs < 0) return 0;
  const due = Math.floor((elapsedMs * rate) / 1000 + 1e-9) + 1;
  return Math.min(total, due);
}

/**
 * Send rate actually achieved: `sent` requests over the window from the first intended send
 * to the last actual send, plus one interval (so a perfect run reports exactly `rate`).
 */
export function achievedRate(sent: number, lastSendOffsetMs: number, rate: number): number {
  if (sent <= 0) return 0;
  const windowMs = Math.max(lastSendOffsetMs, 0) + intervalMs(rate);
  return (sent * 1000) / windowMs;
}

function assertRate(rate: number): void {
  if (!(rate > 0) || !Number.isFinite(rate)) {
    throw new RangeError(`rate must be a positive finite number, got ${rate}`);
  }
}
