import { formatCacheControl } from './cache-control';

describe('formatCacheControl', () => {
  it('formats directives in a stable order', () => {
    expect(formatCacheControl({ maxAge: 60, mustRevalidate: true })).toBe(
      'must-revalidate, max-age=60',
    );
    expect(formatCacheControl({ private: true, noCache: true })).toBe('private, no-cache');
    expect(
      formatCacheControl({
        public: true,
        sMaxAge: 300,
        maxAge: 0,
        staleWhileRevalidate: 30,
        immutable: false,
      }),
    ).toBe('public, max-age=0, s-maxage=300, stale-while-revalidate=30');
    expect(formatCacheControl('no-store')).toBe('no-store');
  });

  it.each([
    [{ maxAge: -1 }, /cacheControl.maxAge.*an integer/],
    [{ maxAge: 1.5 }, /cacheControl.maxAge/],
    [{ maxAge: '60' }, /cacheControl.maxAge/],
    [{ noStore: 'yes' }, /cacheControl.noStore.*true or false/],
    [{ maxage: 60 }, /cacheControl.maxage.*a known directive/],
    [{ public: true, private: true }, /not both public and private/],
    [{}, /at least one directive/],
    ['no-store\r\nSet-Cookie: x=1', /visible ASCII/],
    [null, /directives or a string/],
  ])('rejects %j', (value, message) => {
    expect(() => formatCacheControl(value as never)).toThrow(message);
  });
});
