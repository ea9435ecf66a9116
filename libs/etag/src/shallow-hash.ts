import * as crypto from 'node:crypto';

type BinaryLike = string | NodeJS.ArrayBufferView;
type OneShotHash = (algorithm: string, data: BinaryLike, outputEncoding: 'base64url') => string;

/**
 * `crypto.hash()` (Node ≥ 20.12 / 21.7): a one-shot digest without a `Hash` object — about 2.5× faster than
 * `createHash().update().digest()` for small bodies. Absent on older Node versions.
 */
const oneShot: OneShotHash | undefined =
  typeof (crypto as { hash?: unknown }).hash === 'function'
    ? ((crypto as unknown as { hash: OneShotHash }).hash as OneShotHash)
    : undefined;

/** Which implementation {@link hashBody} uses on this Node version. @publicApi */
export const HASH_IMPLEMENTATION: 'crypto.hash' | 'createHash' = oneShot
  ? 'crypto.hash'
  : 'createHash';

/**
 * Digest of a response body, base64url (no padding, so every character is a valid opaque-tag character).
 * Strings are hashed as UTF-8, as they are sent.
 */
export function hashBody(body: BinaryLike, algorithm: string, useOneShot = true): string {
  if (useOneShot && oneShot !== undefined) return oneShot(algorithm, body, 'base64url');
  const h = crypto.createHash(algorithm);
  if (typeof body === 'string') h.update(body, 'utf8');
  else h.update(body);
  return h.digest('base64url');
}

/**
 * The shallow entity tag of a serialized body: `W/"<digest>"` (weak) or `"<digest>"` (strong).
 *
 * @publicApi
 */
export function shallowEtag(body: BinaryLike, weak: boolean, algorithm = 'sha1'): string {
  const digest = hashBody(body, algorithm);
  return weak ? `W/"${digest}"` : `"${digest}"`;
}

/** Byte length of a body as sent (UTF-8 for strings). */
export function bodyByteLength(body: BinaryLike): number {
  return typeof body === 'string' ? Buffer.byteLength(body, 'utf8') : body.byteLength;
}
