/**
 * Tiny inline-SVG chart builders for the HTML report: grouped bars and lines, no script, no fonts
 * fetched (the system sans-serif), every label escaped into text.
 */

export const escapeHTML = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const PALETTE = ['#2563eb', '#16a34a', '#9333ea', '#dc2626', '#ea580c', '#0891b2', '#ca8a04', '#4b5563'];
export const colorOf = (i: number) => PALETTE[i % PALETTE.length]!;

const W = 760;
/** Height of the plotting area; the chart grows below it for axis labels and legend rows. */
const PLOT_H = 202;
const M = { top: 34, right: 16, left: 64 };
const BASE = M.top + PLOT_H;

function fmt(n: number): string {
  if (n === 0) return '0';
  const a = Math.abs(n);
  if (a >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (a >= 1e4) return `${(n / 1e3).toFixed(0)}k`;
  if (a >= 100) return n.toFixed(0);
  if (a >= 1) return n.toFixed(a >= 10 ? 1 : 2).replace(/\.?0+$/, '');
  return n.toPrecision(2);
}

/** Nice ticks for [0, max] (linear) or decades (log). */
function scale(max: number, log: boolean, min = 0) {
  if (log) {
    const lo = Math.floor(Math.log10(Math.max(min, 1e-3)));
    const hi = Math.max(lo + 1, Math.ceil(Math.log10(Math.max(max, 1e-3))));
    const y = (v: number) => BASE - ((Math.log10(Math.max(v, 10 ** lo)) - lo) / (hi - lo)) * PLOT_H;
    const ticks = Array.from({ length: hi - lo + 1 }, (_, i) => 10 ** (lo + i));
    return { y, ticks };
  }
  const top = max <= 0 ? 1 : max;
  const step = 10 ** Math.floor(Math.log10(top / 4));
  const nice = [1, 2, 2.5, 5, 10].map((m) => m * step).find((s) => top / s <= 5) ?? step * 10;
  const upper = Math.ceil(top / nice) * nice;
  const y = (v: number) => BASE - (v / upper) * PLOT_H;
  const ticks = Array.from({ length: Math.round(upper / nice) + 1 }, (_, i) => i * nice);
  return { y, ticks };
}

/** Legend items left to right, wrapping to a new row at the chart's width. */
function legendRows(names: string[]): Array<Array<{ name: string; index: number; x: number }>> {
  const rows: Array<Array<{ name: string; index: number; x: number }>> = [[]];
  let x = M.left;
  names.forEach((name, index) => {
    const width = 22 + name.length * 6.5;
    if (x + width > W - M.right && rows[rows.length - 1]!.length > 0) {
      rows.push([]);
      x = M.left;
    }
    rows[rows.length - 1]!.push({ name, index, x });
    x += width;
  });
  return rows;
}

interface Frame {
  title: string;
  unit: string;
  ticks: number[];
  y: (v: number) => number;
  body: string;
  names: string[];
  /** Room for the x-axis labels below the plot. */
  labelSpace: number;
}

function frame(f: Frame): string {
  const grid = f.ticks
    .map(
      (t) =>
        `<line x1="${M.left}" x2="${W - M.right}" y1="${f.y(t).toFixed(1)}" y2="${f.y(t).toFixed(1)}" stroke="#e5e7eb"/>` +
        `<text x="${M.left - 6}" y="${(f.y(t) + 4).toFixed(1)}" text-anchor="end" font-size="11" fill="#374151">${fmt(t)}</text>`,
    )
    .join('');
  const legendY = BASE + f.labelSpace + 12;
  const rows = legendRows(f.names);
  const legend = rows
    .flatMap((row, r) =>
      row.map((item) => {
        const ly = legendY + r * 16;
        return (
          `<rect x="${item.x}" y="${ly}" width="10" height="10" fill="${colorOf(item.index)}"/>` +
          `<text x="${item.x + 14}" y="${ly + 9}" font-size="11" fill="#374151">${escapeHTML(item.name)}</text>`
        );
      }),
    )
    .join('');
  const H = Math.ceil(legendY + rows.length * 16 + 6);
  return (
    `<svg class="chart" role="img" aria-label="${escapeHTML(f.title)}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="system-ui, sans-serif">` +
    `<rect width="${W}" height="${H}" fill="#fff"/>` +
    `<text x="${M.left}" y="20" font-size="14" font-weight="600" fill="#111827">${escapeHTML(f.title)}</text>` +
    `<text x="${W - M.right}" y="20" font-size="11" text-anchor="end" fill="#6b7280">${escapeHTML(f.unit)}</text>` +
    grid +
    `<line x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${BASE}" stroke="#9ca3af"/>` +
    f.body +
    legend +
    `</svg>`
  );
}

export interface BarSeries {
  name: string;
  values: number[];
}

/** Grouped vertical bars: one group per category, one bar per series. */
export function barChart(opts: {
  title: string;
  unit: string;
  categories: string[];
  series: BarSeries[];
  log?: boolean;
}) {
  const all = opts.series.flatMap((s) => s.values).filter((v) => Number.isFinite(v));
  const positive = all.filter((v) => v > 0);
  const { y, ticks } = scale(
    Math.max(0, ...all),
    opts.log === true,
    Math.min(...(positive.length ? positive : [1])),
  );
  const groupW = (W - M.left - M.right) / Math.max(1, opts.categories.length);
  const barW = Math.max(2, (groupW * 0.8) / Math.max(1, opts.series.length));
  // Many or long category names (bloat: strategy × size) are turned, with room made below the plot.
  const turned = opts.categories.some((c) => c.length * 6.2 > groupW);
  const longest = Math.max(0, ...opts.categories.map((c) => c.length));
  let body = '';
  opts.categories.forEach((c, ci) => {
    const gx = M.left + ci * groupW + groupW * 0.1;
    opts.series.forEach((s, si) => {
      const v = s.values[ci] ?? 0;
      const top = Number.isFinite(v) && v > 0 ? y(v) : BASE;
      body += `<rect x="${(gx + si * barW).toFixed(1)}" y="${top.toFixed(1)}" width="${(barW - 1).toFixed(1)}" height="${(BASE - top).toFixed(1)}" fill="${colorOf(si)}"><title>${escapeHTML(`${c} ${s.name}: ${fmt(v)}`)}</title></rect>`;
    });
    const lx = (gx + groupW * 0.4).toFixed(1);
    body += turned
      ? `<text x="${lx}" y="${BASE + 12}" font-size="10" text-anchor="end" transform="rotate(-40 ${lx} ${BASE + 12})" fill="#374151">${escapeHTML(c)}</text>`
      : `<text x="${lx}" y="${BASE + 14}" font-size="11" text-anchor="middle" fill="#374151">${escapeHTML(c)}</text>`;
  });
  return frame({
    title: opts.title,
    unit: opts.unit,
    ticks,
    y,
    body,
    names: opts.series.map((s) => s.name),
    labelSpace: turned ? Math.min(160, Math.ceil(longest * 4 + 16)) : 16,
  });
}

export interface LineSeries {
  name: string;
  points: Array<[number, number]>;
}

/** Lines over time (x in seconds), with optional vertical markers (an outage, a rotation). */
export function lineChart(opts: {
  title: string;
  unit: string;
  series: LineSeries[];
  yMax?: number;
  markers?: Array<{ x: number; label: string }>;
}) {
  const xs = opts.series.flatMap((s) => s.points.map((p) => p[0]));
  const xMax = Math.max(1, ...xs, ...(opts.markers ?? []).map((m) => m.x));
  const ys = opts.series.flatMap((s) => s.points.map((p) => p[1]));
  const { y, ticks } = scale(opts.yMax ?? Math.max(0, ...ys), false);
  const x = (v: number) => M.left + (v / xMax) * (W - M.left - M.right);
  let body = '';
  const xStep = xMax <= 12 ? 1 : Math.ceil(xMax / 12);
  for (let t = 0; t <= xMax; t += xStep)
    body += `<text x="${x(t).toFixed(1)}" y="${BASE + 14}" font-size="11" text-anchor="middle" fill="#374151">${t}s</text>`;
  for (const m of opts.markers ?? [])
    body += `<line x1="${x(m.x).toFixed(1)}" x2="${x(m.x).toFixed(1)}" y1="${M.top}" y2="${BASE}" stroke="#111827" stroke-dasharray="4 3"/><text x="${(x(m.x) + 4).toFixed(1)}" y="${M.top + 10}" font-size="11" fill="#111827">${escapeHTML(m.label)}</text>`;
  opts.series.forEach((s, i) => {
    if (s.points.length === 0) return;
    const d = s.points
      .map((p, j) => `${j === 0 ? 'M' : 'L'}${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`)
      .join(' ');
    body += `<path d="${d}" fill="none" stroke="${colorOf(i)}" stroke-width="2"><title>${escapeHTML(s.name)}</title></path>`;
  });
  return frame({
    title: opts.title,
    unit: opts.unit,
    ticks,
    y,
    body,
    names: opts.series.map((s) => s.name),
    labelSpace: 16,
  });
}
