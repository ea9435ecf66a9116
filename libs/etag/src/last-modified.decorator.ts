import { OptionValidator } from '@steady/core';
import { ETAG_MODULE_NAME, STEADY_LAST_MODIFIED_RESOLVER } from './etag.constants';
import type { EtagRequest, LastModifiedResolver } from './etag-options.interface';
import { etagRouteDecorator } from './etag-metadata.util';

/**
 * A **deep** `Last-Modified`: `resolver` returns the resource's last modification (a Date, epoch ms or a date
 * string; `null`/`undefined` for none) *before* the handler runs, so If-Modified-Since (GET/HEAD) can answer
 * 304 and If-Unmodified-Since 412 without calling the handler. HTTP dates have whole seconds: two changes in the
 * same second look alike, so prefer `@ETag()` for concurrency control and use this beside it.
 *
 * Also applies `EtagInterceptor` to the route.
 *
 * @example
 * @Get(':id')
 * @LastModified((req, ctx) => ctx.get(DocService).updatedAt(req.params.id))
 * get() {}
 *
 * @publicApi
 */
export function LastModified<Req = EtagRequest>(
  resolver: LastModifiedResolver<Req>,
): ClassDecorator & MethodDecorator {
  new OptionValidator(`${ETAG_MODULE_NAME} @LastModified()`).check(
    typeof resolver === 'function',
    'resolver',
    'a function (req, ctx) => date',
    resolver,
  );
  return etagRouteDecorator(STEADY_LAST_MODIFIED_RESOLVER, resolver);
}
