import type { IncomingHttpHeaders } from 'node:http';
import { ListMatch, matchEntityTagList, type EntityTag } from './entity-tag';
import { parseHttpDate } from './http-date';

/** What the server knows about the target resource's selected representation when it evaluates. */
export interface ResourceValidators {
  /** There is a current representation (a deep resolver that returned `undefined` says there is none). */
  readonly exists: boolean;
  readonly etag?: EntityTag;
  /** Last modification, whole seconds since the epoch. */
  readonly lastModified?: number;
}

/** The outcome of {@link evaluatePreconditions}. @publicApi */
export const enum PreconditionOutcome {
  /** Perform the method (every precondition passed, or none applied). */
  Proceed = 0,
  /** 304 Not Modified (GET/HEAD). */
  NotModified = 304,
  /** 412 Precondition Failed. */
  PreconditionFailed = 412,
}

/** The four conditional request headers, in RFC 9110 evaluation order. */
export type ConditionalHeader =
  'if-match' | 'if-unmodified-since' | 'if-none-match' | 'if-modified-since';

export interface EvaluateOptions {
  /**
   * Let a request `Cache-Control: no-cache` disable 304s for GET/HEAD (what Express's `fresh` does). RFC 9110
   * does not: default `false`.
   */
  honorRequestNoCache?: boolean;
  /** Called once per malformed conditional header (unquoted tags, garbage dates, oversized fields). */
  onMalformed?: (header: ConditionalHeader) => void;
}

/**
 * Evaluates the conditional request headers in the order of RFC 9110 §13.2.2:
 *
 * 1. **If-Match** (strong comparison; `*` is true when a current representation exists): false → 412.
 * 2. **If-Unmodified-Since**, only without If-Match and when a modification date is known: false → 412.
 * 3. **If-None-Match** (weak comparison; `*` is false when a current representation exists): false → 304 for
 *    GET/HEAD, 412 for any other method.
 * 4. **If-Modified-Since**, GET/HEAD only, without If-None-Match, with a known modification date: false → 304.
 *
 * Conditional headers on CONNECT, OPTIONS and TRACE are ignored (§13.2.1). If-Range (step 5) is not evaluated:
 * Nest does not serve ranges. Field values that are empty are treated as absent; malformed ones as the RFC
 * says: an invalid HTTP-date makes If-(Un)Modified-Since ignored (§13.1.3-4), an invalid entity tag matches
 * nothing (so a garbage If-Match fails and a garbage If-None-Match passes).
 *
 * The caller decides *whether* to evaluate (§13.2.1: only when the response would otherwise be 2xx or 412).
 *
 * @publicApi
 */
export function evaluatePreconditions(
  method: string | undefined,
  headers: IncomingHttpHeaders,
  resource: ResourceValidators,
  options: EvaluateOptions = {},
): PreconditionOutcome {
  if (method === 'CONNECT' || method === 'OPTIONS' || method === 'TRACE') {
    return PreconditionOutcome.Proceed;
  }
  const safe = method === 'GET' || method === 'HEAD';
  const { onMalformed } = options;

  // Step 1: If-Match.
  const ifMatch = present(headers['if-match']);
  if (ifMatch !== undefined) {
    const r = matchEntityTagList(ifMatch, resource.etag, true);
    if (r & ListMatch.Malformed) onMalformed?.('if-match');
    const m = r & ListMatch.Outcome;
    const passes = m === ListMatch.Star ? resource.exists : m === ListMatch.Match;
    if (!passes) return PreconditionOutcome.PreconditionFailed;
  } else {
    // Step 2: If-Unmodified-Since (ignored when If-Match is present).
    const ius = present(headers['if-unmodified-since']);
    if (ius !== undefined) {
      const date = parseHttpDate(ius);
      if (date === undefined) onMalformed?.('if-unmodified-since');
      else if (resource.lastModified !== undefined && resource.lastModified > date) {
        return PreconditionOutcome.PreconditionFailed;
      }
    }
  }

  const skipCacheValidation = safe && options.honorRequestNoCache === true && hasNoCache(headers);

  // Step 3: If-None-Match.
  const ifNoneMatch = present(headers['if-none-match']);
  if (ifNoneMatch !== undefined) {
    if (skipCacheValidation) return PreconditionOutcome.Proceed;
    const r = matchEntityTagList(ifNoneMatch, resource.etag, false);
    if (r & ListMatch.Malformed) onMalformed?.('if-none-match');
    const m = r & ListMatch.Outcome;
    const passes = m === ListMatch.Star ? !resource.exists : m !== ListMatch.Match;
    if (!passes) {
      return safe ? PreconditionOutcome.NotModified : PreconditionOutcome.PreconditionFailed;
    }
    return PreconditionOutcome.Proceed;
  }

  // Step 4: If-Modified-Since (GET/HEAD only, and only without If-None-Match).
  if (safe && !skipCacheValidation) {
    const ims = present(headers['if-modified-since']);
    if (ims !== undefined) {
      const date = parseHttpDate(ims);
      if (date === undefined) onMalformed?.('if-modified-since');
      else if (resource.lastModified !== undefined && resource.lastModified <= date) {
        return PreconditionOutcome.NotModified;
      }
    }
  }
  return PreconditionOutcome.Proceed;
}

/** Whether the request carries any of the four conditional headers (with a non-empty value). */
export function isConditional(headers: IncomingHttpHeaders): boolean {
  return (
    present(headers['if-none-match']) !== undefined ||
    present(headers['if-match']) !== undefined ||
    present(headers['if-modified-since']) !== undefined ||
    present(headers['if-unmodified-since']) !== undefined
  );
}

/** Whether the request carries If-Match or If-None-Match (the ones a body hash can answer). */
export function hasEntityTagConditions(headers: IncomingHttpHeaders): boolean {
  return (
    present(headers['if-none-match']) !== undefined || present(headers['if-match']) !== undefined
  );
}

/** Whether a header is present with a non-empty value (empty and whitespace-only values count as absent). */
export function hasFieldValue(value: string | string[] | undefined): boolean {
  return present(value) !== undefined;
}

/** The field value, or `undefined` when absent or empty (whitespace only). */
function present(value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  // Node joins repeated If-Match / If-None-Match lines with ", " and keeps the first If-(Un)Modified-Since.
  const v = typeof value === 'string' ? value : value.join(', ');
  if (v.length === 0) return undefined;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09) return v;
  }
  return undefined;
}

/** `Cache-Control: no-cache` on the request (the directive `fresh` looks for). */
function hasNoCache(headers: IncomingHttpHeaders): boolean {
  const cc = headers['cache-control'];
  return typeof cc === 'string' && /(?:^|,)\s*no-cache\s*(?:,|=|$)/i.test(cc);
}
