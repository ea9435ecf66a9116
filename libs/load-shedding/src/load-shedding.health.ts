import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { LoadSheddingService } from './load-shedding.service';

/**
 * The current utilisation as a Terminus health indicator: `up` while nothing is shed, `degraded` while some
 * traffic is shed, `down` once normal-priority traffic is shed entirely. For visibility (a status page, the
 * explain view); do **not** put it in a load balancer's readiness check — taking a busy instance out of rotation
 * moves its load to the others and cascades.
 *
 * @example
 * @Get('health/load')
 * @HealthCheck()
 * check() {
 *   return this.health.check([() => this.loadShedding.checkUtilisation('load_shedding')]);
 * }
 *
 * @publicApi
 */
@Injectable()
export class LoadSheddingHealthIndicator {
  constructor(
    private readonly healthIndicatorService: HealthIndicatorService,
    private readonly service: LoadSheddingService,
  ) {}

  /**
   * @param key the key of the result
   * @returns `up`, `degraded` or `down`, with `inFlight`, `maxInFlight`, `utilisation`, `admitFraction`,
   *   `enabled`, `shadow` and `shedTotal`
   */
  checkUtilisation<const Key extends string>(key: Key): HealthIndicatorResult<Key> {
    const check = this.healthIndicatorService.check(key);
    const s = this.service.state();
    const data = {
      inFlight: s.inFlight,
      maxInFlight: s.maxInFlight,
      utilisation: round(s.utilisation),
      admitFraction: round(s.admitFraction),
      admitByPriority: {
        critical: round(s.admitByPriority.critical),
        normal: round(s.admitByPriority.normal),
        sheddable: round(s.admitByPriority.sheddable),
      },
      enabled: s.enabled,
      shadow: s.shadow,
      shedTotal: s.shedTotal,
    };
    const inFlightLevel = this.service.options.inFlight
      ? (s.utilisation - this.service.options.inFlight.soft) /
        (this.service.options.inFlight.hard - this.service.options.inFlight.soft)
      : -1;
    const maxLevel = Math.max(inFlightLevel, ...Object.values(s.levels));
    const floor = this.service.options.eventLoop
      ? this.service.options.eventLoop.minAdmitFraction
      : 0;
    if (maxLevel >= 1 || (s.admitFraction < 1 && s.admitByPriority.normal <= floor))
      return check.down(data);
    if (maxLevel > 0 || s.admitFraction < 1) return check.degraded(data);
    return check.up(data);
  }
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
