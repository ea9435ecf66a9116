/**
 * HTTP-date (RFC 9110 §5.6.7), strictly: IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), and the obsolete
 * rfc850-date (`Sunday, 06-Nov-94 08:49:37 GMT`) and asctime-date (`Sun Nov  6 08:49:37 1994`) that recipients
 * must still accept. Anything else — ISO 8601, epoch numbers, "yesterday", a list of dates — is not an
 * HTTP-date, and a conditional header holding it is ignored (§13.1.3, §13.1.4). `Date.parse` is not used: it
 * accepts far more than HTTP allows.
 */

const MONTHS = 'JanFebMarAprMayJunJulAugSepOctNovDec';
const DAY = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)';
const LONG_DAY = '(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)';
const MONTH = '(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)';
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';

const IMF_FIXDATE = new RegExp(`^${DAY}, (\\d{2}) ${MONTH} (\\d{4}) ${TIME} GMT$`);
const RFC850_DATE = new RegExp(`^${LONG_DAY}, (\\d{2})-${MONTH}-(\\d{2}) ${TIME} GMT$`);
const ASCTIME_DATE = new RegExp(`^${DAY} ${MONTH} ( \\d|\\d{2}) ${TIME} (\\d{4})$`);

/** Longer than any HTTP-date (29 characters; rfc850 with "Wednesday" is 30). */
const MAX_DATE_LENGTH = 40;

/**
 * Parses an HTTP-date into whole seconds since the epoch, or `undefined` if the value is not a valid
 * HTTP-date (including impossible dates such as 31 Feb, and lists of dates).
 *
 * @publicApi
 */
export function parseHttpDate(value: string, nowMs: number = Date.now()): number | undefined {
  if (value.length > MAX_DATE_LENGTH || value.length < 24) return undefined;
  let m = IMF_FIXDATE.exec(value);
  if (m) return toSeconds(+m[3], m[2], +m[1], +m[4], +m[5], +m[6]);
  m = RFC850_DATE.exec(value);
  if (m) return toSeconds(fullYear(+m[3], nowMs), m[2], +m[1], +m[4], +m[5], +m[6]);
  m = ASCTIME_DATE.exec(value);
  if (m) return toSeconds(+m[6], m[1], +m[2].trim(), +m[3], +m[4], +m[5]);
  return undefined;
}

/**
 * Formats whole seconds since the epoch as an IMF-fixdate, e.g. `Wed, 25 Nov 2026 22:20:21 GMT`.
 *
 * @publicApi
 */
export function formatHttpDate(seconds: number): string {
  return new Date(seconds * 1000).toUTCString();
}

/**
 * Seconds since the epoch of a `@LastModified()` value: a Date, epoch milliseconds, or a string (an HTTP-date or
 * anything `Date` understands, e.g. ISO 8601 from a database). Sub-second precision is dropped, as HTTP-dates
 * carry whole seconds. `null`/`undefined` give `undefined`.
 *
 * @throws TypeError for values that are not a date.
 */
export function toHttpSeconds(
  value: Date | number | string | null | undefined,
): number | undefined {
  if (value === null || value === undefined) return undefined;
  let ms: number;
  if (value instanceof Date) ms = value.getTime();
  else if (typeof value === 'number') ms = value;
  else if (typeof value === 'string') {
    const s = parseHttpDate(value);
    ms = s !== undefined ? s * 1000 : Date.parse(value);
  } else ms = Number.NaN;
  if (!Number.isFinite(ms)) {
    throw new TypeError(
      `@steady/etag: a @LastModified() resolver must return a Date, epoch milliseconds, a date string, null or undefined; got ${describe(value)}`,
    );
  }
  return Math.floor(ms / 1000);
}

function toSeconds(
  year: number,
  month: string,
  day: number,
  hour: number,
  minute: number,
  second: number,
): number | undefined {
  if (hour > 23 || minute > 59 || second > 60 || day < 1) return undefined;
  const mon = MONTHS.indexOf(month) / 3;
  const ms = Date.UTC(year, mon, day, hour, minute, Math.min(second, 59));
  const d = new Date(ms);
  // Date.UTC rolls 31 Feb over into March: reject impossible days.
  if (d.getUTCDate() !== day || d.getUTCMonth() !== mon) return undefined;
  return ms / 1000;
}

/** RFC 9110 §5.6.7: a two-digit year more than 50 years in the future is the most recent past such year. */
function fullYear(twoDigits: number, nowMs: number): number {
  const now = new Date(nowMs).getUTCFullYear();
  let year = Math.floor(now / 100) * 100 + twoDigits;
  if (year > now + 50) year -= 100;
  return year;
}

function describe(value: unknown): string {
  if (typeof value === 'string')
    return JSON.stringify(value.length > 40 ? `${value.slice(0, 37)}...` : value);
  if (typeof value === 'number') return String(value);
  if (value instanceof Date) return 'an invalid Date';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
