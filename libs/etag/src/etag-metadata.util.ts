import { UseInterceptors } from '@nestjs/common';
import { STEADY_ETAG_INTERCEPTOR_APPLIED } from './etag.constants';
import { EtagInterceptor } from './etag.interceptor';

/**
 * A decorator that stores `value` under `key` on a controller or route and, once per class or method, applies
 * `EtagInterceptor` there, so the Steady decorators work without a global interceptor. With the global one as
 * well, the inner instance sees the request is already handled and steps aside.
 */
export function etagRouteDecorator(
  key: string,
  value: unknown,
  applyInterceptor = true,
): ClassDecorator & MethodDecorator {
  return ((target: object, propertyKey?: string | symbol, descriptor?: PropertyDescriptor) => {
    const holder: object = descriptor ? (descriptor.value as object) : target;
    Reflect.defineMetadata(key, value, holder);
    if (applyInterceptor && !Reflect.getOwnMetadata(STEADY_ETAG_INTERCEPTOR_APPLIED, holder)) {
      Reflect.defineMetadata(STEADY_ETAG_INTERCEPTOR_APPLIED, true, holder);
      if (descriptor) UseInterceptors(EtagInterceptor)(target, propertyKey!, descriptor);
      else UseInterceptors(EtagInterceptor)(target as Function);
    }
    return descriptor;
  }) as ClassDecorator & MethodDecorator;
}
