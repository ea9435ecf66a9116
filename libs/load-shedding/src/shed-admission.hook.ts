import {
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { InFlightTracker } from '@steady/core';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { markDecided } from './shed-decision';
import { ShedGuard } from './shed.guard';
import { LoadSheddingService } from './load-shedding.service';
import { ShedRouteRegistry } from './shed-route.registry';

/**
 * Sheds at the earliest point: installed as the `@steady/core` tracker's admission hook, it sees each request
 * when the HTTP server emits it — before middleware, routing and body parsing — and answers a shed request
 * there, so it costs no parsing and never reaches a handler. Express and Fastify alike.
 */
@Injectable()
export class ShedAdmissionHook implements OnApplicationBootstrap, OnApplicationShutdown {
  private remove: (() => void) | undefined;

  constructor(
    protected readonly service: LoadSheddingService,
    protected readonly routes: ShedRouteRegistry,
    protected readonly tracker: InFlightTracker,
  ) {}

  onApplicationBootstrap(): void {
    this.routes.build(this.service.options.skipOpsEndpoints, ShedGuard);
    this.remove = this.tracker.setAdmission((req, res) => this.admit(req, res));
  }

  onApplicationShutdown(): void {
    this.remove?.();
    this.remove = undefined;
  }

  /** Returns `false` after answering a shed request. */
  protected admit(req: IncomingMessage, res: ServerResponse): boolean {
    const service = this.service;
    if (!service.isEnabled) return true;
    if (service.admitIfCalm()) {
      markDecided(req);
      return true;
    }
    const route = this.routes.lookup(req.method, req.url);
    if (route.skip) return true;
    if (!service.options.global && !route.guarded) return true;
    markDecided(req);
    const verdict = service.check(req, route.options);
    if (!verdict.shed) return true;
    this.reject(req, res, JSON.stringify(service.rejectionBody(verdict)));
    return false;
  }

  /** Writes the rejection. A request with a body gets `Connection: close`, so its body is never read. */
  protected reject(req: IncomingMessage, res: ServerResponse, body: string): void {
    res.statusCode = this.service.options.statusCode;
    res.setHeader('content-type', 'application/json; charset=utf-8');
    res.setHeader('content-length', Buffer.byteLength(body));
    res.setHeader('retry-after', String(this.service.retryAfterSeconds()));
    res.setHeader('cache-control', 'no-store');
    const hasBody =
      req.headers['transfer-encoding'] !== undefined ||
      Number(req.headers['content-length'] ?? 0) > 0;
    if (hasBody) res.setHeader('connection', 'close');
    res.end(body);
  }
}
