import { describe, expect, it } from 'vitest';
import { formatNumber, formatSpread, formatTable } from './table';

describe('table', () => {
  it('aligns columns, left or right, with a dash rule under the header', () => {
    const out = formatTable(
      [{ header: 'name' }, { header: 'n', align: 'right' }, { header: 'note' }],
      [
        ['express', '12', 'a'],
        ['fastify', '3456', ''],
      ],
    );
    expect(out.split('\n')).toEqual([
      'name        n  note',
      '-------  ----  ----',
      'express    12  a',
      'fastify  3456',
    ]);
  });

  it('refuses ragged rows', () => {
    expect(() => formatTable([{ header: 'a' }], [['1', '2']])).toThrow(/row 0 has 2 cells/);
  });

  it('formats numbers and spreads', () => {
    expect(formatNumber(1.005, 1)).toBe('1.0');
    expect(formatNumber(NaN)).toBe('-');
    expect(formatNumber(undefined)).toBe('-');
    expect(formatSpread({ median: 2000, min: 1990.4, max: 2010 })).toBe('2000 (1990-2010)');
    expect(formatSpread({ median: 1.5, min: 1.5, max: 1.5 }, 2)).toBe('1.50');
    expect(formatSpread({ median: 0.004, min: 0.001, max: 0.0049 }, 2)).toBe('0.00');
    expect(formatSpread({ median: NaN, min: NaN, max: NaN })).toBe('-');
  });
});
