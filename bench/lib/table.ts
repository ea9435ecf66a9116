/** Plain-text table with aligned columns; no colours, no box drawing, safe to paste anywhere. */

export type Align = 'left' | 'right';

export interface Column {
  header: string;
  align?: Align;
}

export function formatTable(
  columns: readonly Column[],
  rows: ReadonlyArray<readonly string[]>,
): string {
  for (const [i, row] of rows.entries()) {
    if (row.length !== columns.length) {
      throw new Error(`row ${i} has ${row.length} cells, expected ${columns.length}`);
    }
  }
  const widths = columns.map((c, i) => Math.max(c.header.length, ...rows.map((r) => r[i].length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) =>
        columns[i].align === 'right' ? cell.padStart(widths[i]) : cell.padEnd(widths[i]),
      )
      .join('  ')
      .trimEnd();
  const out = [line(columns.map((c) => c.header)), line(widths.map((w) => '-'.repeat(w)))];
  for (const row of rows) out.push(line(row));
  return out.join('\n');
}

/** Formats a number with a fixed count of decimals; NaN/undefined becomes `-`. */
export function formatNumber(value: number | undefined, decimals = 0): string {
  if (value === undefined || !Number.isFinite(value)) return '-';
  return value.toFixed(decimals);
}

/** `median (min-max)`, or just the median when min == max. */
export function formatSpread(
  s: { median: number; min: number; max: number },
  decimals = 0,
): string {
  const med = formatNumber(s.median, decimals);
  const lo = formatNumber(s.min, decimals);
  const hi = formatNumber(s.max, decimals);
  if (med === '-') return '-';
  if (lo === hi) return med;
  return `${med} (${lo}-${hi})`;
}
