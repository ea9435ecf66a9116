import {
  parseAge,
  parseCacheControl,
  parseHttpDate,
  parseVary,
  splitList,
  deltaSeconds,
} from './cache-control';

describe('parseAge (RFC 9111 §5.1)', () => {
  it.each([
    ['3600', 3600],
    ['0', 0],
    ['7200, 0', 7200],
    ['0, 7200', 0],
    [['7200', '0'], 7200],
    [['0', '7200'], 0],
    ['2147483648', 2 ** 31],
    ['2147483649', 2 ** 31],
  ] as const)('%j → %d', (value, expected) => {
    expect(parseAge(value as string | string[])).toBe(expected);
  });

  it.each(['abc', '-7200', '7200.0', '7200;foo=bar', '', ' , '])('ignores %j', (value) => {
    expect(parseAge(value)).toBeUndefined();
  });
});

describe('parseCacheControl', () => {
  it('is case-insensitive, keeps the first of a repeated directive, unquotes arguments', () => {
    const cc = parseCacheControl('Max-Age=60, max-age=5, no-cache="Set-Cookie, X-Foo", public');
    expect(cc.get('max-age')).toBe('60');
    expect(cc.get('no-cache')).toBe('Set-Cookie, X-Foo');
    expect(cc.get('public')).toBe(true);
  });

  it('treats a non-integer delta-seconds as invalid (NaN), not as absent', () => {
    expect(deltaSeconds(parseCacheControl('max-age="3600"'), 'max-age')).toBe(3600);
    expect(deltaSeconds(parseCacheControl("max-age='3600'"), 'max-age')).toBeNaN();
    expect(deltaSeconds(parseCacheControl('max-age=-1'), 'max-age')).toBeNaN();
    expect(deltaSeconds(parseCacheControl('s-maxage=1'), 'max-age')).toBeUndefined();
  });

  it('splits on commas outside quotes only', () => {
    expect(splitList('a, b="x, y", c')).toEqual(['a', 'b="x, y"', 'c']);
  });
});

describe('parseVary', () => {
  it('splits repeated Vary lines on commas too (undici#5582), lower-cases and de-duplicates', () => {
    expect(parseVary(['Accept-Encoding', 'X-User-Id, accept-encoding'])).toEqual([
      'accept-encoding',
      'x-user-id',
    ]);
    expect(parseVary('*')).toEqual(['*']);
    expect(parseVary(undefined)).toEqual([]);
  });
});

describe('parseHttpDate', () => {
  it('reads the three RFC 9110 formats', () => {
    const t = Date.UTC(1994, 10, 6, 8, 49, 37);
    expect(parseHttpDate('Sun, 06 Nov 1994 08:49:37 GMT')).toBe(t);
    expect(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT')).toBe(t);
    expect(parseHttpDate('Sun Nov  6 08:49:37 1994')).toBe(t);
  });

  it('rejects what is not an HTTP-date (e.g. "0", an invalid Expires = already expired)', () => {
    expect(parseHttpDate('0')).toBeUndefined();
    expect(parseHttpDate('Sun, 06 Nov 1994 25:49:37 GMT')).toBeUndefined();
    expect(parseHttpDate('yesterday')).toBeUndefined();
  });
});
