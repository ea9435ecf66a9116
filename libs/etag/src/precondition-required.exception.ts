import { HttpException } from '@nestjs/common';

/**
 * 428 Precondition Required (RFC 6585 §3): the route requires conditional writes and the request carried no
 * If-Match, so it could overwrite a change it has not seen.
 *
 * @publicApi
 */
export class PreconditionRequiredException extends HttpException {
  constructor(
    message = 'This request must be conditional: send If-Match with the ETag you last read',
  ) {
    super({ statusCode: 428, message, error: 'Precondition Required' }, 428);
  }
}
