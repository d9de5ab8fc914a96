/**
 * A plain-text table: a header, a rule, then rows; the first `textColumns` columns
 * left-aligned, the rest (numbers) right-aligned. Benchmarks and the simulator print these.
 */
export function formatTable(headers: readonly string[], rows: readonly (readonly (string | number)[])[], textColumns = 1): string {
  const cells = [headers, ...rows.map((row) => headers.map((_, c) => String(row[c] ?? '')))];
  const widths = headers.map((_, c) => Math.max(...cells.map((row) => row[c]!.length)));
  const line = (row: readonly string[]) => row.map((cell, c) => (c < textColumns ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  return [line(cells[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}
