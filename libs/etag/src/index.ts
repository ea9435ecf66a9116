export { EtagModule } from './etag.module';
export { ETAG_OPTIONS_TYPE, ETAG_ASYNC_OPTIONS_TYPE } from './etag-module-definition';
export { EtagInterceptor } from './etag.interceptor';
export { EtagService, type EtagStats } from './etag.service';
export { EtagAdapterHooks } from './etag-adapter.hooks';
export { ETag } from './etag.decorator';
export { LastModified } from './last-modified.decorator';
export { CacheControl } from './cache-control.decorator';
export { ShallowETag } from './shallow-etag.decorator';
export { SkipEtag } from './skip-etag.decorator';
export { PreconditionRequiredException } from './precondition-required.exception';
export { STEADY_ETAG_OPTIONS } from './etag.constants';
export { resolveEtagOptions } from './etag-options.validation';
export { formatCacheControl, type CacheControlDirectives } from './cache-control';
export {
  toEntityTag,
  parseSingleEntityTag,
  matchEntityTagList,
  ListMatch,
  type EntityTag,
  type EtagValue,
} from './entity-tag';
export { parseHttpDate, formatHttpDate } from './http-date';
export {
  evaluatePreconditions,
  isConditional,
  PreconditionOutcome,
  type ResourceValidators,
  type ConditionalHeader,
  type EvaluateOptions,
} from './preconditions';
export { shallowEtag, hashBody, HASH_IMPLEMENTATION } from './shallow-hash';
export type {
  EtagModuleOptions,
  EtagModuleExtras,
  ResolvedEtagOptions,
  EtagRequest,
  EtagResolver,
  EtagResolverContext,
  LastModifiedResolver,
  LastModifiedValue,
  EtagRouteOptions,
  ShallowEtagOptions,
} from './etag-options.interface';
