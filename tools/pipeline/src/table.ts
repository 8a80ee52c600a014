/** A plain text table: first row is the header, columns padded to their widest cell. */
export function formatTable(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  const line = (row: readonly string[]): string =>
    row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  ');
  const [head, ...body] = rows;
  if (head === undefined) return '';
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

/** `12345` → `12,345`. */
export function formatCount(n: number | undefined): string {
  return n === undefined || !Number.isFinite(n) ? '-' : Math.round(n).toLocaleString('en-US');
}

/** Bytes → `123 MB`. */
export function formatMb(bytes: number | undefined): string {
  return bytes === undefined ? '-' : `${Math.round(bytes / 1024 / 1024)} MB`;
}

/** A ratio as a percentage, `-` when either side is missing. */
export function formatRatio(ratio: number | undefined): string {
  return ratio === undefined || !Number.isFinite(ratio) ? '-' : `${(ratio * 100).toFixed(1)}%`;
}

/** Microseconds → `123 µs` (one decimal below 100). */
export function formatMicros(micros: number | undefined): string {
  if (micros === undefined || !Number.isFinite(micros)) return '-';
  return `${micros < 100 ? micros.toFixed(1) : Math.round(micros).toLocaleString('en-US')} µs`;
}
