import {
  Inject,
  Injectable,
  Optional,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import { InFlightTracker, STEADY_OPS_ENDPOINT, type SteadyHistogram } from '@steady/core';
import type { Observable } from 'rxjs';
import { STEADY_EXPLAIN_OPTIONS } from './explain.constants';
import type { ResolvedExplainOptions } from './explain-options.interface';
import { MetricsService } from './metrics.service';

/** Buckets of `steady_http_server_request_duration_seconds`. @publicApi */
export const REQUEST_DURATION_BUCKETS: readonly number[] = Object.freeze([
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
]);
/** Buckets of `steady_http_server_request_size_bytes` (256 B … 16 MiB). @publicApi */
export const REQUEST_SIZE_BUCKETS: readonly number[] = Object.freeze([
  256, 1024, 4096, 16_384, 65_536, 262_144, 1_048_576, 4_194_304, 16_777_216,
]);

interface RawRequest {
  method?: string;
  headers: Record<string, string | string[] | undefined>;
}
interface RawResponse {
  statusCode: number;
  writableFinished: boolean;
  once(event: 'close', listener: () => void): unknown;
}
interface HandlerInfo {
  skip: boolean;
}

/**
 * Per-route request latency and request-size histograms, so the explain view can tell "many small mails" from
 * "a few large ones" and name the slow routes. Per request: one metadata lookup (cached per handler), one
 * `close` listener and two histogram observations; the latency runs from the request's arrival at the HTTP
 * server (the in-flight tracker's clock) to its response closing. The size is the `Content-Length` of requests
 * that send one (bodies without it, chunked uploads, are not measured). Operations endpoints
 * (`@OpsEndpoint()`: metrics, health, explain) are not recorded.
 *
 * @publicApi
 */
@Injectable()
export class HttpMetricsInterceptor implements NestInterceptor {
  protected readonly duration?: SteadyHistogram;
  protected readonly size?: SteadyHistogram;
  private readonly handlers = new WeakMap<object, HandlerInfo>();

  constructor(
    @Inject(STEADY_EXPLAIN_OPTIONS) protected readonly options: ResolvedExplainOptions,
    @Optional() protected readonly metrics?: MetricsService,
    @Optional() protected readonly tracker?: InFlightTracker,
  ) {
    if (!options.httpMetrics || !metrics) return;
    this.duration = metrics.histogram({
      name: 'http_server_request_duration_seconds',
      help: 'HTTP request latency by route pattern, from arrival at the server to the response closing',
      labelNames: ['method', 'route', 'status_class'],
      buckets: REQUEST_DURATION_BUCKETS,
    });
    this.size = metrics.histogram({
      name: 'http_server_request_size_bytes',
      help: 'Request body size (Content-Length) by route pattern, for requests that send one',
      labelNames: ['method', 'route'],
      buckets: REQUEST_SIZE_BUCKETS,
    });
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const duration = this.duration;
    if (duration === undefined || context.getType() !== 'http') return next.handle();
    const handler = context.getHandler();
    let info = this.handlers.get(handler);
    if (info === undefined) {
      info = {
        skip:
          Reflect.getMetadata(STEADY_OPS_ENDPOINT, handler) === true ||
          Reflect.getMetadata(STEADY_OPS_ENDPOINT, context.getClass()) === true,
      };
      this.handlers.set(handler, info);
    }
    if (info.skip) return next.handle();
    const http = context.switchToHttp();
    const req = http.getRequest<
      RawRequest & { raw?: RawRequest; route?: { path?: string }; routeOptions?: { url?: string } }
    >();
    const res = http.getResponse<RawResponse & { raw?: RawResponse }>();
    const raw = req.raw ?? req;
    const rawRes = res.raw ?? res;
    const route = req.routeOptions?.url ?? req.route?.path ?? 'unknown';
    const method = raw.method ?? 'GET';
    const start = this.tracker?.startedAt(raw) ?? performance.now();
    const length = raw.headers['content-length'];
    if (typeof length === 'string') {
      const n = Number(length);
      if (Number.isFinite(n) && n >= 0) this.size!.observe({ method, route }, n);
    }
    rawRes.once('close', () => {
      const status = rawRes.writableFinished
        ? `${Math.floor(rawRes.statusCode / 100)}xx`
        : 'aborted';
      duration.observe({ method, route, status_class: status }, (performance.now() - start) / 1000);
    });
    return next.handle();
  }
}
