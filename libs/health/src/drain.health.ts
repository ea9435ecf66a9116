import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { DrainService } from './drain.service';

/**
 * The drain as a Terminus health indicator. `checkReadiness` is `up` while serving and `down` from the moment a
 * drain starts (with its state, reason and start time), so the readiness endpoint answers 503 and the load balancer
 * stops routing; `checkLiveness` stays `up` throughout (a draining process is alive — restarting it would cut the
 * very requests the drain is finishing).
 *
 * @example
 * @Get('ready')
 * @HealthCheck()
 * ready() {
 *   return this.health.check([() => this.drain.checkReadiness('drain'), () => this.db.pingCheck('db')]);
 * }
 *
 * @publicApi
 */
@Injectable()
export class DrainHealthIndicator {
  constructor(
    private readonly healthIndicatorService: HealthIndicatorService,
    private readonly drain: DrainService,
  ) {}

  /**
   * @param key the key of the result
   * @returns `up` with `{ state: 'serving' }`, or `down` with `state`, `reason`, `since` (ISO time) and `inFlight`
   */
  checkReadiness<const Key extends string>(key: Key): HealthIndicatorResult<Key> {
    const check = this.healthIndicatorService.check(key);
    const s = this.drain.status();
    if (s.state === 'serving') return check.up({ state: s.state });
    return check.down({
      state: s.state,
      reason: s.reason,
      since: s.since === undefined ? undefined : new Date(s.since).toISOString(),
      inFlight: s.inFlight,
    });
  }

  /**
   * @param key the key of the result
   * @returns always `up`, with the drain `state` for information
   */
  checkLiveness<const Key extends string>(key: Key): HealthIndicatorResult<Key> {
    return this.healthIndicatorService.check(key).up({ state: this.drain.state });
  }
}
