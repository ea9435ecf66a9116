import { SteadyOptionsError } from '@steady/core';
import { ETAG_MODULE_NAME } from './etag.constants';

/**
 * Response `Cache-Control` directives (RFC 9111 §5.2.2), as `@CacheControl()` and the module's `cacheControl`
 * option take them. Durations are whole seconds.
 *
 * @example
 * { maxAge: 60, mustRevalidate: true }          // "max-age=60, must-revalidate"
 * { private: true, noCache: true }              // "private, no-cache"
 *
 * @publicApi
 */
export interface CacheControlDirectives {
  /** `max-age`: fresh for this many seconds. */
  maxAge?: number;
  /** `s-maxage`: for shared caches, wins over `max-age`. */
  sMaxAge?: number;
  /** `must-revalidate`: once stale, never reuse without revalidating (the seed's choice). */
  mustRevalidate?: boolean;
  /** `proxy-revalidate`: `must-revalidate` for shared caches only. */
  proxyRevalidate?: boolean;
  /** `no-cache`: store, but revalidate before every reuse. */
  noCache?: boolean;
  /** `no-store`: do not store at all. */
  noStore?: boolean;
  /** `private`: only the user's own (non-shared) cache may store it. */
  private?: boolean;
  /** `public`: any cache may store it, even with Authorization. */
  public?: boolean;
  /** `no-transform`: intermediaries must not transform the content. */
  noTransform?: boolean;
  /** `immutable`: does not change while fresh (RFC 8246). */
  immutable?: boolean;
  /** `must-understand` (RFC 9111 §5.2.2.3). */
  mustUnderstand?: boolean;
  /** `stale-while-revalidate` seconds (RFC 5861). */
  staleWhileRevalidate?: number;
  /** `stale-if-error` seconds (RFC 5861). */
  staleIfError?: number;
}

const SECONDS: ReadonlyArray<[keyof CacheControlDirectives, string]> = [
  ['maxAge', 'max-age'],
  ['sMaxAge', 's-maxage'],
  ['staleWhileRevalidate', 'stale-while-revalidate'],
  ['staleIfError', 'stale-if-error'],
];
const FLAGS: ReadonlyArray<[keyof CacheControlDirectives, string]> = [
  ['public', 'public'],
  ['private', 'private'],
  ['noCache', 'no-cache'],
  ['noStore', 'no-store'],
  ['mustRevalidate', 'must-revalidate'],
  ['proxyRevalidate', 'proxy-revalidate'],
  ['noTransform', 'no-transform'],
  ['immutable', 'immutable'],
  ['mustUnderstand', 'must-understand'],
];
const KNOWN = new Set<string>([...SECONDS, ...FLAGS].map(([k]) => k));
/** A field value of visible ASCII and spaces: no CR/LF (header injection), no controls. */
const FIELD_VALUE = /^[\x20-\x7e]*[\x21-\x7e]$/;
const MAX_SECONDS = 2 ** 31 - 1;

/**
 * The `Cache-Control` field value for directives or a literal string, validated. Throws a
 * `SteadyOptionsError` naming `option` (e.g. `cacheControl.maxAge`) for a bad directive.
 */
export function formatCacheControl(
  value: CacheControlDirectives | string,
  option = 'cacheControl',
): string {
  if (typeof value === 'string') {
    if (!FIELD_VALUE.test(value)) {
      throw new SteadyOptionsError(
        ETAG_MODULE_NAME,
        option,
        'a Cache-Control field value (visible ASCII)',
        value,
      );
    }
    return value;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new SteadyOptionsError(
      ETAG_MODULE_NAME,
      option,
      'Cache-Control directives or a string',
      value,
    );
  }
  for (const key of Object.keys(value)) {
    if (!KNOWN.has(key)) {
      throw new SteadyOptionsError(
        ETAG_MODULE_NAME,
        `${option}.${key}`,
        `a known directive (${[...KNOWN].join(', ')})`,
        (value as Record<string, unknown>)[key],
      );
    }
  }
  const parts: string[] = [];
  for (const [key, name] of FLAGS) {
    const flag = value[key];
    if (flag === undefined || flag === false) continue;
    if (flag !== true)
      throw new SteadyOptionsError(ETAG_MODULE_NAME, `${option}.${key}`, 'true or false', flag);
    parts.push(name);
  }
  for (const [key, name] of SECONDS) {
    const s = value[key];
    if (s === undefined) continue;
    if (typeof s !== 'number' || !Number.isInteger(s) || s < 0 || s > MAX_SECONDS) {
      throw new SteadyOptionsError(
        ETAG_MODULE_NAME,
        `${option}.${key}`,
        `an integer 0..${MAX_SECONDS} (seconds)`,
        s,
      );
    }
    parts.push(`${name}=${s}`);
  }
  if (value.public && value.private) {
    throw new SteadyOptionsError(
      ETAG_MODULE_NAME,
      `${option}.public`,
      'not both public and private',
      true,
    );
  }
  if (parts.length === 0) {
    throw new SteadyOptionsError(ETAG_MODULE_NAME, option, 'at least one directive', value);
  }
  return parts.join(', ');
}
