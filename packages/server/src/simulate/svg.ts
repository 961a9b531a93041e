/**
 * Tiny inline-SVG chart builders for the HTML report: grouped bars and lines, no script, no fonts
 * fetched (the system sans-serif), every number escaped into text.
 */

export const escapeHTML = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const PALETTE = ['#2563eb', '#16a34a', '#9333ea', '#dc2626', '#ea580c', '#0891b2', '#ca8a04', '#4b5563'];
export const colorOf = (i: number) => PALETTE[i % PALETTE.length]!;

const W = 760;
const H = 300;
const M = { top: 34, right: 16, bottom: 64, left: 64 };

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
  const h = H - M.top - M.bottom;
  if (log) {
    const lo = Math.floor(Math.log10(Math.max(min, 1e-3)));
    const hi = Math.max(lo + 1, Math.ceil(Math.log10(Math.max(max, 1e-3))));
    const y = (v: number) => M.top + h - ((Math.log10(Math.max(v, 10 ** lo)) - lo) / (hi - lo)) * h;
    const ticks = Array.from({ length: hi - lo + 1 }, (_, i) => 10 ** (lo + i));
    return { y, ticks };
  }
  const top = max <= 0 ? 1 : max;
  const step = 10 ** Math.floor(Math.log10(top / 4));
  const nice = [1, 2, 2.5, 5, 10].map((m) => m * step).find((s) => top / s <= 5) ?? step * 10;
  const upper = Math.ceil(top / nice) * nice;
  const y = (v: number) => M.top + h - (v / upper) * h;
  const ticks = Array.from({ length: Math.round(upper / nice) + 1 }, (_, i) => i * nice);
  return { y, ticks };
}

function frame(
  title: string,
  unit: string,
  ticks: number[],
  y: (v: number) => number,
  body: string,
  legend: string,
) {
  const grid = ticks
    .map(
      (t) =>
        `<line x1="${M.left}" x2="${W - M.right}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}" stroke="#e5e7eb"/>` +
        `<text x="${M.left - 6}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end" font-size="11" fill="#374151">${fmt(t)}</text>`,
    )
    .join('');
  return (
    `<svg class="chart" role="img" aria-label="${escapeHTML(title)}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="system-ui, sans-serif">` +
    `<rect width="${W}" height="${H}" fill="#fff"/>` +
    `<text x="${M.left}" y="20" font-size="14" font-weight="600" fill="#111827">${escapeHTML(title)}</text>` +
    `<text x="${W - M.right}" y="20" font-size="11" text-anchor="end" fill="#6b7280">${escapeHTML(unit)}</text>` +
    grid +
    `<line x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${H - M.bottom}" stroke="#9ca3af"/>` +
    body +
    legend +
    `</svg>`
  );
}

function legendOf(names: string[]): string {
  let x = M.left;
  return names
    .map((n, i) => {
      const item = `<rect x="${x}" y="${H - 18}" width="10" height="10" fill="${colorOf(i)}"/><text x="${x + 14}" y="${H - 9}" font-size="11" fill="#374151">${escapeHTML(n)}</text>`;
      x += 22 + n.length * 6.5;
      return item;
    })
    .join('');
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
  const plotW = W - M.left - M.right;
  const groupW = plotW / Math.max(1, opts.categories.length);
  const barW = Math.max(2, (groupW * 0.8) / Math.max(1, opts.series.length));
  const base = H - M.bottom;
  let body = '';
  opts.categories.forEach((c, ci) => {
    const gx = M.left + ci * groupW + groupW * 0.1;
    opts.series.forEach((s, si) => {
      const v = s.values[ci] ?? 0;
      const top = Number.isFinite(v) && v > 0 ? y(v) : base;
      body += `<rect x="${(gx + si * barW).toFixed(1)}" y="${top.toFixed(1)}" width="${(barW - 1).toFixed(1)}" height="${(base - top).toFixed(1)}" fill="${colorOf(si)}"><title>${escapeHTML(`${c} ${s.name}: ${fmt(v)}`)}</title></rect>`;
    });
    body += `<text x="${(gx + groupW * 0.4).toFixed(1)}" y="${base + 14}" font-size="11" text-anchor="middle" fill="#374151">${escapeHTML(c)}</text>`;
  });
  return frame(opts.title, opts.unit, ticks, y, body, legendOf(opts.series.map((s) => s.name)));
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
    body += `<text x="${x(t).toFixed(1)}" y="${H - M.bottom + 14}" font-size="11" text-anchor="middle" fill="#374151">${t}s</text>`;
  for (const m of opts.markers ?? [])
    body += `<line x1="${x(m.x).toFixed(1)}" x2="${x(m.x).toFixed(1)}" y1="${M.top}" y2="${H - M.bottom}" stroke="#111827" stroke-dasharray="4 3"/><text x="${(x(m.x) + 4).toFixed(1)}" y="${M.top + 10}" font-size="11" fill="#111827">${escapeHTML(m.label)}</text>`;
  opts.series.forEach((s, i) => {
    if (s.points.length === 0) return;
    const d = s.points
      .map((p, j) => `${j === 0 ? 'M' : 'L'}${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`)
      .join(' ');
    body += `<path d="${d}" fill="none" stroke="${colorOf(i)}" stroke-width="2"><title>${escapeHTML(s.name)}</title></path>`;
  });
  return frame(opts.title, opts.unit, ticks, y, body, legendOf(opts.series.map((s) => s.name)));
}
