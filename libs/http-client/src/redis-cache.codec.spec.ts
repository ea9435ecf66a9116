import type { CachedResponseMeta } from './http-cache-store.interface';
import { decodeMeta, encodeMeta, MetaDecodeError } from './redis-cache.codec';

const T = 1_795_000_000_123; // a response time with a ms part

function meta(over: Partial<CachedResponseMeta> = {}): CachedResponseMeta {
  return {
    id: '-',
    status: 200,
    statusText: 'OK',
    headers: {
      'content-type': 'application/json',
      'content-length': '4096',
      'cache-control': 'max-age=3600',
      etag: '"b1"',
      date: new Date(Math.floor(T / 1000) * 1000).toUTCString(),
    },
    vary: {},
    requestTime: T - 3,
    responseTime: T,
    staleAt: T + 3_599_997,
    deleteAt: T + 3_899_997,
    ...over,
  };
}

const roundTrip = (m: CachedResponseMeta, bodyLength: number) =>
  decodeMeta(m.id, encodeMeta(m, bodyLength), bodyLength);

describe('Redis metadata codec (schema v2)', () => {
  it('round-trips the bench-like response exactly, header order included, in well under 200 bytes', () => {
    const m = meta();
    const text = encodeMeta(m, 4096);
    const back = decodeMeta('-', text, 4096);
    expect(back).toEqual(m);
    expect(Object.keys(back.headers)).toEqual(Object.keys(m.headers));
    expect(Buffer.byteLength(text)).toBeLessThan(100);
    // v1 stored JSON.stringify(meta): the compact form is less than a third of it
    expect(Buffer.byteLength(text) * 3).toBeLessThan(Buffer.byteLength(JSON.stringify(m)));
  });

  it('keeps a Content-Length that differs from the stored body, and restores a derived one from the body', () => {
    const m = meta();
    expect(encodeMeta(m, 4096)).not.toContain('4096');
    expect(roundTrip(m, 4096).headers['content-length']).toBe('4096');
    const other = meta({ headers: { 'content-length': '10' } });
    expect(encodeMeta(other, 4096)).toContain('"10"');
    expect(roundTrip(other, 4096).headers['content-length']).toBe('10');
  });

  it('stores dates as second offsets only when they reproduce the stored string byte for byte', () => {
    const odd = {
      date: 'Sunday, 06-Nov-94 08:49:37 GMT', // RFC 850 form: parses, but is not IMF-fixdate
      expires: '0',
      'last-modified': 'Tue, 01 Jan 2030 00:00:00 GMT',
    };
    const m = meta({ headers: odd });
    const text = encodeMeta(m, 0);
    expect(text).toContain('Sunday, 06-Nov-94 08:49:37 GMT');
    expect(text).toContain('"0"');
    expect(text).not.toContain('2030');
    expect(roundTrip(m, 0).headers).toEqual(odd);
  });

  it('keeps repeated fields as arrays, unknown names, non-standard status texts, Vary values and fractional times', () => {
    const m = meta({
      id: 'AbCdEfGhIjK',
      status: 299,
      statusText: 'Whatever',
      headers: { 'set-cookie': ['a=1', 'b=2'], 'x-custom': 'v', age: '5', expires: ['x'] },
      vary: { 'accept-language': 'en', cookie: null },
      requestTime: T - 0.5,
      responseTime: T + 0.25,
      staleAt: T + 1000.75,
      deleteAt: T + 2000.25,
    });
    const back = roundTrip(m, 7);
    expect(back).toEqual({ ...m, staleAt: T + 1001.25 }); // offsets rounded up to whole ms (2000 already is)
    expect(roundTrip(meta({ status: 404, statusText: 'Not Found' }), 1).statusText).toBe(
      'Not Found',
    );
    expect(encodeMeta(meta({ status: 404, statusText: 'Not Found' }), 1)).not.toContain(
      'Not Found',
    );
    expect(roundTrip(meta({ statusText: '' }), 1).statusText).toBe('');
  });

  it('rejects what is not a v2 array (a v1 object, truncated or mistyped data)', () => {
    expect(() => decodeMeta('-', JSON.stringify(meta()), 1)).toThrow(MetaDecodeError);
    expect(() => decodeMeta('-', '[200,[],{},1,0,0]', 1)).toThrow(MetaDecodeError);
    expect(() => decodeMeta('-', '[200,[0],{},1,0,0,0]', 1)).toThrow(MetaDecodeError);
    expect(() => decodeMeta('-', '[200,[99,"x"],{},1,0,0,0]', 1)).toThrow(MetaDecodeError);
    expect(() => decodeMeta('-', '[200,["etag",5],{},1,0,0,0]', 1)).toThrow(MetaDecodeError);
    expect(() => decodeMeta('-', '[200,[],{"a":1},1,0,0,0]', 1)).toThrow(MetaDecodeError);
    expect(() => decodeMeta('-', '[200,[', 1)).toThrow(SyntaxError);
  });
});
