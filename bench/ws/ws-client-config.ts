import type { ProduceSpec, ServerStats } from './ws-protocol';

/** What one client process does: connect, ask the server to produce, count, report. */
export interface WsClientConfig {
  port: number;
  /** ordinary `ws` clients that read as fast as they can */
  fast: number;
  /** raw TCP clients that complete the upgrade and then never read */
  stalled: number;
  produce: ProduceSpec;
  /** the measured window starts this long after the producer starts… */
  warmupMs: number;
  /** …and ends with it; then this long for the last messages in flight */
  settleMs: number;
}

export interface FastClientResult {
  received: number;
  /** messages received in the measured window */
  inWindow: number;
  /** inWindow / window seconds */
  rate: number;
  /** sequence numbers missing (rate scenarios: every client gets every seq) */
  lost: number;
  /** the server closed it */
  closed: boolean;
}

export interface WsClientResult {
  windowMs: number;
  fast: FastClientResult[];
  stalledConnected: number;
  /** the client process's own CPU over the run, % of one core */
  clientCpuPct: number;
  server: ServerStats;
}
