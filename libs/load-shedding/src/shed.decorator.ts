import { applyDecorators, SetMetadata, UseGuards } from '@nestjs/common';
import { STEADY_SHED_ROUTE } from './load-shedding.constants';
import type { ShedRouteOptions } from './load-shedding-options.interface';
import { ShedGuard } from './shed.guard';

/**
 * Makes a controller or route subject to load shedding (needed when the module runs with `global: false`) and
 * sets its priority. Applies {@link ShedGuard}.
 *
 * @example
 * @Shed({ priority: 'critical' })
 * @Post('mails')
 * create() {}
 *
 * @publicApi
 */
export const Shed = (options: ShedRouteOptions = {}): ClassDecorator & MethodDecorator =>
  applyDecorators(SetMetadata(STEADY_SHED_ROUTE, { ...options }), UseGuards(ShedGuard));
