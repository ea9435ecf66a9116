import {
  Module,
  type DynamicModule,
  type FactoryProvider,
  type ModuleMetadata,
  type Provider,
} from '@nestjs/common';
import { MetricsSink, SteadyOptionsError } from '@steady/core';
import { CacheManagerCacheStore, type CacheManagerLike } from './cache-manager-cache.store';
import { HttpCacheStore } from './http-cache-store.interface';
import { HttpClient } from './http-client';
import { getHttpClientOptionsToken, getHttpClientToken } from './http-client.constants';
import type {
  HttpClientModuleExtras,
  HttpClientModuleOptions,
} from './http-client-options.interface';
import {
  resolveHttpClientOptions,
  type ResolvedHttpClientOptions,
} from './http-client-options.validation';
import { MemoryCacheStore } from './memory-cache.store';

/**
 * `CACHE_MANAGER` of `@nestjs/cache-manager` (its value, a plain string): injected optionally, so the package is
 * needed only by apps that use `store: 'cache-manager'`.
 */
const CACHE_MANAGER = 'CACHE_MANAGER';
import { RedisCacheStore } from './redis-cache.store';

/** `forRootAsync` options. @publicApi */
export interface HttpClientModuleAsyncOptions
  extends Pick<ModuleMetadata, 'imports'>, HttpClientModuleExtras {
  /** Client name; must be static (it names the DI token). Default `default`. */
  name?: string;
  useFactory: (
    ...args: never[]
  ) => Omit<HttpClientModuleOptions, 'name'> | Promise<Omit<HttpClientModuleOptions, 'name'>>;
  inject?: FactoryProvider['inject'];
}

/**
 * Outbound HTTP with an RFC 9111 cache, on undici 7, stored through cache-manager/Keyv semantics: memory LRU by
 * default, Redis (`{ redis: url }`, raw-byte bodies) or the app's `CACHE_MANAGER` (`store: 'cache-manager'`).
 * Each `forRoot` registers one named client; the `default` one is also injectable as `HttpClient`.
 *
 * @example
 * @Module({
 *   imports: [
 *     HttpClientModule.forRoot({ baseUrl: 'http://directory:8080' }),
 *     HttpClientModule.forRootAsync({
 *       name: 'billing',
 *       useFactory: (cfg: ConfigService) => ({ cache: { store: { redis: cfg.get('REDIS_URL') } } }),
 *       inject: [ConfigService],
 *     }),
 *   ],
 * })
 * export class AppModule {}
 *
 * @publicApi
 */
@Module({})
export class HttpClientModule {
  static forRoot(options: HttpClientModuleOptions & HttpClientModuleExtras = {}): DynamicModule {
    const { isGlobal, ...rest } = options;
    const resolved = resolveHttpClientOptions(rest);
    return HttpClientModule.build(
      resolved.name,
      isGlobal,
      { provide: getHttpClientOptionsToken(resolved.name), useValue: resolved },
      [],
    );
  }

  static forRootAsync(options: HttpClientModuleAsyncOptions): DynamicModule {
    const name = options.name ?? 'default';
    resolveHttpClientOptions({ name }); // validates the static name now
    return HttpClientModule.build(
      name,
      options.isGlobal,
      {
        provide: getHttpClientOptionsToken(name),
        useFactory: async (...args: never[]) =>
          resolveHttpClientOptions({ ...(await options.useFactory(...args)), name }),
        inject: options.inject ?? [],
      },
      options.imports ?? [],
    );
  }

  private static build(
    name: string,
    isGlobal: boolean | undefined,
    optionsProvider: Provider,
    imports: NonNullable<ModuleMetadata['imports']>,
  ): DynamicModule {
    const token = getHttpClientToken(name);
    const providers: Provider[] = [
      optionsProvider,
      {
        provide: token,
        useFactory: (
          resolved: ResolvedHttpClientOptions,
          metrics?: MetricsSink,
          cacheManager?: CacheManagerLike,
          provided?: HttpCacheStore,
        ) => {
          const store = createStore(resolved, cacheManager, provided);
          // The client closes only stores it created (memory, Redis), not one the app passed or provided.
          const kind = resolved.cache ? resolved.cache.store.kind : undefined;
          const owned = kind === 'memory' || kind === 'redis' || (kind === 'default' && !provided);
          return new HttpClient(resolved, store, metrics, owned);
        },
        inject: [
          getHttpClientOptionsToken(name),
          { token: MetricsSink, optional: true },
          { token: CACHE_MANAGER, optional: true },
          { token: HttpCacheStore, optional: true },
        ],
      },
    ];
    const exports: (string | typeof HttpClient)[] = [token];
    if (name === 'default') {
      providers.push({ provide: HttpClient, useExisting: token });
      exports.push(HttpClient);
    }
    return { module: HttpClientModule, global: isGlobal ?? false, imports, providers, exports };
  }
}

/**
 * The store selected by the options (undefined when caching is off). Without `cache.store`, an `HttpCacheStore`
 * provider visible to the module (e.g. global) is used, else the memory LRU.
 */
export function createStore(
  resolved: ResolvedHttpClientOptions,
  cacheManager?: CacheManagerLike,
  provided?: HttpCacheStore,
): HttpCacheStore | undefined {
  const cache = resolved.cache;
  if (!cache) return undefined;
  switch (cache.store.kind) {
    case 'default':
      return provided ?? new MemoryCacheStore({ maxSize: cache.maxSize, maxCount: cache.maxCount });
    case 'memory':
      return new MemoryCacheStore({ maxSize: cache.maxSize, maxCount: cache.maxCount });
    case 'redis':
      return new RedisCacheStore(cache.store.options);
    case 'custom':
      return cache.store.store;
    case 'cache-manager':
      if (!cacheManager) {
        throw new SteadyOptionsError(
          '@steady/http-client',
          'cache.store',
          "'cache-manager' with CacheModule from @nestjs/cache-manager imported (CACHE_MANAGER is not available)",
          'cache-manager',
        );
      }
      return new CacheManagerCacheStore(cacheManager);
  }
}
