import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { track } from './children';
import type { GeneratorConfig } from './generator-config';
import type { GeneratorResult } from './load-generator';
import { pinnedCommand } from './pinning';

/** Compiled CLI next to this file (dist/bench/bench/lib/generator-cli.js). */
export const GENERATOR_CLI = path.join(__dirname, 'generator-cli.js');

/**
 * Runs the generator in its own process (optionally pinned) and returns its parsed result.
 * Killed with SIGKILL if it outlives its own hard timeout by 10 s.
 */
export async function runGeneratorProcess(
  config: GeneratorConfig,
  cpus: string | null,
  cliPath: string = GENERATOR_CLI,
): Promise<GeneratorResult> {
  const bound =
    (config.warmupMs ?? 0) +
    2 * (config.hardTimeoutMs ?? config.durationMs + config.deadlineMs + 5_000) +
    10_000;
  const { command, args } = pinnedCommand(cpus, process.execPath, [
    cliPath,
    JSON.stringify(config),
  ]);
  const child = track(spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] }));
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  child.stderr?.on('data', (c: Buffer) => (stderr = (stderr + c.toString('utf8')).slice(-4_000)));
  let spawnError: Error | undefined;
  child.once('error', (err) => (spawnError = err));
  const killer = setTimeout(() => child.kill('SIGKILL'), bound);
  // 'close' (not 'exit') so that all of stdout has been read.
  const { code, signal } = await new Promise<{ code: number | null; signal: string | null }>(
    (resolve) => {
      child.once('close', (c, s) => resolve({ code: c, signal: s }));
      child.once('error', () => {
        if (child.pid === undefined) resolve({ code: null, signal: null });
      });
    },
  );
  clearTimeout(killer);
  if (spawnError) throw new Error(`generator failed to spawn: ${spawnError.message}`);
  if (code !== 0) {
    throw new Error(`generator exited with code ${code} signal ${signal}: ${stderr.trim()}`);
  }
  const line = stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as GeneratorResult;
  } catch {
    throw new Error(`generator printed no JSON result: ${stdout.slice(0, 500)} ${stderr}`);
  }
}
