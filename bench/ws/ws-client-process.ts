import * as path from 'node:path';
import { runJsonCli } from '../lib/children';
import type { WsClientConfig, WsClientResult } from './ws-client-config';

/** Compiled CLI next to this file (dist/bench/bench/ws/ws-client-cli.js). */
export const WS_CLIENT_CLI = path.join(__dirname, 'ws-client-cli.js');

/** Runs the WebSocket client side in its own process (pinned when `cpus` is set); SIGKILL past its bound. */
export function runWsClientProcess(
  config: WsClientConfig,
  cpus: string | null,
): Promise<WsClientResult> {
  const bound = config.produce.durationMs + config.settleMs + 60_000;
  return runJsonCli<WsClientResult>('ws client', WS_CLIENT_CLI, config, cpus, bound);
}
