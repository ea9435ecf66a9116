import {
  Inject,
  Injectable,
  Logger,
  Optional,
  type ExecutionContext,
  type OnModuleInit,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { MetricsSink, STEADY_OPS_ENDPOINT, mirrorCounter } from '@steady/core';
import type { IncomingMessage } from 'node:http';
import { parseSingleEntityTag, type EntityTag } from './entity-tag';
import {
  STEADY_CACHE_CONTROL,
  STEADY_ETAG_OPTIONS,
  STEADY_ETAG_RESOLVER,
  STEADY_LAST_MODIFIED_RESOLVER,
  STEADY_SHALLOW_ETAG,
  STEADY_SKIP_ETAG,
} from './etag.constants';
import type {
  EtagResolverMetadata,
  LastModifiedResolver,
  ResolvedEtagOptions,
  ShallowEtagOptions,
} from './etag-options.interface';
import type { EtagRequestState, ValidatorKind } from './etag-request-state';
import type { EtagRoute } from './etag-route';
import { formatHttpDate, parseHttpDate } from './http-date';
import {
  evaluatePreconditions,
  isConditional,
  PreconditionOutcome,
  type ConditionalHeader,
  type ResourceValidators,
} from './preconditions';
import { bodyByteLength, hashBody } from './shallow-hash';

/** How the adapter hook must change the response it is about to send. */
export const enum SendAction {
  /** Send it as it is. */
  Send = 0,
  /** Make it a 304: status 304, no body (the content headers are already removed). */
  NotModified = 304,
  /** Make it a 412 with {@link PRECONDITION_FAILED_BODY}. */
  PreconditionFailed = 412,
}

/** The body of a 412 decided at send time (a shallow If-Match on GET); 412s decided earlier go through the exception filters. */
export const PRECONDITION_FAILED_BODY = JSON.stringify({
  statusCode: 412,
  message: 'Precondition Failed',
  error: 'Precondition Failed',
});

/** Header access on a framework response, without allocating per request. */
export interface HeaderOps<R> {
  get(res: R, name: string): unknown;
  set(res: R, name: string, value: string): void;
  remove(res: R, name: string): void;
}

/** Representation metadata a 304 must not carry (RFC 9110 §15.4.5): everything but the cache-update fields. */
const NOT_MODIFIED_DROPPED = [
  'content-type',
  'content-length',
  'content-encoding',
  'content-language',
  'content-range',
  'content-disposition',
  'transfer-encoding',
] as const;

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

/** Counts since start-up, for metrics, tests and the explain view. */
export interface EtagStats {
  /** Requests with a conditional header that were evaluated, by method (GET, …, OTHER) and validator kind. */
  conditional: Record<string, Record<ValidatorKind, number>>;
  notModified: Record<ValidatorKind, number>;
  preconditionFailed: Record<ValidatorKind, number>;
  preconditionRequired: number;
  /** Body bytes 304s did not send (deep ones from the last 200 of the same URL and tag). */
  savedBytes: Record<ValidatorKind, number>;
  /** Malformed conditional headers seen, by header. */
  malformed: Record<ConditionalHeader, number>;
  /** Shallow ETags not computed because the body was above `maxBodyBytes`. */
  tooLarge: number;
}

/**
 * The shared state of `@steady/etag`: route configuration (read once per route from the decorators), the
 * RFC 9110 evaluation with the module's options, what happens when the body is sent (shallow tag, headers,
 * 304/412), and the counters behind the `steady_etag_*` metrics.
 *
 * @publicApi
 */
@Injectable()
export class EtagService implements OnModuleInit {
  protected readonly logger = new Logger('Etag');
  private readonly routes = new Map<Function, { cls: Function; route: EtagRoute }>();
  /** URL → the tag and size of its last 2xx body, for the bytes deep 304s save. Oldest first. */
  private readonly sizes = new Map<string, { tag: string; size: number }>();
  private readonly counts: EtagStats = {
    conditional: Object.fromEntries(
      [...METHODS, 'OTHER'].map((m) => [m, { deep: 0, shallow: 0 }]),
    ) as Record<string, Record<ValidatorKind, number>>,
    notModified: { deep: 0, shallow: 0 },
    preconditionFailed: { deep: 0, shallow: 0 },
    preconditionRequired: 0,
    savedBytes: { deep: 0, shallow: 0 },
    malformed: {
      'if-match': 0,
      'if-unmodified-since': 0,
      'if-none-match': 0,
      'if-modified-since': 0,
    },
    tooLarge: 0,
  };
  private readonly onMalformed = (header: ConditionalHeader): void => {
    this.counts.malformed[header]++;
  };
  /** Whether sizes are worth remembering (a metrics sink is there to report them). */
  private readonly trackSizes: boolean;

  constructor(
    @Inject(STEADY_ETAG_OPTIONS) readonly options: ResolvedEtagOptions,
    protected readonly reflector: Reflector,
    @Optional() @Inject(MetricsSink) protected readonly metrics?: MetricsSink,
  ) {
    this.trackSizes = metrics !== undefined && options.savedBytesCacheSize > 0;
  }

  onModuleInit(): void {
    this.registerMetrics();
  }

  /** The configuration of the route `context` targets (cached per handler). */
  route(context: ExecutionContext): EtagRoute {
    const handler = context.getHandler();
    const cls = context.getClass();
    const cached = this.routes.get(handler);
    if (cached !== undefined && cached.cls === cls) return cached.route;
    const route = this.buildRoute(handler, cls);
    if (cached === undefined) this.routes.set(handler, { cls, route });
    return route;
  }

  /** RFC 9110 §13.2.2 with the module's options; malformed headers are counted. */
  evaluate(
    method: string | undefined,
    headers: IncomingMessage['headers'],
    resource: ResourceValidators,
  ): PreconditionOutcome {
    return evaluatePreconditions(method, headers, resource, {
      honorRequestNoCache: this.options.honorRequestNoCache,
      onMalformed: this.onMalformed,
    });
  }

  countConditional(method: string | undefined, kind: ValidatorKind): void {
    const known = method !== undefined && (METHODS as readonly string[]).includes(method);
    this.counts.conditional[known ? method : 'OTHER'][kind]++;
  }

  countNotModified(kind: ValidatorKind, savedBytes: number): void {
    this.counts.notModified[kind]++;
    if (savedBytes > 0) this.counts.savedBytes[kind] += savedBytes;
  }

  countPreconditionFailed(kind: ValidatorKind): void {
    this.counts.preconditionFailed[kind]++;
  }

  countPreconditionRequired(): void {
    this.counts.preconditionRequired++;
  }

  /** Size of the body a deep 304 for `url` with `tag` spares, when the last 2xx of that URL had that tag. */
  savedBytesFor(url: string | undefined, tag: EntityTag | undefined): number {
    if (!this.trackSizes || url === undefined || tag === undefined) return 0;
    const last = this.sizes.get(url);
    return last !== undefined && last.tag === tag.header ? last.size : 0;
  }

  /** A copy of the counters. */
  stats(): EtagStats {
    const c = this.counts;
    return {
      conditional: Object.fromEntries(
        Object.entries(c.conditional).map(([m, byKind]) => [m, { ...byKind }]),
      ),
      notModified: { ...c.notModified },
      preconditionFailed: { ...c.preconditionFailed },
      preconditionRequired: c.preconditionRequired,
      savedBytes: { ...c.savedBytes },
      malformed: { ...c.malformed },
      tooLarge: c.tooLarge,
    };
  }

  /**
   * Called by the adapter hook with the final body, once per request: sets ETag / Last-Modified /
   * Cache-Control on 2xx responses, computes the shallow tag, evaluates the conditional headers left for send
   * time, and says whether the response must become a 304 or a 412.
   */
  finalize<R>(
    req: IncomingMessage,
    state: EtagRequestState,
    status: number,
    payload: unknown,
    res: R,
    ops: HeaderOps<R>,
  ): SendAction {
    state.finalized = true;
    const method = req.method;
    if (state.decided === 304) {
      // Decided before the handler: the validators and Cache-Control a 200 would carry, no content headers.
      this.applyValidatorHeaders(state, method, res, ops);
      this.stripForNotModified(res, ops);
      return SendAction.NotModified;
    }
    if (state.decided === 412) {
      // The current tag tells the client what to fetch before it retries.
      if (state.tag !== undefined && ops.get(res, 'etag') === undefined)
        ops.set(res, 'ETag', state.tag.header);
      return SendAction.Send;
    }
    if (state.decided !== 0 || status < 200 || status > 299) return SendAction.Send;
    this.applyValidatorHeaders(state, method, res, ops);
    if (!state.evaluate) {
      if (this.trackSizes && state.tag !== undefined && isBody(payload)) {
        this.rememberSize(req.url, state.tag.header, bodyByteLength(payload));
      }
      return SendAction.Send;
    }

    // GET/HEAD answered after the handler: the handler's own ETag, else the body hash.
    let etag = state.tag;
    if (etag === undefined) {
      const own = ops.get(res, 'etag');
      if (typeof own === 'string') {
        etag = parseSingleEntityTag(own);
      } else if (state.shallow && isBody(payload)) {
        const route = state.route;
        if (exceeds(payload, route.maxBodyBytes)) {
          this.counts.tooLarge++;
        } else {
          const digest = hashBody(payload, this.options.algorithm);
          const header = route.shallowWeak ? `W/"${digest}"` : `"${digest}"`;
          ops.set(res, 'ETag', header);
          etag = { weak: route.shallowWeak, opaque: digest, header };
        }
      }
    }
    const headers = req.headers;
    if (!isConditional(headers)) return SendAction.Send;
    let lastModified = state.lastModified;
    if (lastModified === undefined) {
      const own = ops.get(res, 'last-modified');
      if (typeof own === 'string') lastModified = parseHttpDate(own);
    }
    this.countConditional(method, state.kind);
    const outcome = this.evaluate(method, headers, { exists: true, etag, lastModified });
    if (outcome === PreconditionOutcome.NotModified) {
      this.countNotModified(state.kind, isBody(payload) ? bodyByteLength(payload) : 0);
      this.stripForNotModified(res, ops);
      if (etag !== undefined) ops.remove(res, 'last-modified');
      return SendAction.NotModified;
    }
    if (outcome === PreconditionOutcome.PreconditionFailed) {
      this.countPreconditionFailed(state.kind);
      return SendAction.PreconditionFailed;
    }
    return SendAction.Send;
  }

  /** ETag, Last-Modified and (GET/HEAD) Cache-Control of the state, where the handler did not set its own. */
  private applyValidatorHeaders<R>(
    state: EtagRequestState,
    method: string | undefined,
    res: R,
    ops: HeaderOps<R>,
  ): void {
    const cacheControl = state.route.cacheControl;
    if (
      cacheControl !== undefined &&
      (method === 'GET' || method === 'HEAD') &&
      ops.get(res, 'cache-control') === undefined
    ) {
      ops.set(res, 'Cache-Control', cacheControl);
    }
    if (state.tag !== undefined && ops.get(res, 'etag') === undefined) {
      ops.set(res, 'ETag', state.tag.header);
    }
    // On a 304, Last-Modified only helps a cache when there is no ETag (RFC 9110 §15.4.5).
    if (
      state.lastModified !== undefined &&
      (state.decided !== 304 || state.tag === undefined) &&
      ops.get(res, 'last-modified') === undefined
    ) {
      ops.set(res, 'Last-Modified', formatHttpDate(state.lastModified));
    }
  }

  private stripForNotModified<R>(res: R, ops: HeaderOps<R>): void {
    for (const name of NOT_MODIFIED_DROPPED) ops.remove(res, name);
  }

  private rememberSize(url: string | undefined, tag: string, size: number): void {
    if (url === undefined) return;
    const sizes = this.sizes;
    sizes.delete(url);
    sizes.set(url, { tag, size });
    if (sizes.size > this.options.savedBytesCacheSize) {
      sizes.delete(sizes.keys().next().value as string);
    }
  }

  private buildRoute(handler: Function, cls: Function): EtagRoute {
    const targets = [handler, cls];
    const r = this.reflector;
    const o = this.options;
    const skip =
      r.getAllAndOverride<boolean>(STEADY_SKIP_ETAG, targets) === true ||
      (o.skipOpsEndpoints && r.getAllAndOverride<boolean>(STEADY_OPS_ENDPOINT, targets) === true);
    const etag = r.getAllAndOverride<EtagResolverMetadata | undefined>(
      STEADY_ETAG_RESOLVER,
      targets,
    );
    const shallowOptions = r.getAllAndOverride<ShallowEtagOptions | undefined>(
      STEADY_SHALLOW_ETAG,
      targets,
    );
    return {
      label: `${cls.name}.${handler.name}`,
      skip,
      etag,
      lastModified: r.getAllAndOverride<LastModifiedResolver<never> | undefined>(
        STEADY_LAST_MODIFIED_RESOLVER,
        targets,
      ),
      cacheControl:
        r.getAllAndOverride<string | undefined>(STEADY_CACHE_CONTROL, targets) ?? o.cacheControl,
      shallow: shallowOptions !== undefined || o.shallow,
      shallowWeak: shallowOptions?.weak ?? o.weak,
      maxBodyBytes: shallowOptions?.maxBodyBytes ?? o.maxBodyBytes,
      requireIfMatch: etag?.requireIfMatch ?? o.requireIfMatch,
      warnedUnsafe: false,
    };
  }

  private registerMetrics(): void {
    const m = this.metrics;
    if (!m) return;
    const c = this.counts;
    const kinds: ValidatorKind[] = ['deep', 'shallow'];
    mirrorCounter(
      m,
      {
        name: 'etag_conditional_requests_total',
        help: 'Requests with a conditional header (If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since) evaluated, by method and validator kind',
        labelNames: ['method', 'kind'],
      },
      () =>
        Object.entries(c.conditional).flatMap(([method, byKind]) =>
          kinds.map((kind): [Record<string, string>, number] => [{ method, kind }, byKind[kind]]),
        ),
    );
    mirrorCounter(
      m,
      {
        name: 'etag_not_modified_responses_total',
        help: '304 Not Modified answers, by validator kind (deep ones never called the handler)',
        labelNames: ['kind'],
      },
      () => kinds.map((kind) => [{ kind }, c.notModified[kind]]),
    );
    mirrorCounter(
      m,
      {
        name: 'etag_precondition_failed_responses_total',
        help: '412 Precondition Failed answers (a stale If-Match, If-Unmodified-Since, or If-None-Match on a write), by validator kind',
        labelNames: ['kind'],
      },
      () => kinds.map((kind) => [{ kind }, c.preconditionFailed[kind]]),
    );
    mirrorCounter(
      m,
      {
        name: 'etag_precondition_required_responses_total',
        help: '428 Precondition Required answers (a write without If-Match on a route that requires it)',
      },
      () => c.preconditionRequired,
    );
    mirrorCounter(
      m,
      {
        name: 'etag_saved_bytes_total',
        help: 'Body bytes 304 answers did not send, by validator kind',
        labelNames: ['kind'],
      },
      () => kinds.map((kind) => [{ kind }, c.savedBytes[kind]]),
    );
    mirrorCounter(
      m,
      {
        name: 'etag_malformed_headers_total',
        help: 'Conditional headers that were malformed (treated as the RFC says: ignored or matching nothing), by header',
        labelNames: ['header'],
      },
      () => Object.entries(c.malformed).map(([header, n]) => [{ header }, n]),
    );
    mirrorCounter(
      m,
      {
        name: 'etag_shallow_skipped_responses_total',
        help: 'Responses that got no shallow ETag because the body was larger than maxBodyBytes',
        labelNames: ['reason'],
      },
      () => [[{ reason: 'too_large' }, c.tooLarge]],
    );
  }
}

function isBody(payload: unknown): payload is string | NodeJS.ArrayBufferView {
  return typeof payload === 'string' || ArrayBuffer.isView(payload);
}

/** Whether a body is larger than `max` bytes, without measuring strings that obviously fit or do not. */
function exceeds(payload: string | NodeJS.ArrayBufferView, max: number): boolean {
  if (max === Infinity) return false;
  if (typeof payload !== 'string') return payload.byteLength > max;
  if (payload.length > max) return true; // at least one byte per character
  if (payload.length * 3 <= max) return false; // at most three bytes per UTF-16 unit
  return Buffer.byteLength(payload, 'utf8') > max;
}
