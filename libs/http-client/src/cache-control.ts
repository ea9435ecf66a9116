/**
 * Cache-Control parsing (RFC 9111 §5.2) and the small header helpers the cache needs. Directive names are
 * case-insensitive; a repeated directive keeps its first value; a malformed delta-seconds makes the directive
 * count as present with value `NaN` (callers treat it as invalid, e.g. `max-age=abc` → stale).
 */

/** Parsed Cache-Control: directive name (lower case) → argument (`true` when it has none). */
export type CacheDirectives = Map<string, string | true>;

export type HeaderValue = string | string[];
/** Header names are lower case. */
export type HeaderRecord = Record<string, HeaderValue>;

/** Joins a possibly repeated header into one comma-separated value (not for Set-Cookie). */
export function headerValue(headers: HeaderRecord, name: string): string | undefined {
  const v = headers[name];
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v.join(', ') : v;
}

/** Splits a comma-separated list, honouring quoted strings. Empty members are dropped. */
export function splitList(value: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (quoted) {
      cur += c;
      if (c === '\\' && i + 1 < value.length) cur += value[++i];
      else if (c === '"') quoted = false;
    } else if (c === '"') {
      quoted = true;
      cur += c;
    } else if (c === ',') {
      const t = cur.trim();
      if (t) out.push(t);
      cur = '';
    } else cur += c;
  }
  const t = cur.trim();
  if (t) out.push(t);
  return out;
}

export function parseCacheControl(value: string | undefined): CacheDirectives {
  const out: CacheDirectives = new Map();
  if (!value) return out;
  for (const member of splitList(value)) {
    const eq = member.indexOf('=');
    const name = (eq === -1 ? member : member.slice(0, eq)).trim().toLowerCase();
    if (!name || out.has(name)) continue;
    if (eq === -1) {
      out.set(name, true);
      continue;
    }
    let arg = member.slice(eq + 1).trim();
    if (arg.length >= 2 && arg.startsWith('"') && arg.endsWith('"')) {
      arg = arg.slice(1, -1).replace(/\\(.)/g, '$1');
    }
    out.set(name, arg);
  }
  return out;
}

/**
 * delta-seconds of a directive: `undefined` when absent, `NaN` when present but not a non-negative integer
 * (an invalid `max-age` makes the response stale rather than fresh), capped at 2^31 (RFC 9111 §1.2.2).
 */
export function deltaSeconds(cc: CacheDirectives, name: string): number | undefined {
  const v = cc.get(name);
  if (v === undefined) return undefined;
  if (v === true || !/^\d+$/.test(v)) return Number.NaN;
  return Math.min(Number(v), 2 ** 31);
}

/** Field names listed in a qualified directive such as `no-cache="set-cookie, x-foo"` (lower case). */
export function qualifiedFields(cc: CacheDirectives, name: string): string[] | undefined {
  const v = cc.get(name);
  if (typeof v !== 'string') return undefined;
  const fields = v
    .split(',')
    .map((f) => f.trim().toLowerCase())
    .filter(Boolean);
  return fields.length > 0 ? fields : undefined;
}

/**
 * RFC 9111 §5.1: the first member of an `Age` list (repeated lines count as a list) if it is a non-negative
 * integer, capped at 2^31; anything else (non-numeric, negative, float, parameters) is ignored → `undefined`.
 */
export function parseAge(value: HeaderValue | undefined): number | undefined {
  if (value === undefined) return undefined;
  const joined = Array.isArray(value) ? value.join(',') : value;
  const first = joined.split(',')[0]?.trim() ?? '';
  if (!/^\d+$/.test(first)) return undefined;
  return Math.min(Number(first), 2 ** 31);
}

/** HTTP-date (IMF-fixdate, RFC 850, asctime) → epoch ms, or `undefined` when invalid. */
export function parseHttpDate(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  // Day and month names and GMT are matched case-insensitively (lenient; RFC 9110 §5.6.7 says case-sensitive).
  const v = value
    .trim()
    .replace(/\b([A-Za-z]{3,9})\b/g, (w) =>
      w.toUpperCase() === 'GMT' ? 'GMT' : w[0].toUpperCase() + w.slice(1).toLowerCase(),
    );
  // IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
  let m =
    /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d{2}) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$/.exec(
      v,
    );
  if (m) return utc(+m[4], m[3], +m[2], +m[5], +m[6], +m[7]);
  // RFC 850: Sunday, 06-Nov-94 08:49:37 GMT
  m =
    /^(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (\d{2})-(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)-(\d{2}) (\d{2}):(\d{2}):(\d{2}) GMT$/.exec(
      v,
    );
  if (m) {
    const yy = +m[4];
    const now = new Date().getUTCFullYear();
    let year = 1900 + yy;
    while (year + 50 < now) year += 100; // RFC 9110 §5.6.7: more than 50 years ahead → past century
    return utc(year, m[3], +m[2], +m[5], +m[6], +m[7]);
  }
  // asctime: Sun Nov  6 08:49:37 1994
  m =
    /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) ( \d|\d{2}) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/.exec(
      v,
    );
  if (m) return utc(+m[7], m[2], +m[3].trim(), +m[4], +m[5], +m[6]);
  return undefined;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function utc(
  y: number,
  mon: string,
  d: number,
  h: number,
  mi: number,
  s: number,
): number | undefined {
  if (h > 23 || mi > 59 || s > 60 || d < 1 || d > 31) return undefined;
  const t = Date.UTC(y, MONTHS.indexOf(mon), d, h, mi, s);
  return Number.isFinite(t) ? t : undefined;
}

/** Field names in a `Vary` value; repeated lines are split on commas too (undici#5582). `*` stays `*`. */
export function parseVary(value: HeaderValue | undefined): string[] {
  if (value === undefined) return [];
  const joined = Array.isArray(value) ? value.join(',') : value;
  const names = new Set<string>();
  for (const part of joined.split(',')) {
    const n = part.trim().toLowerCase();
    if (n) names.add(n);
  }
  return [...names].sort();
}
