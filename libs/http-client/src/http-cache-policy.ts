import {
  deltaSeconds,
  headerValue,
  parseAge,
  parseCacheControl,
  parseHttpDate,
  parseVary,
  qualifiedFields,
  type CacheDirectives,
  type HeaderRecord,
} from './cache-control';
import type { CachedResponseMeta } from './http-cache-store.interface';

/**
 * RFC 9111 freshness, age and storability, written here rather than taken from http-cache-semantics or undici
 * (see docs/http-client.md, "Policy"): Age per §5.1, heuristic freshness only for the §4.2.2 status list,
 * invalid Expires = already expired, 304 header updates, Vary split on commas across repeated lines.
 */

/** Status codes heuristically cacheable (RFC 9110 §15.1). */
export const HEURISTIC_STATUSES: ReadonlySet<number> = new Set([
  200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501,
]);

/** Status codes this cache understands (for `must-understand`, RFC 9111 §5.2.2.3). */
const UNDERSTOOD_STATUSES: ReadonlySet<number> = new Set([
  200, 203, 204, 300, 301, 302, 303, 307, 308, 404, 405, 410, 414, 501,
]);

/** Connection-specific fields never stored (RFC 9111 §3.1). */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authentication-info',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** Fields a 304 must not overwrite in the stored response. */
const NOT_UPDATED_BY_304: ReadonlySet<string> = new Set([
  'content-length',
  'content-encoding',
  'content-range',
]);

export interface PolicyOptions {
  shared: boolean;
  /** Fraction of (Date − Last-Modified) used as heuristic lifetime; 0 turns heuristics off. */
  heuristicFraction: number;
  /** Keep a stale entry that has validators this long for conditional requests (seconds). */
  staleRetentionSeconds: number;
}

/** Why a response is (not) storable; `undefined` = storable. */
export function notStorableReason(
  method: string,
  requestHeaders: HeaderRecord,
  status: number,
  headers: HeaderRecord,
  opts: PolicyOptions,
): string | undefined {
  if (method !== 'GET') return 'method';
  // Any final status may be stored with explicit freshness (RFC 9111 §3); 206 is not (no range support) and a
  // 304 only updates. With must-understand, only statuses we understand, and then no-store is overridden.
  if (status < 200 || status === 206 || status === 304) return 'status';
  const reqCc = parseCacheControl(headerValue(requestHeaders, 'cache-control'));
  if (reqCc.has('no-store')) return 'request no-store';
  const cc = parseCacheControl(headerValue(headers, 'cache-control'));
  if (cc.has('must-understand')) {
    if (!UNDERSTOOD_STATUSES.has(status)) return 'must-understand';
  } else if (cc.has('no-store')) return 'no-store';
  if (opts.shared && cc.get('private') === true) return 'private';
  if (parseVary(headers.vary).includes('*')) return 'vary *';
  if (opts.shared && requestHeaders.authorization !== undefined) {
    if (!cc.has('public') && !cc.has('s-maxage') && !cc.has('must-revalidate'))
      return 'authorization';
  }
  const explicit =
    headers.expires !== undefined ||
    cc.has('max-age') ||
    (opts.shared && cc.has('s-maxage')) ||
    cc.has('public');
  if (explicit) return undefined;
  const validators = headers.etag !== undefined || headers['last-modified'] !== undefined;
  if (validators && (HEURISTIC_STATUSES.has(status) || cc.has('no-cache'))) return undefined;
  return 'no freshness information or validator';
}

/** RFC 9111 §4.2.1 freshness lifetime in seconds (0 when stale from the start). */
export function freshnessLifetime(
  meta: CachedResponseMeta,
  cc: CacheDirectives,
  opts: PolicyOptions,
): number {
  if (opts.shared) {
    const s = deltaSeconds(cc, 's-maxage');
    if (s !== undefined) return Number.isNaN(s) ? 0 : s;
  }
  const maxAge = deltaSeconds(cc, 'max-age');
  if (maxAge !== undefined) return Number.isNaN(maxAge) ? 0 : maxAge;
  const date = dateValue(meta);
  const expiresRaw = meta.headers.expires;
  if (expiresRaw !== undefined) {
    if (Array.isArray(expiresRaw) && expiresRaw.length !== 1) return 0;
    const expires = parseHttpDate(headerValue(meta.headers, 'expires'));
    if (expires === undefined) return 0; // invalid (e.g. "0") = already expired
    return Math.max(0, (expires - date) / 1000);
  }
  const lastModified = parseHttpDate(headerValue(meta.headers, 'last-modified'));
  if (
    lastModified !== undefined &&
    opts.heuristicFraction > 0 &&
    (HEURISTIC_STATUSES.has(meta.status) || cc.has('public')) &&
    lastModified < date
  ) {
    return Math.floor(((date - lastModified) / 1000) * opts.heuristicFraction);
  }
  return 0;
}

