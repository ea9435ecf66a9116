import type { EtagResolverMetadata, LastModifiedResolver } from './etag-options.interface';

/**
 * Everything the interceptor needs to know about one route, read once from the decorators and the module
 * options, then cached.
 */
export interface EtagRoute {
  /** `Controller.method`, for log lines. */
  readonly label: string;
  /** `@SkipEtag()`, or an ops endpoint: leave the request alone. */
  readonly skip: boolean;
  readonly etag: EtagResolverMetadata | undefined;
  readonly lastModified: LastModifiedResolver<never> | undefined;
  /** `Cache-Control` for GET/HEAD 2xx and 304, or undefined. */
  readonly cacheControl: string | undefined;
  /** Hash the body of GET/HEAD 2xx responses (when no deep ETag answers). */
  readonly shallow: boolean;
  readonly shallowWeak: boolean;
  readonly maxBodyBytes: number;
  /** Unsafe requests must carry If-Match (428 otherwise). */
  readonly requireIfMatch: boolean;
  /** Warned once that unsafe conditional requests reach this route without a deep validator. */
  warnedUnsafe: boolean;
}
