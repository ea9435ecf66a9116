import {
  ListMatch,
  matchEntityTagList,
  MAX_CONDITIONAL_FIELD_LENGTH,
  parseSingleEntityTag,
  toEntityTag,
  entityTag,
} from './entity-tag';

describe('toEntityTag', () => {
  it.each([
    [3, false, '"3"'],
    [3, true, 'W/"3"'],
    ['v3', false, '"v3"'],
    ['a1b2.c3-d4_e5', false, '"a1b2.c3-d4_e5"'],
    ['"ready"', true, '"ready"'], // a complete tag is used as is: its own strength wins
    ['W/"ready"', false, 'W/"ready"'],
  ])('%j (weak %s) -> %s', (value, weak, header) => {
    expect(toEntityTag(value, weak)?.header).toBe(header);
  });

  it('accepts bigints', () => {
    expect(toEntityTag(10n, false)?.header).toBe('"10"');
  });

  it('hashes versions that are not valid opaque tags', () => {
    for (const value of [
      'has space',
      'quote"inside',
      'ünïcödé→',
      'x'.repeat(201),
      'tab\there',
      '',
    ]) {
      const tag = toEntityTag(value, false);
      if (value === '') {
        expect(tag?.header).toBe('""'); // the empty opaque tag is valid
        continue;
      }
      expect(tag?.opaque).toMatch(/^[A-Za-z0-9_-]{27}$/);
      expect(parseSingleEntityTag(tag!.header)).toEqual(tag);
    }
    expect(toEntityTag('has space', false)).toEqual(toEntityTag('has space', false));
    expect(toEntityTag('has space', false)).not.toEqual(toEntityTag('has  space', false));
  });

  it('turns a Date into a tag and rejects an invalid one', () => {
    expect(toEntityTag(new Date(1_700_000_000_123), false)?.header).toBe(
      `"${(1_700_000_000_123).toString(36)}"`,
    );
    expect(() => toEntityTag(new Date('nope'), false)).toThrow(/invalid Date/);
  });

  it('gives undefined for null/undefined (no current representation)', () => {
    expect(toEntityTag(null, false)).toBeUndefined();
    expect(toEntityTag(undefined, true)).toBeUndefined();
  });

  it('rejects objects and functions with a clear message', () => {
    expect(() => toEntityTag({ v: 1 } as never, false)).toThrow(/must return a string, number/);
    expect(() => toEntityTag((() => 1) as never, false)).toThrow(/got a function/);
  });
});

describe('parseSingleEntityTag', () => {
  it.each([
    ['"abc"', { weak: false, opaque: 'abc' }],
    ['W/"abc"', { weak: true, opaque: 'abc' }],
    ['""', { weak: false, opaque: '' }],
  ])('%s', (value, expected) => {
    expect(parseSingleEntityTag(value)).toMatchObject({ ...expected, header: value });
  });
  it.each(['abc', 'w/"abc"', '"abc', 'abc"', '"a b"', '"a"b"', 'W/abc', '', 'W/', '"'])(
    'rejects %j',
    (value) => {
      expect(parseSingleEntityTag(value)).toBeUndefined();
    },
  );
});

describe('matchEntityTagList', () => {
  const strong = entityTag('v3', false);
  const weak = entityTag('v3', true);

  it('compares weakly for If-None-Match: W/ is ignored on both sides', () => {
    for (const field of ['"v3"', 'W/"v3"']) {
      expect(matchEntityTagList(field, strong, false)).toBe(ListMatch.Match);
      expect(matchEntityTagList(field, weak, false)).toBe(ListMatch.Match);
    }
  });

  it('compares strongly for If-Match: weak tags never match', () => {
    expect(matchEntityTagList('"v3"', strong, true)).toBe(ListMatch.Match);
    expect(matchEntityTagList('W/"v3"', strong, true)).toBe(ListMatch.None);
    expect(matchEntityTagList('"v3"', weak, true)).toBe(ListMatch.None);
    expect(matchEntityTagList('W/"v3"', weak, true)).toBe(ListMatch.None);
  });

  it('parses lists, with OWS and empty elements', () => {
    expect(matchEntityTagList('"a", "b" ,W/"v3"', strong, false)).toBe(ListMatch.Match);
    expect(matchEntityTagList(' , ,"a",,"v3" , ', strong, false)).toBe(ListMatch.Match);
    expect(matchEntityTagList('"a", "b"', strong, false)).toBe(ListMatch.None);
    expect(matchEntityTagList('"v", "v33", "3"', strong, false)).toBe(ListMatch.None);
  });

  it('recognises * only on its own', () => {
    expect(matchEntityTagList('*', strong, false)).toBe(ListMatch.Star);
    expect(matchEntityTagList(' * ', undefined, true)).toBe(ListMatch.Star);
    expect(matchEntityTagList('*, "v3"', strong, false)).toBe(
      ListMatch.Match | ListMatch.Malformed,
    );
    expect(matchEntityTagList('"a", *', strong, false)).toBe(ListMatch.None | ListMatch.Malformed);
  });

  it('lets malformed members match nothing and flags them', () => {
    const cases = ['v3', 'w/"v3"', '"v3', 'v3"', '"v 3"', '"v3" "v3"', '"v3"x', "'v3'", 'W/v3'];
    for (const field of cases) {
      expect(matchEntityTagList(field, strong, false)).toBe(ListMatch.None | ListMatch.Malformed);
    }
    // a good member after a bad one still counts
    expect(matchEntityTagList('v3, "v3"', strong, false)).toBe(
      ListMatch.Match | ListMatch.Malformed,
    );
    expect(matchEntityTagList('"a", "v3"', strong, false)).toBe(ListMatch.Match);
  });

  it('matches nothing without a current tag (except *)', () => {
    expect(matchEntityTagList('"v3"', undefined, false)).toBe(ListMatch.None);
    expect(matchEntityTagList('*', undefined, false)).toBe(ListMatch.Star);
  });

  it('stays linear on a huge list and refuses fields over 64 KiB', () => {
    const many = Array.from({ length: 5_000 }, (_, i) => `"t${i}"`).join(', ');
    const started = performance.now();
    expect(matchEntityTagList(`${many}, "v3"`, strong, false)).toBe(ListMatch.Match);
    expect(matchEntityTagList(many, strong, false)).toBe(ListMatch.None);
    expect(performance.now() - started).toBeLessThan(50);
    const huge = `"v3", ${'"x",'.repeat(MAX_CONDITIONAL_FIELD_LENGTH / 4)}`;
    expect(matchEntityTagList(huge, strong, false)).toBe(ListMatch.None | ListMatch.Malformed);
    // pathological input for a backtracking parser: no quadratic blow-up here
    const t0 = performance.now();
    matchEntityTagList('W/'.repeat(30_000), strong, false);
    matchEntityTagList('"'.repeat(60_000), strong, false);
    expect(performance.now() - t0).toBeLessThan(50);
  });
});
