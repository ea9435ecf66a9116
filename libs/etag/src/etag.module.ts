import { Module, type DynamicModule } from '@nestjs/common';
import { STEADY_ETAG_OPTIONS } from './etag.constants';
import { EtagAdapterHooks } from './etag-adapter.hooks';
import {
  ETAG_OPTIONS_TYPE,
  EtagConfigurableModule,
  STEADY_ETAG_RAW_OPTIONS,
} from './etag-module-definition';
import type { EtagModuleOptions } from './etag-options.interface';
import { resolveEtagOptions } from './etag-options.validation';
import { EtagInterceptor } from './etag.interceptor';
import { EtagService } from './etag.service';

/**
 * RFC 9110 conditional requests for Nest, identical on Express and Fastify: shallow ETags from the serialized
 * body, deep `@ETag()` / `@LastModified()` validators resolved before the handler (304/412 without calling it),
 * `@CacheControl()`, If-Match/If-Unmodified-Since/If-None-Match/If-Modified-Since in RFC order. Works without
 * `@steady/metrics`; with it, registers `steady_etag_*` counters. Global, with a global interceptor, by default.
 *
 * @example
 * @Module({
 *   imports: [
 *     EtagModule.forRoot({ cacheControl: { private: true, maxAge: 0, mustRevalidate: true } }),
 *     // or forRootAsync({ useFactory: (cfg: ConfigService) => ({ ... }), inject: [ConfigService] })
 *   ],
 * })
 * export class AppModule {}
 *
 * @publicApi
 */
@Module({
  providers: [
    {
      provide: STEADY_ETAG_OPTIONS,
      useFactory: (raw?: EtagModuleOptions) => resolveEtagOptions(raw ?? {}),
      inject: [{ token: STEADY_ETAG_RAW_OPTIONS, optional: true }],
    },
    EtagService,
    EtagInterceptor,
    EtagAdapterHooks,
  ],
  exports: [STEADY_ETAG_OPTIONS, EtagService, EtagInterceptor],
})
export class EtagModule extends EtagConfigurableModule {
  /** Every option has a default, so `forRoot()` is enough. */
  static override forRoot(options: typeof ETAG_OPTIONS_TYPE = {}): DynamicModule {
    return super.forRoot(options);
  }
}
