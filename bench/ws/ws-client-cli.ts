/**
 * The client side of the WebSocket bench, in its own (pinned) process: `node ws-client-cli.js '<WsClientConfig
 * JSON>'`. Opens the stalled and fast clients, starts the server's producer, counts what the fast clients get,
 * then prints one JSON line (WsClientResult). Only ever connects to 127.0.0.1; bounded by a hard timeout.
 */
import WebSocket from 'ws';
import { ALLOWED_HOST } from '../lib/host';
import { httpRequest } from '../lib/server-process';
import { connectStalled } from './stalled-client';
import type { FastClientResult, WsClientConfig, WsClientResult } from './ws-client-config';
import { seqOf, WS_PATH, type ServerStats } from './ws-protocol';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function connectFast(port: number): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://${ALLOWED_HOST}:${port}${WS_PATH}`, {
      perMessageDeflate: false,
    });
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error('fast client: connect timed out'));
    }, 5_000);
    ws.once('open', () => {
      clearTimeout(timer);
      resolve(ws);
    });
    ws.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

async function main(config: WsClientConfig): Promise<WsClientResult> {
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  const stalled = [];
  for (let i = 0; i < config.stalled; i++) stalled.push(await connectStalled(config.port, WS_PATH));
  let windowStart = Infinity;
  let windowEnd = Infinity;
  const fast: Array<FastClientResult & { ws: WebSocket; last: number }> = [];
  for (let i = 0; i < config.fast; i++) {
    const ws = await connectFast(config.port);
    const state = { ws, last: -1, received: 0, inWindow: 0, rate: 0, lost: 0, closed: false };
    ws.on('message', (data: Buffer) => {
      const now = performance.now();
      state.received++;
      if (now >= windowStart && now < windowEnd) state.inWindow++;
      const seq = seqOf(data.toString('latin1', 0, 40));
      if (seq > state.last + 1 && config.produce.kind === 'rate')
        state.lost += seq - state.last - 1;
      if (seq > state.last) state.last = seq;
    });
    ws.once('close', () => (state.closed = true));
    ws.on('error', () => undefined);
    fast.push(state);
  }
  const started = performance.now();
  const res = await httpRequest(config.port, 'POST', '/produce', config.produce, 5_000);
  if (res.status !== 202) throw new Error(`POST /produce answered ${res.status}: ${res.body}`);
  windowStart = started + config.warmupMs;
  windowEnd = started + config.produce.durationMs;
  await sleep(config.produce.durationMs + config.settleMs);
  let server: ServerStats | undefined;
  for (let attempt = 0; attempt < 50; attempt++) {
    const s = await httpRequest(config.port, 'GET', '/stats', undefined, 5_000);
    server = JSON.parse(s.body) as ServerStats;
    if (server.done) break;
    await sleep(200);
  }
  const windowMs = config.produce.durationMs - config.warmupMs;
  if (config.produce.kind === 'rate' && server) {
    // messages produced but never received at the end count as lost too
    for (const f of fast) f.lost += Math.max(0, server.produced - 1 - f.last);
  }
  for (const f of fast) f.rate = Math.round((f.inWindow / windowMs) * 1000);
  const cpu = process.cpuUsage(cpu0);
  const result: WsClientResult = {
    windowMs,
    fast: fast.map(({ ws: _ws, last: _last, ...r }) => r),
    stalledConnected: stalled.length,
    clientCpuPct:
      Math.round(((cpu.user + cpu.system) / 1000 / (performance.now() - wall0)) * 1000) / 10,
    server: server!,
  };
  for (const f of fast) f.ws.terminate();
  for (const s of stalled) s.destroy();
  return result;
}

const config = JSON.parse(process.argv[2] ?? '{}') as WsClientConfig;
const hard = setTimeout(
  () => {
    process.stderr.write('ws client: hard timeout\n');
    process.exit(3);
  },
  config.produce.durationMs + config.settleMs + 40_000,
);
hard.unref();
main(config)
  .then((result) => {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    process.exit(0);
  })
  .catch((err: unknown) => {
    process.stderr.write(`ws client failed: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  });
