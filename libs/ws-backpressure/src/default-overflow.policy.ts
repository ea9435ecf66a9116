import type { OverflowContext, OverflowPolicy } from './overflow-policy.interface';
import type { OverflowAction } from './ws-backpressure-options.interface';

/**
 * The default {@link OverflowPolicy}: the sender's choice for this message, else the gateway's `overflow`.
 *
 * @publicApi
 */
export class DefaultOverflowPolicy implements OverflowPolicy {
  onOverflow(context: OverflowContext): OverflowAction {
    return context.requested ?? context.gatewayDefault;
  }
}
