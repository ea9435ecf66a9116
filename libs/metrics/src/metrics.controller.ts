import { Controller, Get, Res, type Type } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { OpsEndpoint } from '@steady/core';
import { MetricsService } from './metrics.service';

/**
 * Serves the registry in the Prometheus text format. Mounted by {@link MetricsModule} at the configured path
 * (a subclass per module, so two apps in one process can use different paths).
 *
 * @publicApi
 */
@OpsEndpoint()
export class MetricsController {
  constructor(
    protected readonly metrics: MetricsService,
    protected readonly adapterHost: HttpAdapterHost,
  ) {}

  @Get()
  async scrape(@Res({ passthrough: true }) res: object): Promise<string> {
    const { contentType, body } = await this.metrics.render();
    const adapter = this.adapterHost.httpAdapter;
    adapter.setHeader(res, 'Content-Type', contentType);
    adapter.setHeader(res, 'Cache-Control', 'no-store');
    return body;
  }
}

/** A controller class mounted at `path`. */
export function createMetricsController(path: string): Type<MetricsController> {
  @Controller(path)
  class SteadyMetricsController extends MetricsController {}
  return SteadyMetricsController;
}
