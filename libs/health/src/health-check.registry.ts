import { Inject, Injectable, Logger } from '@nestjs/common';
import type { HealthIndicatorFunction, HealthIndicatorResult } from '@nestjs/terminus';
import { STEADY_HEALTH_OPTIONS } from './health.constants';
import type { ResolvedHealthOptions } from './health-options.interface';

type Kind = 'readiness' | 'liveness';

/**
 * The indicators the readiness and liveness endpoints run besides the drain's: those of the options, plus those
 * other modules add at run time (`addReadiness` in their `onModuleInit`). An indicator that throws instead of
 * reporting `down` is reported `down` under `<kind>_<n>` — the endpoint answers 503, never 500.
 *
 * @example
 * constructor(registry: HealthCheckRegistry, db: TypeOrmHealthIndicator) {
 *   registry.addReadiness(() => db.pingCheck('db', { timeout: 500 }));
 * }
 *
 * @publicApi
 */
@Injectable()
export class HealthCheckRegistry {
  protected readonly logger = new Logger('Health');
  private readonly checks: Record<Kind, HealthIndicatorFunction[]>;

  constructor(@Inject(STEADY_HEALTH_OPTIONS) options: ResolvedHealthOptions) {
    this.checks = { readiness: [...options.readiness], liveness: [...options.liveness] };
  }

  /** Adds a readiness indicator; returns the function that removes it. */
  addReadiness(indicator: HealthIndicatorFunction): () => void {
    return this.add('readiness', indicator);
  }

  /** Adds a liveness indicator (only what a restart would fix; never a downstream). */
  addLiveness(indicator: HealthIndicatorFunction): () => void {
    return this.add('liveness', indicator);
  }

  /** The indicators of `kind`, each wrapped so that a throw reads as `down`. */
  indicators(kind: Kind): HealthIndicatorFunction[] {
    return this.checks[kind].map((indicator, i) => () => this.run(kind, i, indicator));
  }

  private add(kind: Kind, indicator: HealthIndicatorFunction): () => void {
    this.checks[kind].push(indicator);
    return () => {
      const at = this.checks[kind].indexOf(indicator);
      if (at >= 0) this.checks[kind].splice(at, 1);
    };
  }

  private async run(
    kind: Kind,
    index: number,
    indicator: HealthIndicatorFunction,
  ): Promise<HealthIndicatorResult> {
    try {
      const result = await (typeof indicator === 'function' ? indicator() : indicator);
      return (await result) as HealthIndicatorResult;
    } catch (err) {
      const key = `${kind}_${index}`;
      const message = err instanceof Error ? err.message : String(err);
      this.logger.warn(`${kind} indicator #${index} threw (reported down as "${key}"): ${message}`);
      return { [key]: { status: 'down', message } };
    }
  }
}
