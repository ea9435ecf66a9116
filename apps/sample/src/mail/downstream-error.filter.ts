import { Catch, HttpStatus, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { PoolSaturatedError, PoolTimeoutError } from './bounded-pool';

/**
 * The spam scanner's pool errors become clear answers instead of 500s: a full queue is 503 with
 * `Retry-After`, a wait past the timeout is 504.
 */
@Catch(PoolSaturatedError, PoolTimeoutError)
export class DownstreamErrorFilter implements ExceptionFilter {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  catch(error: PoolSaturatedError | PoolTimeoutError, host: ArgumentsHost): void {
    const adapter = this.adapterHost.httpAdapter;
    const res = host.switchToHttp().getResponse<object>();
    if (error instanceof PoolSaturatedError) {
      adapter.setHeader(res, 'Retry-After', '1');
      adapter.reply(
        res,
        {
          statusCode: 503,
          error: 'Service Unavailable',
          message: 'spam scanner is saturated, retry later',
        },
        HttpStatus.SERVICE_UNAVAILABLE,
      );
    } else {
      adapter.reply(
        res,
        {
          statusCode: 504,
          error: 'Gateway Timeout',
          message: `spam scanner did not answer within ${error.timeoutMs} ms`,
        },
        HttpStatus.GATEWAY_TIMEOUT,
      );
    }
  }
}
