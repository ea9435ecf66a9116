import { Inject } from '@nestjs/common';
import { getHttpClientToken } from './http-client.constants';

/**
 * Injects a named client registered with `HttpClientModule.forRoot({ name })`.
 *
 * @example
 * constructor(@InjectHttpClient('directory') private readonly directory: HttpClient) {}
 *
 * @publicApi
 */
export const InjectHttpClient = (name = 'default'): ParameterDecorator & PropertyDecorator =>
  Inject(getHttpClientToken(name));
