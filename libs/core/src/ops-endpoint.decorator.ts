import { SetMetadata } from '@nestjs/common';
import { STEADY_OPS_ENDPOINT } from './core.constants';

/**
 * Marks a controller or route as an operations endpoint (metrics, health, explain). Steady libraries leave
 * such routes alone by default: they are never shed, never given ETags, never counted as business traffic.
 *
 * @publicApi
 */
export const OpsEndpoint = (): ClassDecorator & MethodDecorator =>
  SetMetadata(STEADY_OPS_ENDPOINT, true);
