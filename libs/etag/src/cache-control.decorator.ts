import { formatCacheControl, type CacheControlDirectives } from './cache-control';
import { STEADY_CACHE_CONTROL } from './etag.constants';
import { etagRouteDecorator } from './etag-metadata.util';

/**
 * `Cache-Control` of this controller's or route's GET/HEAD 2xx and 304 responses (not of errors, nor of
 * writes), instead of the module's default. Directives are validated when the class is loaded.
 *
 * @example
 * @CacheControl({ private: true, maxAge: 60, mustRevalidate: true })   // "private, must-revalidate, max-age=60"
 *
 * @publicApi
 */
export function CacheControl(
  directives: CacheControlDirectives | string,
): ClassDecorator & MethodDecorator {
  return etagRouteDecorator(
    STEADY_CACHE_CONTROL,
    formatCacheControl(directives, '@CacheControl()'),
  );
}
