import {
  Injectable,
  Logger,
  PreconditionFailedException,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
  type Type,
} from '@nestjs/common';
import { HttpAdapterHost, ModuleRef } from '@nestjs/core';
import { toNodeRequest } from '@steady/core';
import { concatMap, from, of, switchMap, throwError, type Observable } from 'rxjs';
import { toEntityTag, type EtagValue } from './entity-tag';
import type { EtagRequest, EtagResolverContext, LastModifiedValue } from './etag-options.interface';
import {
  ETAG_STATE,
  newState,
  type EtagRequestState,
  type EtagTrackedRequest,
} from './etag-request-state';
import type { EtagRoute } from './etag-route';
import { EtagService } from './etag.service';
import { toHttpSeconds } from './http-date';
import { PreconditionRequiredException } from './precondition-required.exception';
import {
  hasEntityTagConditions,
  hasFieldValue,
  isConditional,
  PreconditionOutcome,
} from './preconditions';

/** The state of requests this module leaves alone (skipped routes, writes without deep validators). */
const LEFT_ALONE = Object.freeze({
  ...newState(undefined as unknown as EtagRoute, 'shallow'),
  finalized: true,
});

/**
 * Conditional requests (RFC 9110 §13) for Nest, the same on Express and Fastify.
 *
 * - Routes with a deep `@ETag()` / `@LastModified()`: the validators are resolved **before** the handler and the
 *   conditional headers evaluated in RFC order, so a 304 (GET/HEAD) or a 412 never calls the handler or
 *   serializes anything. Writes may be required to carry If-Match (428).
 * - Other GET/HEAD routes (unless `shallow: false` or `@SkipEtag()`): the serialized body is hashed when it is
 *   sent, and the conditional headers evaluated then (bandwidth only).
 *
 * Global by default (`EtagModule.forRoot()`); otherwise `@UseInterceptors(EtagInterceptor)` on controllers or
 * routes, or just the Steady decorators, which apply it. Safe to apply twice: the outer one handles a request.
 *
 * @publicApi
 */
@Injectable()
export class EtagInterceptor implements NestInterceptor {
  protected readonly logger = new Logger('Etag');
  private readonly providers = new Map<unknown, unknown>();

  constructor(
    protected readonly etag: EtagService,
    protected readonly moduleRef: ModuleRef,
    protected readonly adapterHost: HttpAdapterHost,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const request = context.switchToHttp().getRequest<EtagRequest & object>();
    const req = toNodeRequest(request) as EtagTrackedRequest;
    if (req[ETAG_STATE] !== undefined) return next.handle();
    const route = this.etag.route(context);
    if (route.skip) {
      req[ETAG_STATE] = LEFT_ALONE;
      return next.handle();
    }
    const method = req.method;
    const safe = method === 'GET' || method === 'HEAD';

    if (route.etag === undefined && route.lastModified === undefined) {
      if (safe && (route.shallow || route.cacheControl !== undefined)) {
        const state = newState(route, 'shallow');
        state.shallow = route.shallow;
        state.evaluate = true;
        req[ETAG_STATE] = state;
      } else {
        req[ETAG_STATE] = LEFT_ALONE;
        if (!safe) this.warnUnvalidatedWrite(route, method, req);
      }
      return next.handle();
    }

    const ctx = new ResolverContext(context, this);
    const tag = route.etag?.resolve(request as never, ctx);
    const lastModified = route.lastModified?.(request as never, ctx);
    if (isThenable(tag) || isThenable(lastModified)) {
      return from(Promise.all([tag, lastModified])).pipe(
        switchMap(([t, l]) => this.decide(context, next, req, route, method, safe, t, l)),
      );
    }
    return this.decide(
      context,
      next,
      req,
      route,
      method,
      safe,
      tag as EtagValue,
      lastModified as LastModifiedValue,
    );
  }

  /** A provider for resolvers (`ctx.get(Service)`), looked up once per token. */
  getProvider<T>(token: Type<T> | string | symbol): T {
    let provider = this.providers.get(token) as T | undefined;
    if (provider === undefined) {
      provider = this.moduleRef.get<T>(token, { strict: false });
      this.providers.set(token, provider);
    }
    return provider;
  }

