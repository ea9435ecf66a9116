import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { track } from '../lib/children';
import { pinnedCommand } from '../lib/pinning';
import type { WsClientConfig, WsClientResult } from './ws-client-config';

/** Compiled CLI next to this file (dist/bench/bench/ws/ws-client-cli.js). */
export const WS_CLIENT_CLI = path.join(__dirname, 'ws-client-cli.js');

/** Runs the WebSocket client side in its own process (pinned when `cpus` is set); SIGKILL past its bound. */
export async function runWsClientProcess(
  config: WsClientConfig,
  cpus: string | null,
): Promise<WsClientResult> {
  const bound = config.produce.durationMs + config.settleMs + 60_000;
  const { command, args } = pinnedCommand(cpus, process.execPath, [
    WS_CLIENT_CLI,
    JSON.stringify(config),
  ]);
  const child = track(spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] }));
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  child.stderr?.on('data', (c: Buffer) => (stderr = (stderr + c.toString('utf8')).slice(-4_000)));
  const killer = setTimeout(() => child.kill('SIGKILL'), bound);
  const { code, signal } = await new Promise<{ code: number | null; signal: string | null }>(
    (resolve) => {
      child.once('close', (c, s) => resolve({ code: c, signal: s }));
      child.once('error', () => {
        if (child.pid === undefined) resolve({ code: null, signal: null });
      });
    },
  );
  clearTimeout(killer);
  if (code !== 0) throw new Error(`ws client exited with code ${code} signal ${signal}: ${stderr}`);
  const line = stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as WsClientResult;
  } catch {
    throw new Error(`ws client printed no JSON result: ${stdout.slice(0, 300)} ${stderr}`);
  }
}
