// Markdown tables for stdout and docs/performance.md.

/** Format a number of operations per second with thousands separators. */
export function fmtOps(n) {
  if (n === undefined || n === null || Number.isNaN(n)) return 'n/a';
  return Math.round(n).toLocaleString('en-US');
}

/** Format a ratio with two decimals and a trailing ×. */
export function fmtRatio(n) {
  if (n === undefined || n === null || !Number.isFinite(n)) return '';
  return `${n.toFixed(2)}×`;
}

/** Pass/fail cell: '' when the goal does not apply. */
export function fmtGoal(ok) {
  if (ok === undefined || ok === null) return '';
  return ok ? 'PASS' : 'FAIL';
}

/** Render rows (arrays of cells) under a header as a GitHub Markdown table. */
export function markdownTable(header, rows) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i] ?? '').length)));
  const line = (cells) => `| ${cells.map((c, i) => String(c ?? '').padEnd(widths[i])).join(' | ')} |`;
  const sep = `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`;
  return [line(header), sep, ...rows.map(line)].join('\n');
}
