import { Module, type DynamicModule } from '@nestjs/common';
import { HttpClientModule } from '@steady/http-client';
import { loadAddressBookConfig } from './address-book.config';
import { AddressBookController } from './address-book.controller';
import { AddressBookOrigin } from './address-book.origin';
import { AddressBookService } from './address-book.service';

@Module({ providers: [AddressBookOrigin], exports: [AddressBookOrigin] })
class AddressBookOriginModule {}

/**
 * The mail service's address-book lookups (`GET /contacts/:email`) through `@steady/http-client`: an RFC 9111
 * cache in memory by default, in Redis when `REDIS_URL` is set. The downstream is `ADDRESS_BOOK_URL`, or an
 * in-process stand-in on a loopback port.
 */
@Module({})
export class AddressBookModule {
  static forRoot(env: NodeJS.ProcessEnv = process.env): DynamicModule {
    const config = loadAddressBookConfig(env);
    return {
      module: AddressBookModule,
      imports: [
        AddressBookOriginModule,
        HttpClientModule.forRootAsync({
          name: 'address-book',
          imports: [AddressBookOriginModule],
          inject: [AddressBookOrigin],
          useFactory: async (origin: AddressBookOrigin) => ({
            baseUrl: config.url ?? (await origin.start(config)),
            timeoutMs: 5000,
            cache: {
              cacheStatusHeader: true,
              ...(config.redisUrl
                ? {
                    store: {
                      redis: { url: config.redisUrl, prefix: 'steady-sample:address-book' },
                    },
                  }
                : {}),
            },
          }),
        }),
      ],
      controllers: [AddressBookController],
      providers: [AddressBookService],
    };
  }
}
