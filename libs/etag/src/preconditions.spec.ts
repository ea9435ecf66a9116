import { entityTag } from './entity-tag';
import { formatHttpDate } from './http-date';
import {
  evaluatePreconditions,
  isConditional,
  PreconditionOutcome as O,
  type ConditionalHeader,
  type ResourceValidators,
} from './preconditions';

const LM = 1_700_000_000; // seconds
const before = formatHttpDate(LM - 60);
const at = formatHttpDate(LM);
const after = formatHttpDate(LM + 60);
const current: ResourceValidators = {
  exists: true,
  etag: entityTag('v2', false),
  lastModified: LM,
};
const weakCurrent: ResourceValidators = {
  exists: true,
  etag: entityTag('v2', true),
  lastModified: LM,
};
const missing: ResourceValidators = { exists: false };

/**
 * Hand-written rows, each citing the sentence of RFC 9110 it checks. The full cross product runs in the e2e
 * precedence matrix (test/etag-precedence.e2e-spec.ts) on both adapters.
 */
const rows: Array<[string, string, Record<string, string>, ResourceValidators, O]> = [
  // §13.1.1 If-Match: strong comparison; "*" true iff a current representation exists.
  ['If-Match matching (strong)', 'PUT', { 'if-match': '"v2"' }, current, O.Proceed],
  ['If-Match stale', 'PUT', { 'if-match': '"v1"' }, current, O.PreconditionFailed],
  [
    'If-Match with W/ never matches (strong comparison)',
    'PUT',
    { 'if-match': 'W/"v2"' },
    current,
    O.PreconditionFailed,
  ],
  [
    'If-Match vs a weak current tag fails',
    'PUT',
    { 'if-match': '"v2"' },
    weakCurrent,
    O.PreconditionFailed,
  ],
  [
    'If-Match list with the current tag',
    'DELETE',
    { 'if-match': '"v0", "v2"' },
    current,
    O.Proceed,
  ],
  ['If-Match * with a representation', 'PUT', { 'if-match': '*' }, current, O.Proceed],
  [
    'If-Match * without a representation',
    'PUT',
    { 'if-match': '*' },
    missing,
    O.PreconditionFailed,
  ],
  [
    'If-Match on GET fails with 412 too',
    'GET',
    { 'if-match': '"v1"' },
    current,
    O.PreconditionFailed,
  ],
  ['If-Match unquoted matches nothing', 'PUT', { 'if-match': 'v2' }, current, O.PreconditionFailed],
  // §13.1.4 If-Unmodified-Since: only without If-Match; ignored for an invalid date or without a date.
  ['IUS after the change passes', 'PUT', { 'if-unmodified-since': after }, current, O.Proceed],
  ['IUS equal to the change passes', 'PUT', { 'if-unmodified-since': at }, current, O.Proceed],
  [
    'IUS before the change fails',
    'PUT',
    { 'if-unmodified-since': before },
    current,
    O.PreconditionFailed,
  ],
  [
    'IUS is ignored when If-Match is present (§13.2.2 step 2)',
    'PUT',
    { 'if-match': '"v2"', 'if-unmodified-since': before },
    current,
    O.Proceed,
  ],
  [
    'IUS with a garbage date is ignored',
    'PUT',
    { 'if-unmodified-since': 'yesterday' },
    current,
    O.Proceed,
  ],
  [
    'IUS with a list of dates is ignored',
    'PUT',
    { 'if-unmodified-since': `${before}, ${after}` },
    current,
    O.Proceed,
  ],
  [
    'IUS without a modification date is ignored',
    'PUT',
    { 'if-unmodified-since': before },
    { exists: true, etag: entityTag('v2', false) },
    O.Proceed,
  ],
  // §13.1.2 If-None-Match: weak comparison; "*" false iff a representation exists; 304 for GET/HEAD, else 412.
  ['INM matching on GET', 'GET', { 'if-none-match': '"v2"' }, current, O.NotModified],
  ['INM matching on HEAD', 'HEAD', { 'if-none-match': '"v2"' }, current, O.NotModified],
  [
    'INM weak form matches (weak comparison)',
    'GET',
    { 'if-none-match': 'W/"v2"' },
    current,
    O.NotModified,
  ],
  [
    'INM matching a weak current tag',
    'GET',
    { 'if-none-match': '"v2"' },
    weakCurrent,
    O.NotModified,
  ],
  ['INM list with the tag', 'GET', { 'if-none-match': '"zzz", W/"v2"' }, current, O.NotModified],
  ['INM stale on GET', 'GET', { 'if-none-match': '"v1"' }, current, O.Proceed],
  [
    'INM matching on POST is 412',
    'POST',
    { 'if-none-match': '"v2"' },
    current,
    O.PreconditionFailed,
  ],
  [
    'INM * on PUT with a representation is 412 (create-only)',
    'PUT',
    { 'if-none-match': '*' },
    current,
    O.PreconditionFailed,
  ],
  [
    'INM * on PUT without a representation passes',
    'PUT',
    { 'if-none-match': '*' },
    missing,
    O.Proceed,
  ],
  [
    'INM * on GET with a representation is 304',
    'GET',
    { 'if-none-match': '*' },
    current,
    O.NotModified,
  ],
  ['INM unquoted matches nothing', 'GET', { 'if-none-match': 'v2' }, current, O.Proceed],
  // §13.1.3 If-Modified-Since: GET/HEAD only, only without If-None-Match.
  ['IMS at the change: not modified', 'GET', { 'if-modified-since': at }, current, O.NotModified],
  [
    'IMS after the change: not modified',
    'HEAD',
    { 'if-modified-since': after },
    current,
    O.NotModified,
  ],
  ['IMS before the change: modified', 'GET', { 'if-modified-since': before }, current, O.Proceed],
  ['IMS is ignored on POST', 'POST', { 'if-modified-since': after }, current, O.Proceed],
  [
    'IMS is ignored when INM is present (§13.2.2 step 4)',
    'GET',
    { 'if-none-match': '"v1"', 'if-modified-since': after },
    current,
    O.Proceed,
  ],
  ['IMS with garbage is ignored', 'GET', { 'if-modified-since': '1700000000' }, current, O.Proceed],
  // §13.2.2 order: If-Match before If-None-Match.
  [
    'If-Match fails before INM is looked at',
    'GET',
    { 'if-match': '"v1"', 'if-none-match': '"v2"' },
    current,
    O.PreconditionFailed,
  ],
  [
    'If-Match passes, then INM gives 304',
    'GET',
    { 'if-match': '"v2"', 'if-none-match': '"v2"' },
    current,
    O.NotModified,
  ],
  [
    'IUS fails before INM is looked at',
    'GET',
    { 'if-unmodified-since': before, 'if-none-match': '"v2"' },
    current,
    O.PreconditionFailed,
  ],
  // §13.2.1: CONNECT, OPTIONS, TRACE ignore preconditions.
  ['OPTIONS ignores If-Match', 'OPTIONS', { 'if-match': '"nope"' }, current, O.Proceed],
  // Empty field values count as absent.
  ['empty If-Match is absent', 'PUT', { 'if-match': '  ' }, current, O.Proceed],
];

