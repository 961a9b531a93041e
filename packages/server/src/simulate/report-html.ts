/**
 * `--html FILE`: one self-contained page. Charts are inline SVG, styles inline, no script, no font or
 * image from the network, so it opens the same from a CI artifact, an e-mail or a file:// URL.
 */
import type { SeriesPoint } from './metrics.js';
import type { SimulationReport, StrategyReport } from './report.js';
import { exchangeLine, revocationCell } from './report-table.js';
import { barChart, escapeHTML, lineChart, type LineSeries } from './svg.js';

const label = (r: StrategyReport) => (r.token_size ? `${r.name} ${r.token_size}` : r.name);

function perSecond(
  r: StrategyReport,
  value: (p: StrategyReport['timeseries'][number]) => number | undefined,
): LineSeries {
  const points: Array<[number, number]> = [];
  for (const p of r.timeseries) {
    const v = value(p);
    if (v !== undefined) points.push([p.t + 0.5, v]);
  }
  return { name: label(r), points };
}

/**
 * Requests per second over time: full seconds only. The load stops inside the last second of a phase, so
 * plotting that bucket's count as a rate made every line fall towards zero at the end. A run shorter than
 * one second has no full second: its one bucket is scaled to a rate instead.
 *
 * @example
 * requestsPerSecond([{ t: 0, seconds: 1, requests: 900, errors: 0, cache_hits: 0 },
 *                    { t: 1, seconds: 0.1, requests: 90, errors: 0, cache_hits: 0 }]); // [[0.5, 900]]
 */
export function requestsPerSecond(series: readonly SeriesPoint[]): Array<[number, number]> {
  const full = series.filter((p) => p.seconds >= 1);
  if (full.length > 0) return full.map((p) => [p.t + 0.5, p.requests]);
  return series.filter((p) => p.seconds > 0).map((p) => [p.t + p.seconds / 2, p.requests / p.seconds]);
}

function markers(report: SimulationReport): Array<{ x: number; label: string }> {
  const out: Array<{ x: number; label: string }> = [];
  if (report.outage_at_s !== undefined) out.push({ x: report.outage_at_s, label: 'issuer stops' });
  if (report.revoked_at_s !== undefined) out.push({ x: report.revoked_at_s, label: 'revocation' });
  for (const r of report.rotations ?? []) out.push({ x: r.at_s, label: 'rotation' });
  return out;
}

function charts(report: SimulationReport): string[] {
  const rs = report.strategies;
  const names = rs.map(label);
  const out = [
    barChart({
      title: 'Token validation time (inside the API)',
      unit: 'ms, log scale',
      categories: names,
      log: true,
      series: (['p50', 'p95', 'p99'] as const).map((q) => ({
        name: q,
        values: rs.map((r) => r.token_validation_ms[q]),
      })),
    }),
    barChart({
      title: 'Throughput',
      unit: 'requests/s',
      categories: names,
      series: [{ name: 'requests/s', values: rs.map((r) => r.throughput_rps) }],
    }),
    lineChart({
      title: 'Requests per second over time',
      unit: 'requests/s',
      series: rs.map((r) => ({ name: label(r), points: requestsPerSecond(r.timeseries) })),
      markers: markers(report),
    }),
    lineChart({
      title: 'Cache hit ratio over time (cached strategies)',
      unit: 'hits / requests',
      yMax: 1,
      series: rs
        .filter((r) => r.cache_hit_ratio !== null)
        .map((r) => perSecond(r, (p) => (p.requests === 0 ? undefined : p.cache_hits / p.requests))),
      markers: markers(report),
    }),
    lineChart({
      title: 'Error rate over time',
      unit: 'errors / requests',
      yMax: 1,
      series: rs.map((r) => perSecond(r, (p) => (p.requests === 0 ? undefined : p.errors / p.requests))),
      markers: markers(report),
    }),
  ];
  if (report.bloat) {
    const tiers = report.bloat.map((b) => `${b.token_size} (JWT ${b.jwt_bytes} B)`);
    const strategyNames = [...new Set(rs.map((r) => r.name))];
    const pick = (name: string, tier: string, f: (r: StrategyReport) => number) => {
      const r = rs.find((x) => x.name === name && x.token_size === tier);
      return r ? f(r) : 0;
    };
    out.push(
      barChart({
        title: 'Bytes per request by token size',
        unit: 'Authorization header bytes',
        categories: tiers,
        series: strategyNames.map((n) => ({
          name: n,
          values: report.bloat!.map((b) => pick(n, b.token_size, (r) => r.payload_size_bytes)),
        })),
      }),
      barChart({
        title: 'Throughput by token size',
        unit: 'requests/s',
        categories: tiers,
        series: strategyNames.map((n) => ({
          name: n,
          values: report.bloat!.map((b) => pick(n, b.token_size, (r) => r.throughput_rps)),
        })),
      }),
    );
  }
  if (report.scenario === 'revocation') {
    out.push(
      barChart({
        title: 'Revocation lag (max over revoked tokens)',
        unit: 'ms, log scale; never = lifetime left',
        categories: names,
        log: true,
        series: [
          {
            name: 'lag',
            values: rs.map((r) =>
              r.revocation?.lag_ms
                ? Math.max(1, r.revocation.lag_ms.max)
                : (r.revocation?.remaining_lifetime_s ?? 0) * 1000,
            ),
          },
        ],
      }),
    );
  }
  return out;
}

