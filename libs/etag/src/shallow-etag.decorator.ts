import { OptionValidator } from '@steady/core';
import { ETAG_MODULE_NAME, STEADY_SHALLOW_ETAG } from './etag.constants';
import type { ShallowEtagOptions } from './etag-options.interface';
import { resolveMaxBodyBytes } from './etag-options.validation';
import { etagRouteDecorator } from './etag-metadata.util';

/**
 * A **shallow** ETag on this controller or route: the serialized body of GET/HEAD 2xx responses is hashed and
 * a matching If-None-Match gets a 304 — after the handler ran (it saves bandwidth, not work). Needed when the
 * module runs with `global: false` or `shallow: false`; also overrides `weak` / `maxBodyBytes` per route.
 * Streams and `StreamableFile` are never hashed.
 *
 * @publicApi
 */
export function ShallowETag(options: ShallowEtagOptions = {}): ClassDecorator & MethodDecorator {
  const v = new OptionValidator(`${ETAG_MODULE_NAME} @ShallowETag()`);
  v.knownKeys(options, ['weak', 'maxBodyBytes']);
  if (options.weak !== undefined) v.boolean('weak', options.weak, true);
  resolveMaxBodyBytes(v, 'maxBodyBytes', options.maxBodyBytes);
  return etagRouteDecorator(STEADY_SHALLOW_ETAG, { ...options });
}
