import { SetMetadata } from '@nestjs/common';
import { STEADY_SKIP_ETAG } from './etag.constants';

/**
 * Leaves this controller or route alone: no ETag, no Cache-Control, no conditional evaluation (e.g. a route
 * whose body embeds a per-request nonce, so its hash would never repeat).
 *
 * @publicApi
 */
export const SkipEtag = (): ClassDecorator & MethodDecorator => SetMetadata(STEADY_SKIP_ETAG, true);
