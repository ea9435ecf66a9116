export { HttpClientModule, type HttpClientModuleAsyncOptions } from './http-client.module';
export { HttpClient, type HttpRequestOptions, type HttpClientResponse } from './http-client';
export { createHttpClient } from './http-client.factory';
export { InjectHttpClient } from './http-client.decorator';
export { getHttpClientToken, getHttpClientOptionsToken } from './http-client.constants';
export type {
  HttpClientModuleOptions,
  HttpClientModuleExtras,
  HttpClientCacheOptions,
  RedisStoreOptions,
} from './http-client-options.interface';
export {
  resolveHttpClientOptions,
  type ResolvedHttpClientOptions,
} from './http-client-options.validation';
export { HttpClientError, type HttpClientErrorKind } from './http-client.error';
export type { CacheStatus } from './http-cache';
export {
  HttpCacheStore,
  type StoredResponse,
  type CachedResponseMeta,
} from './http-cache-store.interface';
export { MemoryCacheStore, type MemoryCacheStoreOptions } from './memory-cache.store';
export {
  RedisCacheStore,
  REDIS_SCHEMA_VERSION,
  type RedisCacheStoreOptions,
} from './redis-cache.store';
export { CacheManagerCacheStore, type CacheManagerLike } from './cache-manager-cache.store';
