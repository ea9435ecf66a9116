import { OptionValidator } from '@steady/core';
import { ETAG_MODULE_NAME, STEADY_ETAG_RESOLVER } from './etag.constants';
import type {
  EtagRequest,
  EtagResolver,
  EtagResolverMetadata,
  EtagRouteOptions,
} from './etag-options.interface';
import { etagRouteDecorator } from './etag-metadata.util';

/**
 * A **deep** ETag: `resolver` computes the resource's version *before* the handler runs, so a matching
 * If-None-Match gets its 304 (GET/HEAD), and a stale If-Match its 412, without calling the handler or
 * serializing anything. The resolver may be async and may use injected services (`ctx.get(Service)`); it
 * returns a version number or string, an `updatedAt` date, a ready entity tag, or `null`/`undefined` when the
 * resource does not exist (GET/HEAD then reach the handler, which answers 404; If-Match on a write fails).
 *
 * The tag must change whenever the representation does — include everything the body depends on (query
 * parameters that change the body, the user when the body is per-user, a per-process generation when versions
 * restart at boot). The resolver runs before pipes: return `undefined` for input your pipes reject.
 *
 * Also applies `EtagInterceptor` to the route. On a controller, it applies to every route.
 *
 * @example
 * @Get(':id')
 * @ETag((req, ctx) => ctx.get(MailService).version(req.params.id))
 * get(@Param('id') id: string) { return this.mails.get(id); }
 *
 * @publicApi
 */
export function ETag<Req = EtagRequest>(
  resolver: EtagResolver<Req>,
  options: EtagRouteOptions = {},
): ClassDecorator & MethodDecorator {
  const v = new OptionValidator(`${ETAG_MODULE_NAME} @ETag()`);
  v.check(typeof resolver === 'function', 'resolver', 'a function (req, ctx) => version', resolver);
  v.knownKeys(options, ['weak', 'requireIfMatch']);
  const metadata: EtagResolverMetadata = {
    resolve: resolver as EtagResolverMetadata['resolve'],
    weak: v.boolean('weak', options.weak, false),
    requireIfMatch:
      options.requireIfMatch === undefined
        ? undefined
        : v.boolean('requireIfMatch', options.requireIfMatch, false),
  };
  return etagRouteDecorator(STEADY_ETAG_RESOLVER, metadata);
}
