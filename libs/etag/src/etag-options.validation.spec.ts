import { SteadyOptionsError } from '@steady/core';
import { resolveEtagOptions } from './etag-options.validation';

describe('resolveEtagOptions', () => {
  it('has a default for everything', () => {
    expect(resolveEtagOptions()).toEqual({
      shallow: true,
      weak: true,
      algorithm: 'sha1',
      maxBodyBytes: Infinity,
      cacheControl: undefined,
      honorRequestNoCache: false,
      requireIfMatch: false,
      revalidateAfterWrite: true,
      replaceExpressEtag: true,
      skipOpsEndpoints: true,
      savedBytesCacheSize: 10_000,
    });
  });

  it('formats cacheControl and keeps the rest', () => {
    const o = resolveEtagOptions({
      cacheControl: { private: true, maxAge: 0, mustRevalidate: true },
      algorithm: 'sha256',
      maxBodyBytes: 1024,
      weak: false,
    });
    expect(o).toMatchObject({
      cacheControl: 'private, must-revalidate, max-age=0',
      algorithm: 'sha256',
      maxBodyBytes: 1024,
      weak: false,
    });
  });

  it.each([
    [{ algorithm: 'sha999' }, 'invalid option "algorithm"'],
    [{ maxBodyBytes: 0 }, 'invalid option "maxBodyBytes": expected an integer >= 1 bytes'],
    [{ maxBodyBytes: 1.5 }, 'invalid option "maxBodyBytes"'],
    [{ weak: 'yes' }, 'invalid option "weak": expected true or false'],
    [{ cacheControl: { maxAge: -5 } }, 'invalid option "cacheControl.maxAge"'],
    [{ savedBytesCacheSize: -1 }, 'invalid option "savedBytesCacheSize"'],
    [
      { honorRequestNocache: true },
      'invalid option "honorRequestNocache": expected a known option',
    ],
  ])('rejects %j', (options, message) => {
    let error: unknown;
    try {
      resolveEtagOptions(options as never);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(SteadyOptionsError);
    expect((error as Error).message).toContain(`@steady/etag: ${message}`);
  });
});
