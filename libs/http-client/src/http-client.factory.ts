import type { MetricsSink } from '@steady/core';
import { HttpClient } from './http-client';
import type { HttpClientModuleOptions } from './http-client-options.interface';
import { resolveHttpClientOptions } from './http-client-options.validation';
import { createStore } from './http-client.module';

/**
 * A client outside Nest's DI (scripts, benches, tests): the same options as `HttpClientModule.forRoot`, except
 * `store: 'cache-manager'` (pass the cache as a `CacheManagerCacheStore` instead). Close it with `client.close()`.
 *
 * @example
 * const client = createHttpClient({ baseUrl: 'http://directory:8080', cache: { store: { redis: process.env.REDIS_URL! } } });
 *
 * @publicApi
 */
export function createHttpClient(
  options: HttpClientModuleOptions = {},
  metrics?: MetricsSink,
): HttpClient {
  const resolved = resolveHttpClientOptions(options);
  const kind = resolved.cache ? resolved.cache.store.kind : undefined;
  return new HttpClient(resolved, createStore(resolved), metrics, kind !== 'custom');
}
