import {
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { InFlightTracker } from '@steady/core';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { markDecided } from './shed-decision';
import { ShedGuard } from './shed.guard';
import { LoadSheddingService, type ShedVerdict } from './load-shedding.service';

/** Rejection bodies kept (one per shed reason; custom signals add theirs). */
const MAX_CACHED_BODIES = 64;
import { ShedRouteRegistry } from './shed-route.registry';

/**
 * Sheds at the earliest point: installed as the `@steady/core` tracker's admission hook, it sees each request
 * when the HTTP server emits it — before middleware, routing and body parsing — and answers a shed request
 * there, so it costs no parsing and never reaches a handler. Express and Fastify alike.
 */
@Injectable()
export class ShedAdmissionHook implements OnApplicationBootstrap, OnApplicationShutdown {
  private remove: (() => void) | undefined;
  private readonly bodies = new Map<string, Buffer>();

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
    this.reject(req, res, this.bodyFor(verdict));
    return false;
  }

  /** The JSON body of a rejection, built once per reason (a rejection must cost as little as possible). */
  protected bodyFor(verdict: ShedVerdict): Buffer {
    const key = verdict.reason ?? '';
    let body = this.bodies.get(key);
    if (body === undefined) {
      body = Buffer.from(JSON.stringify(this.service.rejectionBody(verdict)));
      if (this.bodies.size < MAX_CACHED_BODIES) this.bodies.set(key, body);
    }
    return body;
  }

  /**
   * Writes the rejection in one `writeHead` (cheaper than one `setHeader` per field: at 5× overload a server spends
   * a tenth of its loop on rejections). A request with a body gets `Connection: close`, so its body is never read.
   */
  protected reject(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
    const headers: OutgoingHttpHeaders = {
      'content-type': 'application/json; charset=utf-8',
      'content-length': body.length,
      'retry-after': String(this.service.retryAfterSeconds()),
      'cache-control': 'no-store',
    };
    const hasBody =
      req.headers['transfer-encoding'] !== undefined ||
      Number(req.headers['content-length'] ?? 0) > 0;
    if (hasBody) headers.connection = 'close';
    res.writeHead(this.service.options.statusCode, headers);
    res.end(body);
  }
}
