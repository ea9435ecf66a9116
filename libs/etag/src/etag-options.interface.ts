import type { ExecutionContext, Type } from '@nestjs/common';
import type { IncomingHttpHeaders } from 'node:http';
import type { CacheControlDirectives } from './cache-control';
import type { EtagValue } from './entity-tag';

/**
 * Options of {@link EtagModule}. Every option has a default.
 *
 * @publicApi
 */
export interface EtagModuleOptions {
  /**
   * Shallow ETags: hash the serialized body of GET/HEAD 2xx responses of routes without a deep `@ETag()`, and
   * answer 304 from it (after the handler ran: bandwidth only). Default `true`. Per route: `@ShallowETag()`,
   * `@SkipEtag()`.
   */
  shallow?: boolean;
  /** Shallow tags are weak (`W/"…"`), as Express's are; they stay valid when a proxy compresses. Default `true`. */
  weak?: boolean;
  /** Digest of shallow tags: any `crypto.getHashes()` name. Default `sha1` (see docs/etag.md for why). */
  algorithm?: string;
  /** No shallow ETag for bodies larger than this many bytes. Default: no limit. */
  maxBodyBytes?: number;
  /**
   * `Cache-Control` for GET/HEAD 2xx and 304 responses of managed routes without `@CacheControl()` (and without
   * a Cache-Control set by the handler). Directives or a literal field value. Default: none.
   */
  cacheControl?: CacheControlDirectives | string | false;
  /**
   * Let a request's `Cache-Control: no-cache` disable 304s, as Express's `fresh` does. RFC 9110 does not, and
   * Node's `fetch` sends `no-cache` with every hand-set If-None-Match. Default `false`.
   */
  honorRequestNoCache?: boolean;
  /**
   * Unsafe requests (POST, PUT, PATCH, DELETE) to existing resources on routes with a deep `@ETag()` must carry
   * If-Match, else 428 Precondition Required (RFC 6585). Per route: `@ETag(fn, { requireIfMatch })`. Default
   * `false`.
   */
  requireIfMatch?: boolean;
  /**
   * After a successful unsafe request to a route with deep validators, resolve them again and send the new
   * `ETag` / `Last-Modified`, so the client can make its next conditional write. Default `true`.
   */
  revalidateAfterWrite?: boolean;
  /**
   * Take conditional requests away from Express on this app: turn off its `etag` setting and its `req.fresh`
   * 304s, so Express and Fastify behave the same. `false` leaves Express alone (its ETags and 304s then also
   * appear on routes this module does not manage). Ignored on Fastify. Default `true`.
   */
  replaceExpressEtag?: boolean;
  /** Leave routes marked `@OpsEndpoint()` (metrics, health) alone. Default `true`. */
  skipOpsEndpoints?: boolean;
  /**
   * Deep 304s skip the handler, so the size of the body they save is remembered from the last 200 of the same
   * URL and tag, for the `steady_etag_saved_bytes_total` metric: at most this many URLs. Default `10000`; 0 off.
   */
  savedBytesCacheSize?: number;
}

/** Extras of the module definition (known when the module is declared). @publicApi */
export interface EtagModuleExtras {
  /** Global module (default `true`): `EtagInterceptor` can be used in every module. */
  isGlobal?: boolean;
  /**
   * Apply `EtagInterceptor` to every route (`APP_INTERCEPTOR`). Default `true`. With `false`, only controllers
   * and routes with `@UseInterceptors(EtagInterceptor)` or a Steady ETag decorator are managed.
   */
  global?: boolean;
}

/** Options after defaults and validation. */
export interface ResolvedEtagOptions {
  shallow: boolean;
  weak: boolean;
  algorithm: string;
  maxBodyBytes: number;
  /** The formatted field value, or `undefined` for none. */
  cacheControl: string | undefined;
  honorRequestNoCache: boolean;
  requireIfMatch: boolean;
  revalidateAfterWrite: boolean;
  replaceExpressEtag: boolean;
  skipOpsEndpoints: boolean;
  savedBytesCacheSize: number;
}

/**
 * The request as a resolver sees it: the Express request or the Fastify request, which both carry these.
 *
 * @publicApi
 */
export interface EtagRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly params: Record<string, string>;
  readonly query: Record<string, unknown>;
}

/**
 * What a resolver gets besides the request.
 *
 * @publicApi
 */
export interface EtagResolverContext {
  /** The Nest execution context (handler, class, request, response). */
  readonly context: ExecutionContext;
  /**
   * A provider from anywhere in the app (`ModuleRef.get(token, { strict: false })`, cached per token), e.g.
   * `ctx.get(MailService)`. Singleton providers only.
   */
  get<T>(token: Type<T> | string | symbol): T;
}

/**
 * Computes a resource's version before the handler runs: a version number, a version string, an `updatedAt`
 * date or a ready entity tag. `null`/`undefined` mean the resource has no current representation. May be async.
 *
 * @publicApi
 */
export type EtagResolver<Req = EtagRequest> = (
  req: Req,
  ctx: EtagResolverContext,
) => EtagValue | Promise<EtagValue>;

/** A `@LastModified()` value: a Date, epoch milliseconds, a date string, or none. */
export type LastModifiedValue = Date | number | string | null | undefined;

/**
 * Computes a resource's last modification before the handler runs. May be async.
 *
 * @publicApi
 */
export type LastModifiedResolver<Req = EtagRequest> = (
  req: Req,
  ctx: EtagResolverContext,
) => LastModifiedValue | Promise<LastModifiedValue>;

/** Options of `@ETag()`. @publicApi */
export interface EtagRouteOptions {
  /** Send the tag weak (`W/"…"`). Default `false`: If-Match needs strong tags (weak ones never match it). */
  weak?: boolean;
  /** Unsafe requests must carry If-Match (else 428). Default: the module's `requireIfMatch`. */
  requireIfMatch?: boolean;
}

/** Options of `@ShallowETag()`. @publicApi */
export interface ShallowEtagOptions {
  /** Default: the module's `weak`. */
  weak?: boolean;
  /** Default: the module's `maxBodyBytes`. */
  maxBodyBytes?: number;
}

export interface EtagResolverMetadata {
  resolve: EtagResolver<never>;
  weak: boolean;
  requireIfMatch: boolean | undefined;
}
