/**
 * The contract between the WebSocket bench server (bench/fixtures/ws-server) and its client process
 * (bench/ws/ws-client-cli.ts). Types and pure helpers only, so both builds can include it.
 */

/** A steady producer: `rate` messages a second to every client, `bytes` each, for `durationMs`. */
export interface RateProduce {
  kind: 'rate';
  rate: number;
  bytes: number;
  durationMs: number;
  /** Serialise per client (like Nest's per-client JSON.stringify) instead of once per message. */
  unique: boolean;
}

/** As fast as the server can: `batch` messages to every client per event-loop turn, for `durationMs`. */
export interface SaturateProduce {
  kind: 'saturate';
  bytes: number;
  durationMs: number;
  batch: number;
}

export type ProduceSpec = RateProduce | SaturateProduce;

/** One server-side sample (every SAMPLE_INTERVAL_MS while producing). */
export interface ServerSample {
  /** ms since the producer started */
  t: number;
  rss: number;
  heapUsed: number;
  external: number;
  /** Σ bufferedAmount over the server's clients */
  buffered: number;
  clients: number;
  /** guarded only; -1 otherwise */
  unwritable: number;
}

export interface ServerStats {
  mode: string;
  done: boolean;
  /** messages produced (each to every client) */
  produced: number;
  /** individual client.send() calls */
  sends: number;
  /** process.cpuUsage() over the producing period, ms (user + system) */
  cpuMs: number;
  /** the producer stopped early because RSS passed WS_BENCH_RSS_CAP_MB */
  capped: boolean;
  samples: ServerSample[];
  /** guarded only: ms since the start, reason */
  evictions: Array<{ t: number; reason: string }>;
  dropped: number;
  highWaterMark: number;
}

export const SAMPLE_INTERVAL_MS = 250;
export const WS_PATH = '/feed';

/** The message for sequence number `seq`: `{"event":"tick","data":{"seq":…,"t":…,"pad":"…"}}`, about `bytes`. */
export function tickMessage(seq: number, t: number, pad: string): string {
  return `{"event":"tick","data":{"seq":${seq},"t":${t},"pad":"${pad}"}}`;
}

/** A pad that makes {@link tickMessage} about `bytes` long. */
export function padFor(bytes: number): string {
  return 'x'.repeat(Math.max(0, bytes - 60));
}

/** The sequence number of a tick message, read from its start without parsing. */
export function seqOf(message: string): number {
  const m = /"seq":(\d+)/.exec(message);
  return m ? Number(m[1]) : -1;
}