  /** Evaluates the conditional headers against the deep validators, before the handler. */
  protected decide(
    context: ExecutionContext,
    next: CallHandler,
    req: EtagTrackedRequest,
    route: EtagRoute,
    method: string | undefined,
    safe: boolean,
    tagValue: EtagValue,
    lastModifiedValue: LastModifiedValue,
  ): Observable<unknown> {
    const etag = toEntityTag(tagValue, route.etag?.weak ?? false);
    const lastModified = notInTheFuture(toHttpSeconds(lastModifiedValue));
    // With @ETag, its value says whether the resource exists; @LastModified alone cannot (no date ≠ no resource).
    const exists = route.etag !== undefined ? etag !== undefined : true;
    const state = newState(route, 'deep');
    state.tag = etag;
    state.lastModified = lastModified;
    req[ETAG_STATE] = state;
    const headers = req.headers;

    if (safe) {
      if (!exists || (etag === undefined && route.shallow && hasEntityTagConditions(headers))) {
        // Nothing to evaluate before the handler: a GET of a missing resource is the handler's 404 to give
        // (RFC 9110 §13.2.1), and a tag condition on a route with only a date is answered by the body hash.
        state.kind = 'shallow';
        state.shallow = route.shallow;
        state.evaluate = true;
        return next.handle();
      }
    } else if (
      exists &&
      isWrite(method) &&
      route.requireIfMatch &&
      !hasFieldValue(headers['if-match'])
    ) {
      // A write to an existing resource that could overwrite a change it has not seen (RFC 6585 §3). Without
      // a current representation there is nothing to lose: the handler answers (404, or a create).
      state.decided = 428;
      this.etag.countPreconditionRequired();
      return throwError(() => new PreconditionRequiredException());
    }

    if (isConditional(headers)) {
      this.etag.countConditional(method, 'deep');
      const outcome = this.etag.evaluate(method, headers, { exists, etag, lastModified });
      if (outcome === PreconditionOutcome.NotModified) {
        state.decided = 304;
        this.adapterHost.httpAdapter.status(context.switchToHttp().getResponse(), 304);
        this.etag.countNotModified('deep', this.etag.savedBytesFor(req.url, etag));
        return of(undefined);
      }
      if (outcome === PreconditionOutcome.PreconditionFailed) {
        state.decided = 412;
        this.etag.countPreconditionFailed('deep');
        return throwError(
          () =>
            new PreconditionFailedException(
              'A precondition failed: the resource has changed since you read it (see its current ETag)',
            ),
        );
      }
    }

    if (safe) return next.handle();
    if (!this.etag.options.revalidateAfterWrite) {
      // The validators read before a write describe what it replaced: never send them with its answer.
      state.tag = undefined;
      state.lastModified = undefined;
      return next.handle();
    }
    return next.handle().pipe(
      concatMap(async (body: unknown) => {
        await this.revalidate(context, route, state);
        return body;
      }),
    );
  }

  /** After a successful write: the resource's new validators, sent with the answer. */
  protected async revalidate(
    context: ExecutionContext,
    route: EtagRoute,
    state: EtagRequestState,
  ): Promise<void> {
    const request = context.switchToHttp().getRequest<never>();
    const ctx = new ResolverContext(context, this);
    const [tag, lastModified] = await Promise.all([
      route.etag?.resolve(request, ctx),
      route.lastModified?.(request, ctx),
    ]);
    state.tag = toEntityTag(tag, route.etag?.weak ?? false);
    state.lastModified = notInTheFuture(toHttpSeconds(lastModified));
  }

  private warnUnvalidatedWrite(
    route: EtagRoute,
    method: string | undefined,
    req: EtagTrackedRequest,
  ): void {
    if (route.warnedUnsafe || !isWrite(method) || !isConditional(req.headers)) return;
    route.warnedUnsafe = true;
    this.logger.warn(
      `${method} ${route.label} received conditional headers but has no @ETag()/@LastModified(): they cannot ` +
        'be evaluated before the handler and are ignored (a body hash only exists after the write). Add a deep ' +
        'validator to answer 412 on stale writes.',
    );
  }
}

/** The `ctx` a resolver gets. */
class ResolverContext implements EtagResolverContext {
  constructor(
    readonly context: ExecutionContext,
    private readonly interceptor: EtagInterceptor,
  ) {}

  get<T>(token: Type<T> | string | symbol): T {
    return this.interceptor.getProvider(token);
  }
}

function isThenable(x: unknown): x is PromiseLike<unknown> {
  return (
    typeof x === 'object' && x !== null && typeof (x as PromiseLike<unknown>).then === 'function'
  );
}

/** POST, PUT, PATCH, DELETE and other methods that change state (not GET/HEAD/OPTIONS/TRACE/CONNECT). */
function isWrite(method: string | undefined): boolean {
  return (
    method !== undefined &&
    method !== 'GET' &&
    method !== 'HEAD' &&
    method !== 'OPTIONS' &&
    method !== 'TRACE' &&
    method !== 'CONNECT'
  );
}

/** RFC 9110 §8.8.2.1: a Last-Modified later than now is replaced by now. */
function notInTheFuture(seconds: number | undefined): number | undefined {
  if (seconds === undefined) return undefined;
  const now = Math.floor(Date.now() / 1000);
  return seconds > now ? now : seconds;
}
