/**
 * Generator entry point, run as its own process by the runner:
 *
 *   node dist/bench/bench/lib/generator-cli.js '<GeneratorConfig as JSON>'
 *
 * Prints one line of JSON (a GeneratorResult) on stdout and exits 0; on a bad config
 * (including any target other than 127.0.0.1) prints the reason on stderr and exits 2.
 */
import { GeneratorConfigError, normalizeGeneratorConfig, parseCliConfig } from './generator-config';
import { ForbiddenTargetError } from './host';
import { runLoad } from './load-generator';

export const EXIT_BAD_CONFIG = 2;
export const EXIT_FAILED = 1;
export const EXIT_WATCHDOG = 3;

async function main(): Promise<void> {
  let config;
  try {
    config = normalizeGeneratorConfig(parseCliConfig(process.argv.slice(2)));
  } catch (err) {
    if (err instanceof GeneratorConfigError || err instanceof ForbiddenTargetError) {
      process.stderr.write(`generator: ${err.message}\n`);
      process.exit(EXIT_BAD_CONFIG);
    }
    throw err;
  }
  // Watchdog in case something keeps the run from settling: never outlive the hard bound.
  setTimeout(
    () => {
      process.stderr.write('generator: watchdog fired, exiting\n');
      process.exit(EXIT_WATCHDOG);
    },
    config.warmupMs + 2 * config.hardTimeoutMs + 5_000,
  ).unref();

  const result = await runLoad(config);
  const usage = process.cpuUsage();
  result.processCpuMs = Math.round((usage.user + usage.system) / 100) / 10;
  process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0));
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`generator: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(EXIT_FAILED);
  });
}
