import { STATUS_CODES } from 'node:http';
import type { HeaderRecord, HeaderValue } from './cache-control';
import type { CachedResponseMeta } from './http-cache-store.interface';

/**
 * The compact, lossless Redis encoding of {@link CachedResponseMeta} (Redis schema v2). The value of the `m<id>`
 * field is a JSON array:
 *
 *   [status, headers, vary, responseTime, responseTime − requestTime, ⌈staleAt − responseTime⌉,
 *    ⌈deleteAt − responseTime⌉, statusText?]
 *
 * - `headers` is a flat list `name, value, name, value, …` in the stored order. A name is an index into
 *   {@link COMMON_HEADERS} or the lower-case name itself. A value is the string, the array of strings of a repeated
 *   field, or a number: for `content-length` the number `0` means "the body's length" (written only when the stored
 *   value is exactly that); for `date` / `last-modified` / `expires` a number `n` is the IMF-fixdate of
 *   `⌊responseTime / 1000⌋ + n` seconds (written only when that reproduces the stored string byte for byte).
 * - Times stay in exact milliseconds (RFC 9111 §4.2.3 age math uses request_time, response_time and the clock in
 *   ms); `requestTime`, `staleAt`, `deleteAt` are offsets from `responseTime`. `staleAt` / `deleteAt` round up to the
 *   next ms (the key's TTL is `⌈deleteAt⌉` anyway).
 * - `statusText` is omitted when it is Node's standard text for the status.
 * - The variant id is not stored: it is the field name after `m` / `b`.
 *
 * Changing this format or the header table means bumping `REDIS_SCHEMA_VERSION`.
 */

/** Header names stored as their index. Append-only within a schema version. */
export const COMMON_HEADERS: readonly string[] = [
  'content-type',
  'content-length',
  'cache-control',
  'etag',
  'date',
  'last-modified',
  'expires',
  'vary',
  'age',
  'content-encoding',
  'server',
  'set-cookie',
  'location',
  'content-location',
  'content-language',
  'access-control-allow-origin',
  'strict-transport-security',
  'x-content-type-options',
  'accept-ranges',
  'x-powered-by',
];

const HEADER_INDEX = new Map(COMMON_HEADERS.map((n, i) => [n, i]));
const DATE_HEADERS: ReadonlySet<string> = new Set(['date', 'last-modified', 'expires']);

type EncodedValue = string | string[] | number;

/** The `m<id>` field's value for `meta`, whose body is `bodyLength` bytes long. */
export function encodeMeta(meta: CachedResponseMeta, bodyLength: number): string {
  const t = meta.responseTime;
  const base = Math.floor(t / 1000);
  const headers: (number | EncodedValue)[] = [];
  for (const [name, value] of Object.entries(meta.headers)) {
    headers.push(HEADER_INDEX.get(name) ?? name, encodeValue(name, value, bodyLength, base));
  }
  const out: unknown[] = [
    meta.status,
    headers,
    meta.vary,
    t,
    t - meta.requestTime,
    Math.ceil(meta.staleAt - t),
    Math.ceil(meta.deleteAt - t),
  ];
  if (meta.statusText !== STATUS_CODES[meta.status]) out.push(meta.statusText);
  return JSON.stringify(out);
}

function encodeValue(
  name: string,
  value: HeaderValue,
  bodyLength: number,
  base: number,
): EncodedValue {
  if (typeof value !== 'string') return value;
  if (name === 'content-length') return value === String(bodyLength) ? 0 : value;
  if (DATE_HEADERS.has(name)) {
    const ms = Date.parse(value);
    if (Number.isFinite(ms) && ms % 1000 === 0 && new Date(ms).toUTCString() === value)
      return ms / 1000 - base;
  }
  return value;
}

/** Thrown for a field value that is not a v2 metadata array (the store drops such a variant). */
export class MetaDecodeError extends Error {}

/** Inverse of {@link encodeMeta}: `id` is the variant id from the field name, `bodyLength` the stored body's. */
export function decodeMeta(id: string, text: string, bodyLength: number): CachedResponseMeta {
  const a = JSON.parse(text) as unknown;
  if (!Array.isArray(a) || a.length < 7 || a.length > 8)
    throw new MetaDecodeError('not a v2 array');
  const [status, flat, vary, t, dq, ds, dd, statusText] = a as unknown[];
  if (
    typeof status !== 'number' ||
    !Array.isArray(flat) ||
    flat.length % 2 !== 0 ||
    !isVary(vary) ||
    typeof t !== 'number' ||
    typeof dq !== 'number' ||
    typeof ds !== 'number' ||
    typeof dd !== 'number' ||
    (statusText !== undefined && typeof statusText !== 'string')
  )
    throw new MetaDecodeError('bad v2 fields');
  const base = Math.floor(t / 1000);
  const headers: HeaderRecord = {};
  for (let i = 0; i < flat.length; i += 2) {
    const n = flat[i] as unknown;
    const name = typeof n === 'number' ? COMMON_HEADERS[n] : n;
    if (typeof name !== 'string') throw new MetaDecodeError('bad header name');
    headers[name] = decodeValue(name, flat[i + 1] as unknown, bodyLength, base);
  }
  return {
    id,
    status,
    statusText: statusText ?? STATUS_CODES[status] ?? '',
    headers,
    vary,
    requestTime: t - dq,
    responseTime: t,
    staleAt: t + ds,
    deleteAt: t + dd,
  };
}

function decodeValue(name: string, v: unknown, bodyLength: number, base: number): HeaderValue {
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && v.every((s) => typeof s === 'string')) return v as string[];
  if (typeof v === 'number') {
    if (name === 'content-length') return String(bodyLength);
    if (DATE_HEADERS.has(name)) return new Date((base + v) * 1000).toUTCString();
  }
  throw new MetaDecodeError(`bad value of ${name}`);
}

function isVary(v: unknown): v is Record<string, string | null> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  return Object.values(v).every((x) => x === null || typeof x === 'string');
}
