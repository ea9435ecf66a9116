import { Controller, Get, type Type } from '@nestjs/common';
import { HealthCheck, HealthCheckService, type HealthCheckResult } from '@nestjs/terminus';
import { OpsEndpoint } from '@steady/core';
import { DrainHealthIndicator } from './drain.health';
import { HealthCheckRegistry } from './health-check.registry';

/**
 * The liveness endpoint (Kubernetes `livenessProbe`): 200 while the process can serve — **including while it
 * drains**, so the kubelet never restarts an instance in the middle of finishing its requests. Only the liveness
 * indicators can make it 503. Mounted by {@link HealthModule} at the `livenessPath` extra; never shed.
 *
 * @publicApi
 */
@OpsEndpoint()
export class LivenessController {
  constructor(
    protected readonly health: HealthCheckService,
    protected readonly indicator: DrainHealthIndicator,
    protected readonly registry: HealthCheckRegistry,
  ) {}

  @Get()
  @HealthCheck()
  check(): Promise<HealthCheckResult> {
    return this.health.check([
      () => this.indicator.checkLiveness('drain'),
      ...this.registry.indicators('liveness'),
    ]);
  }
}

/** A liveness controller class mounted at `path`. */
export function createLivenessController(path: string): Type<LivenessController> {
  @Controller(path)
  class SteadyLivenessController extends LivenessController {}
  return SteadyLivenessController;
}
