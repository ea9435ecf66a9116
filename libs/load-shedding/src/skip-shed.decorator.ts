import { SetMetadata } from '@nestjs/common';
import { STEADY_SKIP_SHED } from './load-shedding.constants';

/**
 * Never sheds this controller or route (health probes, admin endpoints, the route that must always answer).
 *
 * @publicApi
 */
export const SkipShed = (): ClassDecorator & MethodDecorator => SetMetadata(STEADY_SKIP_SHED, true);
