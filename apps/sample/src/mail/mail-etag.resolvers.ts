import type { EtagRequest, EtagResolverContext } from '@steady/etag';
import { MailService } from './mail.service';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

/**
 * The deep validators of the mail routes. They run before the pipes, so they return `undefined` (no
 * validator: the handler and its pipes answer, e.g. 400 or 404) for input the pipes would reject, rather than
 * answer 304 to a request that should have failed validation.
 */
export const mailTag = (req: EtagRequest, ctx: EtagResolverContext): string | undefined =>
  UUID_V4.test(req.params.id ?? '') ? ctx.get(MailService).mailTag(req.params.id) : undefined;

export const mailUpdatedAt = (req: EtagRequest, ctx: EtagResolverContext): string | undefined =>
  UUID_V4.test(req.params.id ?? '') ? ctx.get(MailService).mailUpdatedAt(req.params.id) : undefined;

/** `?page` and `?pageSize` as `ListMailsQuery` accepts them, and nothing else. */
function isListQuery(query: Record<string, unknown>): boolean {
  for (const [key, value] of Object.entries(query)) {
    const max = key === 'page' ? 1_000_000 : key === 'pageSize' ? 100 : 0;
    if (max === 0 || typeof value !== 'string' || !/^\d{1,7}$/.test(value)) return false;
    const n = Number(value);
    if (n < 1 || n > max) return false;
  }
  return true;
}

export const mailboxTag = (req: EtagRequest, ctx: EtagResolverContext): string | undefined =>
  isListQuery(req.query ?? {}) ? ctx.get(MailService).mailboxTag(req.params.user ?? '') : undefined;
