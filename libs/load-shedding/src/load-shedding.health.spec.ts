import { HealthIndicatorService } from '@nestjs/terminus';
import { resolveLoadSheddingOptions } from './load-shedding-options.validation';
import { LoadSheddingHealthIndicator } from './load-shedding.health';
import type { LoadSheddingService, LoadSheddingState } from './load-shedding.service';

function indicator(state: Partial<LoadSheddingState>) {
  const full: LoadSheddingState = {
    inFlightLevel: -1,
    elu: 0.2,
    delayP99Ms: 5,
    admitFraction: 1,
    admitByPriority: { critical: 1, normal: 1, sheddable: 1 },
    levels: {},
    pressured: false,
    enabled: true,
    shadow: false,
    inFlight: 0,
    maxInFlight: 100,
    utilisation: 0,
    admittedTotal: 0,
    shedTotal: 0,
    wouldShedTotal: 0,
    ...state,
  };
  const service = { options: resolveLoadSheddingOptions({ maxInFlight: 100 }), state: () => full };
  return new LoadSheddingHealthIndicator(
    new HealthIndicatorService(),
    service as unknown as LoadSheddingService,
  );
}

describe('LoadSheddingHealthIndicator', () => {
  it('is up while nothing is shed', () => {
    expect(indicator({ inFlight: 10, utilisation: 0.1 }).checkUtilisation('ls').ls.status).toBe(
      'up',
    );
  });

  it('is degraded while some traffic is shed (in flight inside the band, or the controller admitting less)', () => {
    expect(indicator({ inFlight: 90, utilisation: 0.9 }).checkUtilisation('ls').ls.status).toBe(
      'degraded',
    );
    expect(
      indicator({
        admitFraction: 0.6,
        admitByPriority: { critical: 1, normal: 0.7, sheddable: 0.1 },
      }).checkUtilisation('ls').ls.status,
    ).toBe('degraded');
  });

  it('is down once normal traffic is shed entirely', () => {
    expect(indicator({ inFlight: 100, utilisation: 1 }).checkUtilisation('ls').ls.status).toBe(
      'down',
    );
    expect(
      indicator({
        admitFraction: 0.1,
        admitByPriority: { critical: 0.5, normal: 0.02, sheddable: 0.02 },
      }).checkUtilisation('ls').ls.status,
    ).toBe('down');
    expect(indicator({ levels: { heap: 1.2 } }).checkUtilisation('ls').ls).toMatchObject({
      status: 'down',
      shedTotal: 0,
    });
  });
});
