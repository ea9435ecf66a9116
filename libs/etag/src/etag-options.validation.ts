import { OptionValidator } from '@steady/core';
import { getHashes } from 'node:crypto';
import { formatCacheControl } from './cache-control';
import { ETAG_MODULE_NAME } from './etag.constants';
import type { EtagModuleOptions, ResolvedEtagOptions } from './etag-options.interface';

const KNOWN: readonly (keyof EtagModuleOptions)[] = [
  'shallow',
  'weak',
  'algorithm',
  'maxBodyBytes',
  'cacheControl',
  'honorRequestNoCache',
  'requireIfMatch',
  'revalidateAfterWrite',
  'replaceExpressEtag',
  'skipOpsEndpoints',
  'savedBytesCacheSize',
];

/** Applies defaults and validates; throws a `SteadyOptionsError` naming the first bad option. */
export function resolveEtagOptions(options: EtagModuleOptions = {}): ResolvedEtagOptions {
  const v = new OptionValidator(ETAG_MODULE_NAME);
  v.knownKeys(options, KNOWN);
  const hashes = getHashes();
  const algorithm = v.string('algorithm', options.algorithm, 'sha1');
  v.check(
    hashes.includes(algorithm),
    'algorithm',
    'a digest this Node supports (crypto.getHashes()), e.g. "sha1", "sha256"',
    algorithm,
  );
  return {
    shallow: v.boolean('shallow', options.shallow, true),
    weak: v.boolean('weak', options.weak, true),
    algorithm,
    maxBodyBytes: resolveMaxBodyBytes(v, 'maxBodyBytes', options.maxBodyBytes) ?? Infinity,
    cacheControl:
      options.cacheControl === undefined || options.cacheControl === false
        ? undefined
        : formatCacheControl(options.cacheControl, 'cacheControl'),
    honorRequestNoCache: v.boolean('honorRequestNoCache', options.honorRequestNoCache, false),
    requireIfMatch: v.boolean('requireIfMatch', options.requireIfMatch, false),
    revalidateAfterWrite: v.boolean('revalidateAfterWrite', options.revalidateAfterWrite, true),
    replaceExpressEtag: v.boolean('replaceExpressEtag', options.replaceExpressEtag, true),
    skipOpsEndpoints: v.boolean('skipOpsEndpoints', options.skipOpsEndpoints, true),
    savedBytesCacheSize: v.number('savedBytesCacheSize', options.savedBytesCacheSize, 10_000, {
      min: 0,
      max: 10_000_000,
      integer: true,
    }),
  };
}

/** `maxBodyBytes` of the module or of `@ShallowETag()`: a positive integer, or undefined. */
export function resolveMaxBodyBytes(
  v: OptionValidator,
  option: string,
  value: unknown,
): number | undefined {
  return v.optionalNumber(option, value, { min: 1, integer: true, unit: 'bytes' });
}
