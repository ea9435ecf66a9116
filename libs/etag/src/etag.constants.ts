/** Injection token of the resolved {@link EtagModuleOptions}. @publicApi */
export const STEADY_ETAG_OPTIONS = 'STEADY:ETAG:MODULE_OPTIONS';

/** Route metadata set by `@ETag()`. */
export const STEADY_ETAG_RESOLVER = 'STEADY:ETAG:RESOLVER';
/** Route metadata set by `@LastModified()`. */
export const STEADY_LAST_MODIFIED_RESOLVER = 'STEADY:ETAG:LAST_MODIFIED';
/** Route metadata set by `@CacheControl()`: the formatted field value. */
export const STEADY_CACHE_CONTROL = 'STEADY:ETAG:CACHE_CONTROL';
/** Route metadata set by `@ShallowETag()`. */
export const STEADY_SHALLOW_ETAG = 'STEADY:ETAG:SHALLOW';
/** Route metadata set by `@SkipEtag()`. */
export const STEADY_SKIP_ETAG = 'STEADY:ETAG:SKIP';
/** Marks a class or handler the Steady decorators already gave an `EtagInterceptor`. */
export const STEADY_ETAG_INTERCEPTOR_APPLIED = 'STEADY:ETAG:INTERCEPTOR_APPLIED';

export const ETAG_MODULE_NAME = '@steady/etag';
