import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { HttpAdapterHost, Reflector } from '@nestjs/core';
import { STEADY_OPS_ENDPOINT, toNodeRequest } from '@steady/core';
import { STEADY_SHED_ROUTE, STEADY_SKIP_SHED } from './load-shedding.constants';
import type { ShedRouteOptions } from './load-shedding-options.interface';
import { isDecided } from './shed-decision';
import { ShedException } from './shed.exception';
import { LoadSheddingService } from './load-shedding.service';

/**
 * The `ThrottlerGuard` of load shedding: on a utilisation signal instead of a request rate. Use it with
 * `@UseGuards(ShedGuard)` (or `@Shed()`) on controllers and routes, or as an `APP_GUARD`.
 *
 * Requests are normally decided earlier, by the admission hook at the HTTP server, before routing and body
 * parsing; the guard then lets them through. It decides itself only for requests the hook could not map to a
 * route (e.g. the hook was not installed), so a guarded route is never left unprotected.
 *
 * @publicApi
 */
@Injectable()
export class ShedGuard implements CanActivate {
  constructor(
    protected readonly service: LoadSheddingService,
    protected readonly reflector: Reflector,
    protected readonly adapterHost: HttpAdapterHost,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    if (context.getType() !== 'http') return true;
    const http = context.switchToHttp();
    const req = toNodeRequest(http.getRequest<object>());
    if (isDecided(req)) return true;
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(STEADY_SKIP_SHED, targets)) return true;
    if (
      this.service.options.skipOpsEndpoints &&
      this.reflector.getAllAndOverride<boolean>(STEADY_OPS_ENDPOINT, targets)
    ) {
      return true;
    }
    const route = this.reflector.getAllAndOverride<ShedRouteOptions>(STEADY_SHED_ROUTE, targets);
    const verdict = this.service.check(req, route);
    if (!verdict.shed) return true;
    const res = http.getResponse<object>();
    const adapter = this.adapterHost.httpAdapter;
    adapter.setHeader(res, 'Retry-After', String(this.service.retryAfterSeconds()));
    adapter.setHeader(res, 'Cache-Control', 'no-store');
    throw new ShedException(this.service.rejectionBody(verdict));
  }
}
