import { createHash } from 'node:crypto';

/**
 * An entity tag (RFC 9110 §8.8.3): an opaque string, strong or weak. `header` is the field value as sent in
 * `ETag`, e.g. `"v3"` or `W/"v3"`.
 *
 * @publicApi
 */
export interface EntityTag {
  readonly weak: boolean;
  /** The characters between the quotes. */
  readonly opaque: string;
  /** `"opaque"` or `W/"opaque"`. */
  readonly header: string;
}

/** A value a deep `@ETag()` resolver may return; `null`/`undefined` mean "no current representation". */
export type EtagValue = string | number | bigint | Date | null | undefined;

/** Longest field value of a conditional header that is parsed; anything longer is treated as malformed. */
export const MAX_CONDITIONAL_FIELD_LENGTH = 64 * 1024;
/** Longest version string used verbatim as an opaque tag; longer ones are hashed. */
const MAX_VERBATIM_OPAQUE = 200;

/**
 * Result of matching a list header (If-Match / If-None-Match) against the current tag: `None`, `Match` or
 * `Star`, with the `Malformed` bit set when a malformed member was seen (`result & ListMatch.Outcome` is the
 * outcome).
 */
export const enum ListMatch {
  /** No member matched (also: an empty list). */
  None = 0,
  /** A member matched the current tag under the requested comparison. */
  Match = 1,
  /** The field value is exactly `*`. */
  Star = 2,
  /** Mask of the outcome bits. */
  Outcome = 3,
  /** Flag: at least one member was malformed (or the field was too long to parse). */
  Malformed = 4,
}

/** Builds an entity tag from an opaque string that is known to be valid. */
export function entityTag(opaque: string, weak: boolean): EntityTag {
  return { weak, opaque, header: weak ? `W/"${opaque}"` : `"${opaque}"` };
}

/**
 * The entity tag of a deep validator value: a version number, a version string, an `updatedAt` date, or an
 * entity tag the resolver built itself (`"abc"` / `W/"abc"`, used as is). Version strings that are not valid
 * opaque tags (quotes, spaces, controls, non-Latin-1, more than 200 characters) are hashed (SHA-1, base64url),
 * so any string is safe. Returns `undefined` for `null`/`undefined` (no current representation).
 *
 * @throws TypeError for any other type (objects, functions, symbols), naming the value's type.
 */
export function toEntityTag(value: EtagValue, weak: boolean): EntityTag | undefined {
  switch (typeof value) {
    case 'undefined':
      return undefined;
    case 'number':
    case 'bigint':
      return entityTag(String(value), weak);
    case 'string': {
      const parsed = parseSingleEntityTag(value);
      if (parsed) return parsed;
      return entityTag(isVerbatimOpaque(value) ? value : hashOpaque(value), weak);
    }
    case 'object':
      if (value === null) return undefined;
      if (value instanceof Date) {
        const t = value.getTime();
        if (Number.isNaN(t))
          throw new TypeError('@steady/etag: the @ETag() resolver returned an invalid Date');
        return entityTag(t.toString(36), weak);
      }
  }
  throw new TypeError(
    `@steady/etag: an @ETag() resolver must return a string, number, bigint, Date, null or undefined; got ${
      typeof value === 'object' ? 'an object' : `a ${typeof value}`
    }`,
  );
}

/** Parses a field value holding exactly one entity tag (`"x"` or `W/"x"`), e.g. an `ETag` header. */
export function parseSingleEntityTag(value: string): EntityTag | undefined {
  let i = 0;
  let weak = false;
  if (value.startsWith('W/')) {
    weak = true;
    i = 2;
  }
  if (value.charCodeAt(i) !== 0x22 /* " */ || value.length < i + 2) return undefined;
  const end = value.length - 1;
  if (value.charCodeAt(end) !== 0x22) return undefined;
  for (let j = i + 1; j < end; j++) {
    if (!isEtagc(value.charCodeAt(j))) return undefined;
  }
  return { weak, opaque: value.slice(i + 1, end), header: value };
}

/**
 * Matches an `If-Match` / `If-None-Match` field value (RFC 9110 §13.1.1-2: `"*" / #entity-tag`) against the
 * current tag, without allocating. `strong` selects the comparison (§8.8.3.2): strong for If-Match (both tags
 * strong and the opaque tags identical), weak for If-None-Match (opaque tags identical).
 *
 * Malformed members — unquoted tags, a lower-case `w/`, bad characters, a missing closing quote, `*` inside a
 * list — match nothing and set the `Malformed` bit of the result. A field longer than 64 KiB is not parsed
 * (malformed, no match). Empty list elements are allowed (§5.6.1).
 */
export function matchEntityTagList(
  field: string,
  current: EntityTag | undefined,
  strong: boolean,
): number {
  const n = field.length;
  if (n > MAX_CONDITIONAL_FIELD_LENGTH) return ListMatch.None | ListMatch.Malformed;
  let i = skipOws(field, 0, n);
  if (i < n && field.charCodeAt(i) === 0x2a /* * */ && skipOws(field, i + 1, n) === n) {
    return ListMatch.Star;
  }
  let malformed = false;
  const opaque = current?.opaque;
  const currentWeak = current?.weak ?? false;
  while (i < n) {
    const c = field.charCodeAt(i);
    if (c === 0x2c /* , */ || c === 0x20 || c === 0x09) {
      i++;
      continue;
    }
    let weak = false;
    if (c === 0x57 /* W */ && field.charCodeAt(i + 1) === 0x2f /* / */) {
      weak = true;
      i += 2;
    }
    if (field.charCodeAt(i) !== 0x22 /* " */) {
      malformed = true;
      i = nextComma(field, i, n);
      continue;
    }
    const start = i + 1;
    let j = start;
    while (j < n && isEtagc(field.charCodeAt(j))) j++;
    if (j >= n || field.charCodeAt(j) !== 0x22) {
      malformed = true;
      i = nextComma(field, j, n);
      continue;
    }
    const after = skipOws(field, j + 1, n);
    if (after < n && field.charCodeAt(after) !== 0x2c) {
      malformed = true; // e.g. `"a" "b"` or `"a"x`
      i = nextComma(field, after, n);
      continue;
    }
    if (
      opaque !== undefined &&
      j - start === opaque.length &&
      field.startsWith(opaque, start) &&
      (!strong || (!weak && !currentWeak))
    ) {
      return malformed ? ListMatch.Match | ListMatch.Malformed : ListMatch.Match;
    }
    i = after;
  }
  return malformed ? ListMatch.None | ListMatch.Malformed : ListMatch.None;
}

/** SHA-1, base64url: a 27-character opaque tag for any string. */
function hashOpaque(value: string): string {
  return createHash('sha1').update(value, 'utf8').digest('base64url');
}

function isVerbatimOpaque(value: string): boolean {
  if (value.length > MAX_VERBATIM_OPAQUE) return false;
  for (let i = 0; i < value.length; i++) {
    if (!isEtagc(value.charCodeAt(i))) return false;
  }
  return true;
}

/** etagc = %x21 / %x23-7E / obs-text (%x80-FF). */
function isEtagc(c: number): boolean {
  return c === 0x21 || (c >= 0x23 && c <= 0x7e) || (c >= 0x80 && c <= 0xff);
}

function skipOws(s: string, i: number, n: number): number {
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09) break;
    i++;
  }
  return i;
}

/** Index just past the next comma at or after `i` (or `n`). */
function nextComma(s: string, i: number, n: number): number {
  const k = s.indexOf(',', i);
  return k === -1 || k >= n ? n : k + 1;
}
