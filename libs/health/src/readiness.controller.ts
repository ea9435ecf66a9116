import { Controller, Get, Logger, type Type } from '@nestjs/common';
import { HealthCheck, HealthCheckService, type HealthCheckResult } from '@nestjs/terminus';
import { OpsEndpoint } from '@steady/core';
import { DrainHealthIndicator } from './drain.health';
import { DrainService } from './drain.service';
import { HealthCheckRegistry } from './health-check.registry';

/**
 * The readiness endpoint (for the load balancer, Kubernetes `readinessProbe`): 200 while serving and every
 * readiness indicator is up; 503 from the moment a drain starts, or while an indicator is down. Mounted by
 * {@link HealthModule} at the `readinessPath` extra; an ops endpoint, so it is never shed.
 *
 * @publicApi
 */
@OpsEndpoint()
export class ReadinessController {
  protected readonly logger = new Logger('Health');
  private lastDown: string | undefined;

  constructor(
    protected readonly health: HealthCheckService,
    protected readonly indicator: DrainHealthIndicator,
    protected readonly registry: HealthCheckRegistry,
    protected readonly drain: DrainService,
  ) {}

  @Get()
  @HealthCheck()
  async check(): Promise<HealthCheckResult> {
    try {
      const result = await this.health.check([
        () => this.indicator.checkReadiness('drain'),
        ...this.registry.indicators('readiness'),
      ]);
      this.noteDown(undefined);
      return result;
    } catch (err) {
      const details = (err as { getResponse?: () => unknown }).getResponse?.() as
        Partial<HealthCheckResult> | undefined;
      const failing = Object.keys(details?.error ?? {}).filter((k) => k !== 'drain');
      this.noteDown(failing.length > 0 ? failing.join(', ') : undefined);
      throw err;
    } finally {
      this.drain.recordRefusedProbe();
    }
  }

  /** Logs readiness failures other than the drain's (which logs itself) when they change. */
  private noteDown(failing: string | undefined): void {
    if (failing === this.lastDown) return;
    if (failing) this.logger.warn(`readiness DOWN: ${failing}`);
    else this.logger.log(`readiness indicators up again (was down: ${this.lastDown})`);
    this.lastDown = failing;
  }
}

/** A readiness controller class mounted at `path`. */
export function createReadinessController(path: string): Type<ReadinessController> {
  @Controller(path)
  class SteadyReadinessController extends ReadinessController {}
  return SteadyReadinessController;
}