function dateValue(meta: CachedResponseMeta): number {
  return parseHttpDate(headerValue(meta.headers, 'date')) ?? meta.responseTime;
}

/** RFC 9111 §4.2.3 current_age in seconds (fractional). */
export function currentAge(meta: CachedResponseMeta, now: number): number {
  const apparent = Math.max(0, meta.responseTime - dateValue(meta)) / 1000;
  const responseDelay = Math.max(0, meta.responseTime - meta.requestTime) / 1000;
  const ageValue = parseAge(meta.headers.age) ?? 0;
  const correctedInitial = Math.max(apparent, ageValue + responseDelay);
  const resident = Math.max(0, now - meta.responseTime) / 1000;
  return correctedInitial + resident;
}

/** Response headers as stored: hop-by-hop fields and fields named by `Connection` removed. */
export function storableHeaders(headers: HeaderRecord, opts: PolicyOptions): HeaderRecord {
  const drop = new Set(HOP_BY_HOP);
  const connection = headerValue(headers, 'connection');
  if (connection) for (const f of connection.split(',')) drop.add(f.trim().toLowerCase());
  const cc = parseCacheControl(headerValue(headers, 'cache-control'));
  // A shared cache drops fields named by a qualified private; both modes drop qualified no-cache fields
  // (they could only be sent after revalidation, which we do not track per field).
  for (const f of (opts.shared ? qualifiedFields(cc, 'private') : undefined) ?? []) drop.add(f);
  for (const f of qualifiedFields(cc, 'no-cache') ?? []) drop.add(f);
  const out: HeaderRecord = {};
  for (const [k, v] of Object.entries(headers)) if (!drop.has(k)) out[k] = v;
  return out;
}

/** Headers of a stored response after a 304 (RFC 9111 §3.2, §4.3.4): the 304's fields replace stored ones. */
export function mergeNotModified(
  stored: HeaderRecord,
  notModified: HeaderRecord,
  opts: PolicyOptions,
): HeaderRecord {
  const update = storableHeaders(notModified, opts);
  const out: HeaderRecord = { ...stored };
  for (const [k, v] of Object.entries(update)) {
    if (NOT_UPDATED_BY_304.has(k)) continue;
    out[k] = v;
  }
  if (update.age === undefined) delete out.age;
  return out;
}

/** Request values of the fields named by `Vary` (`null` = absent). */
export function varyValues(
  names: readonly string[],
  requestHeaders: HeaderRecord,
): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const n of names) out[n] = normalizeVaryValue(n, headerValue(requestHeaders, n));
  return out;
}

/** Fields whose values are case-insensitive tokens (language tags, codings, charsets). */
const CASE_INSENSITIVE_VARY = new Set(['accept-language', 'accept-encoding', 'accept-charset']);

/** Whitespace around list members, runs of spaces and (for the fields above) case select no other variant. */
function normalizeVaryValue(name: string, v: string | undefined): string | null {
  if (v === undefined) return null;
  const out = v
    .split(',')
    .map((s) => s.trim())
    .join(', ')
    .replace(/\s+/g, ' ');
  return CASE_INSENSITIVE_VARY.has(name) ? out.toLowerCase() : out;
}

/** Does the request select this stored variant (RFC 9111 §4.1)? */
export function varyMatches(meta: CachedResponseMeta, requestHeaders: HeaderRecord): boolean {
  for (const [name, stored] of Object.entries(meta.vary)) {
    if (normalizeVaryValue(name, headerValue(requestHeaders, name)) !== stored) return false;
  }
  return true;
}

/** Stable variant id from the Vary names and values. */
export function variantId(vary: Record<string, string | null>): string {
  const names = Object.keys(vary);
  if (names.length === 0) return '-';
  return JSON.stringify(names.map((n) => [n, vary[n]]));
}

/** Lifetime extensions from response directives (seconds); NaN/absent → 0. */
export function staleWindows(cc: CacheDirectives): { swr: number; sie: number } {
  const swr = deltaSeconds(cc, 'stale-while-revalidate');
  const sie = deltaSeconds(cc, 'stale-if-error');
  return { swr: swr && !Number.isNaN(swr) ? swr : 0, sie: sie && !Number.isNaN(sie) ? sie : 0 };
}
