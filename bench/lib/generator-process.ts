import * as path from 'node:path';
import { runJsonCli } from './children';
import type { GeneratorConfig } from './generator-config';
import type { GeneratorResult } from './load-generator';

/** Compiled CLI next to this file (dist/bench/bench/lib/generator-cli.js). */
export const GENERATOR_CLI = path.join(__dirname, 'generator-cli.js');

/**
 * Runs the generator in its own process (optionally pinned) and returns its parsed result.
 * Killed with SIGKILL if it outlives its own hard timeout by 10 s.
 */
export function runGeneratorProcess(
  config: GeneratorConfig,
  cpus: string | null,
  cliPath: string = GENERATOR_CLI,
): Promise<GeneratorResult> {
  const bound =
    (config.warmupMs ?? 0) +
    2 * (config.hardTimeoutMs ?? config.durationMs + config.deadlineMs + 5_000) +
    10_000;
  return runJsonCli<GeneratorResult>('generator', cliPath, config, cpus, bound);
}
