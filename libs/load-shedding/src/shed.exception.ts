import { HttpException } from '@nestjs/common';

/**
 * Thrown by {@link ShedGuard} when a request is shed after routing (the admission hook answers earlier ones
 * itself). Body `{ statusCode, error, message, reason }`.
 *
 * @publicApi
 */
export class ShedException extends HttpException {
  constructor(body: { statusCode: number; error: string; message: string; reason?: string }) {
    super(body, body.statusCode);
  }
}