describe('evaluatePreconditions (RFC 9110 §13.2.2)', () => {
  it.each(rows)('%s', (_name, method, headers, resource, expected) => {
    expect(evaluatePreconditions(method, headers, resource)).toBe(expected);
  });

  it('request Cache-Control: no-cache does not override If-None-Match by default', () => {
    const headers = { 'if-none-match': '"v2"', 'cache-control': 'no-cache', pragma: 'no-cache' };
    expect(evaluatePreconditions('GET', headers, current)).toBe(O.NotModified);
    expect(evaluatePreconditions('GET', headers, current, { honorRequestNoCache: true })).toBe(
      O.Proceed,
    );
    const ims = { 'if-modified-since': at, 'cache-control': 'max-age=0, no-cache' };
    expect(evaluatePreconditions('GET', ims, current, { honorRequestNoCache: true })).toBe(
      O.Proceed,
    );
    // it never turns a 412 into a success
    expect(
      evaluatePreconditions('GET', { 'if-match': '"v1"', 'cache-control': 'no-cache' }, current, {
        honorRequestNoCache: true,
      }),
    ).toBe(O.PreconditionFailed);
  });

  it('reports malformed headers, once each', () => {
    const seen: ConditionalHeader[] = [];
    evaluatePreconditions(
      'GET',
      { 'if-match': 'v2, "v2"', 'if-none-match': 'garbage', 'if-modified-since': 'soon' },
      current,
      { onMalformed: (h) => seen.push(h) },
    );
    expect(seen).toEqual(['if-match', 'if-none-match']); // IMS is not looked at when INM is present
    evaluatePreconditions('PUT', { 'if-unmodified-since': 'nope' }, current, {
      onMalformed: (h) => seen.push(h),
    });
    evaluatePreconditions('GET', { 'if-modified-since': 'nope' }, current, {
      onMalformed: (h) => seen.push(h),
    });
    expect(seen).toEqual(['if-match', 'if-none-match', 'if-unmodified-since', 'if-modified-since']);
  });

  it('joins repeated list headers as Node does', () => {
    expect(
      evaluatePreconditions('GET', { 'if-none-match': ['"a"', '"v2"'] } as never, current),
    ).toBe(O.NotModified);
  });
});

describe('isConditional', () => {
  it('is true with any of the four headers, false with none or empty ones', () => {
    expect(isConditional({})).toBe(false);
    expect(isConditional({ 'if-none-match': '' })).toBe(false);
    expect(isConditional({ 'if-range': '"a"' })).toBe(false);
    for (const h of ['if-match', 'if-none-match', 'if-modified-since', 'if-unmodified-since']) {
      expect(isConditional({ [h]: 'x' })).toBe(true);
    }
  });
});
