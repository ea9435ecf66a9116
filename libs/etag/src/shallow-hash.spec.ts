import { createHash } from 'node:crypto';
import { HASH_IMPLEMENTATION, hashBody, shallowEtag } from './shallow-hash';

describe('shallow hashing', () => {
  it('uses crypto.hash where Node has it', () => {
    expect(HASH_IMPLEMENTATION).toBe('crypto.hash'); // Node >= 20.12, which the project requires
  });

  it('gives the same digest with crypto.hash and createHash, for strings (UTF-8) and bytes', () => {
    const text = JSON.stringify({ subject: 'Grüße ✉', n: 1 });
    const expected = createHash('sha1').update(Buffer.from(text, 'utf8')).digest('base64url');
    expect(hashBody(text, 'sha1')).toBe(expected);
    expect(hashBody(text, 'sha1', false)).toBe(expected);
    expect(hashBody(Buffer.from(text), 'sha1')).toBe(expected);
    expect(hashBody(new Uint8Array(Buffer.from(text)), 'sha1', false)).toBe(expected);
  });

  it('formats weak and strong tags with a base64url digest', () => {
    expect(shallowEtag('hello', true)).toMatch(/^W\/"[A-Za-z0-9_-]{27}"$/);
    expect(shallowEtag('hello', false)).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
    expect(shallowEtag('hello', false, 'sha256')).toMatch(/^"[A-Za-z0-9_-]{43}"$/);
    expect(shallowEtag('hello', false)).not.toBe(shallowEtag('hellO', false));
  });
});
