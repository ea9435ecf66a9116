import type { INestApplicationContext } from '@nestjs/common';
import { DrainService } from './drain.service';

/** Options of {@link enableDrainHooks}. @publicApi */
export interface DrainHooksOptions {
  /** Signals that start a drain. Default `['SIGTERM', 'SIGINT']`. */
  signals?: NodeJS.Signals[];
  /**
   * After a signal-triggered drain: `'reraise'` (default) raises the same signal again, so the process ends the way
   * a supervisor expects (like Nest's own shutdown hooks); a number calls `process.exit(n)`.
   */
  exit?: 'reraise' | number;
}

/**
 * Use instead of `app.enableShutdownHooks()`: SIGTERM/SIGINT start the drain (readiness DOWN → wait for the load
 * balancer → close the server → wait for in-flight requests → `app.close(signal)` → exit), and the drain can hand
 * over to Nest's shutdown from any trigger. Call it before `app.listen()`.
 *
 * @example
 * const app = await NestFactory.create(AppModule);
 * enableDrainHooks(app);
 * await app.listen(3000);
 *
 * @publicApi
 */
export function enableDrainHooks<T extends INestApplicationContext>(
  app: T,
  options: DrainHooksOptions = {},
): T {
  const drain = app.get(DrainService, { strict: false });
  drain.attachApplication(app);
  drain.listenToSignals(options.signals ?? ['SIGTERM', 'SIGINT'], options.exit ?? 'reraise');
  return app;
}