function table(report: SimulationReport): string {
  const head = [
    'strategy',
    'store',
    ...(report.bloat ? ['size'] : []),
    'requests',
    'req/s',
    'validation p50',
    'p95',
    'p99',
    'max',
    'e2e p50',
    'auth bytes/req',
    'bytes sent',
    'hit ratio',
    'errors',
    'issuer calls/req',
    ...(report.scenario === 'idp-outage' ? ['errors after outage'] : []),
    ...(report.scenario === 'rotation' ? ['rejected valid tokens'] : []),
    ...(report.scenario === 'revocation' ? ['revocation lag p50/max'] : []),
  ];
  const rows = report.strategies.map((r) => {
    const v = r.token_validation_ms;
    return [
      r.name,
      r.store,
      ...(report.bloat ? [r.token_size ?? ''] : []),
      String(r.requests),
      r.throughput_rps.toFixed(1),
      `${v.p50} ms`,
      `${v.p95} ms`,
      `${v.p99} ms`,
      `${v.max} ms`,
      `${r.latency_ms.p50} ms`,
      String(r.payload_size_bytes),
      String(r.bytes_sent_total),
      r.cache_hit_ratio === null ? '–' : r.cache_hit_ratio.toFixed(3),
      String(r.errors),
      r.issuer_calls_per_request.toFixed(4),
      ...(report.scenario === 'idp-outage' ? [`${r.errors_after_outage ?? 0}`] : []),
      ...(report.scenario === 'rotation' ? [`${r.rejected_valid_tokens ?? 0}`] : []),
      ...(report.scenario === 'revocation' ? [revocationCell(r)] : []),
    ];
  });
  const cells = (row: string[], tag: string) => row.map((c) => `<${tag}>${escapeHTML(c)}</${tag}>`).join('');
  return `<table><thead><tr>${cells(head, 'th')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${cells(r, 'td')}</tr>`)
    .join('')}</tbody></table>`;
}

/**
 * Render the report as one HTML page.
 *
 * @example
 * writeFileSync('report.html', renderHTML(report));
 */
export function renderHTML(report: SimulationReport): string {
  const s = report.settings;
  const facts = [
    ['scenario', report.scenario],
    ['command', report.command || '(programmatic)'],
    [
      'mode',
      `${s.mode}${s.mode === 'concurrent' ? ' (all strategies at once, connections split)' : ' (one strategy at a time)'}`,
    ],
    ['load', s.duration_s !== null ? `${s.duration_s}s per phase` : `${s.requests} requests per strategy`],
    ['connections / users', `${s.connections} / ${s.users}`],
    [
      'machine',
      `${report.machine.cpus} × ${report.machine.cpu_model}, Node ${report.machine.node}, load average ${report.machine.load_average_at_start.join(' ')}`,
    ],
    ['started', report.started_at],
    ...report.skipped.map((k) => [`skipped ${k.name}`, k.reason]),
  ];
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>tessera simulate: ${escapeHTML(report.scenario)}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 24px; color: #111827; background: #f9fafb; }
h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 28px; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; font-size: 13px; }
dt { color: #6b7280; } dd { margin: 0; font-family: ui-monospace, monospace; }
table { border-collapse: collapse; font-size: 12px; background: #fff; }
th, td { border: 1px solid #e5e7eb; padding: 4px 8px; text-align: right; white-space: nowrap; }
th:first-child, td:first-child, th:nth-child(2), td:nth-child(2) { text-align: left; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; }
.chart { border: 1px solid #e5e7eb; max-width: 100%; height: auto; }
p.note { font-size: 12px; color: #4b5563; max-width: 60em; }
</style>
</head>
<body>
<h1>tessera simulate — ${escapeHTML(report.scenario)}</h1>
<dl>${facts.map(([k, v]) => `<dt>${escapeHTML(k!)}</dt><dd>${escapeHTML(v!)}</dd>`).join('')}</dl>
<h2>Figures</h2>
${table(report)}
<p class="note">Validation time is measured inside the resource API around the validation step alone; e2e latency is what the load generator saw. Hit ratio is cache hits per request for the cached strategies only. Issuer calls are JWKS fetches, introspection calls, revocation-feed pulls and token exchanges made during the phase. jwt-dpop: validation includes the proof check, auth bytes include the DPoP header. jwt-exchange: validation is the user's JWT check plus obtaining the exchanged token (from the cache, or an exchange call to the issuer); the downstream call is outside it, and reported below.</p>
${report.strategies
  .map(exchangeLine)
  .filter((l) => l !== undefined)
  .map((l) => `<p class="note">${escapeHTML(l)}</p>`)
  .join('\n')}
<h2>Charts</h2>
<div class="charts">
${charts(report).join('\n')}
</div>
</body>
</html>
`;
}
