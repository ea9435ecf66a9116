import { formatHttpDate, parseHttpDate, toHttpSeconds } from './http-date';

const T = Date.UTC(1994, 10, 6, 8, 49, 37) / 1000;

describe('parseHttpDate', () => {
  it.each([
    ['Sun, 06 Nov 1994 08:49:37 GMT', 'IMF-fixdate'],
    ['Sunday, 06-Nov-94 08:49:37 GMT', 'rfc850-date'],
    ['Sun Nov  6 08:49:37 1994', 'asctime-date'],
  ])('accepts %s (%s)', (value) => {
    expect(parseHttpDate(value, Date.UTC(2026, 0, 1))).toBe(T);
  });

  it('reads a two-digit year as the most recent past one when it would be > 50 years ahead', () => {
    const now = Date.UTC(2026, 0, 1);
    // 2070 is 44 years ahead: kept; 2077 is 51 years ahead: 1977.
    expect(parseHttpDate('Tuesday, 01-Jan-70 00:00:00 GMT', now)).toBe(Date.UTC(2070, 0, 1) / 1000);
    expect(parseHttpDate('Saturday, 01-Jan-77 00:00:00 GMT', now)).toBe(
      Date.UTC(1977, 0, 1) / 1000,
    );
    expect(parseHttpDate('Wednesday, 01-Jan-30 00:00:00 GMT', now)).toBe(
      Date.UTC(2030, 0, 1) / 1000,
    );
  });

  it.each([
    'yesterday',
    '0',
    '1700000000',
    '2024-01-01T00:00:00Z',
    'Sun, 06 Nov 1994 08:49:37 UTC',
    'Sun, 6 Nov 1994 08:49:37 GMT',
    'sun, 06 nov 1994 08:49:37 gmt',
    'Sun, 31 Feb 1994 08:49:37 GMT',
    'Sun, 06 Nov 1994 24:00:00 GMT',
    'Sun, 06 Nov 1994 08:60:00 GMT',
    'Sun, 00 Nov 1994 08:49:37 GMT',
    'Sun, 06 Nov 1994 08:49:37 GMT, Mon, 07 Nov 1994 08:49:37 GMT',
    ' Sun, 06 Nov 1994 08:49:37 GMT',
    '',
    'x'.repeat(10_000),
  ])('rejects %j', (value) => {
    expect(parseHttpDate(value)).toBeUndefined();
  });

  it('round-trips with formatHttpDate', () => {
    expect(formatHttpDate(T)).toBe('Sun, 06 Nov 1994 08:49:37 GMT');
    expect(parseHttpDate(formatHttpDate(1_764_000_000))).toBe(1_764_000_000);
  });
});

describe('toHttpSeconds', () => {
  it('accepts Dates, epoch ms and date strings, dropping milliseconds', () => {
    expect(toHttpSeconds(new Date(T * 1000 + 999))).toBe(T);
    expect(toHttpSeconds(T * 1000 + 5)).toBe(T);
    expect(toHttpSeconds('Sun, 06 Nov 1994 08:49:37 GMT')).toBe(T);
    expect(toHttpSeconds('1994-11-06T08:49:37.500Z')).toBe(T);
    expect(toHttpSeconds(null)).toBeUndefined();
    expect(toHttpSeconds(undefined)).toBeUndefined();
  });
  it('rejects what is not a date, naming it', () => {
    expect(() => toHttpSeconds('soon')).toThrow(/got "soon"/);
    expect(() => toHttpSeconds(Number.NaN)).toThrow(/@LastModified/);
    expect(() => toHttpSeconds(new Date('x'))).toThrow(/invalid Date/);
  });
});
