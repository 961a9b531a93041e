/** The terminal table printed at the end of `tessera simulate`. */
import type { SimulationReport, StrategyReport } from './report.js';

const num = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const ms = (n: number) => (n >= 100 ? num(n, 0) : n >= 10 ? num(n, 1) : num(n, 2));

/** The revocation column: the lag, or how long the token keeps working when it is never refused. */
export function revocationCell(r: StrategyReport): string {
  const f = r.revocation;
  if (!f) return '';
  if (f.rejected === 0) return `never (${f.remaining_lifetime_s ?? '?'}s left)`;
  const lag = `${num(f.lag_ms!.p50)}/${num(f.lag_ms!.max)} ms`;
  return f.never > 0 ? `${lag}, ${f.never}/${f.revoked} never` : lag;
}

/**
 * The cost of delegation that the row's columns do not show: exchange calls and their round trip (inside
 * VALIDATION), the exchanged-token cache, and the downstream call with the downstream's own validation
 * (outside it). Undefined for every strategy but jwt-exchange.
 *
 * @example exchangeLine(r) // 'jwt-exchange: 20 exchange calls (0.0041/req, p50/p99 2.10/9.30 ms), …'
 */
export function exchangeLine(r: StrategyReport): string | undefined {
  const x = r.exchange;
  if (!x) return undefined;
  const tier = r.token_size ? ` ${r.token_size}` : '';
  return (
    `${r.name}${tier}: ${num(x.exchange_calls)} exchange calls (${num(x.exchange_calls_per_request, 4)}/req, ` +
    `p50/p99 ${ms(x.exchange_ms.p50)}/${ms(x.exchange_ms.p99)} ms, ${num(x.exchange_failures)} failed), ` +
    `exchanged-token hit ratio ${num(x.exchanged_token_hit_ratio, 3)};\n  downstream call p50/p99 ` +
    `${ms(x.downstream_call_ms.p50)}/${ms(x.downstream_call_ms.p99)} ms (its validation p50/p99 ` +
    `${ms(x.downstream_validation_ms.p50)}/${ms(x.downstream_validation_ms.p99)} ms), ` +
    `${num(x.downstream_refused)} refused`
  );
}

/**
 * Render the report as an aligned text table, plus the scenario's own lines.
 *
 * @example
 * process.stdout.write(renderTable(report));
 */
export function renderTable(report: SimulationReport): string {
  const extra: { title: string; cell(r: StrategyReport): string } | undefined =
    report.scenario === 'idp-outage'
      ? {
          title: 'ERR AFTER OUTAGE',
          cell: (r) =>
            `${num(r.errors_after_outage ?? 0)} (${num((r.error_rate_after_outage ?? 0) * 100, 1)}%)`,
        }
      : report.scenario === 'rotation'
        ? { title: 'REJECTED VALID', cell: (r) => num(r.rejected_valid_tokens ?? 0) }
        : report.scenario === 'revocation'
          ? { title: 'REVOCATION LAG p50/max', cell: revocationCell }
          : undefined;
  const header = [
    'STRATEGY',
    'STORE',
    ...(report.scenario === 'bloat' ? ['SIZE'] : []),
    'REQUESTS',
    'RPS',
    'VALIDATION ms p50/p95/p99/max',
    'E2E p50 ms',
    'AUTH B/REQ',
    'HIT RATIO',
    'ERRORS',
    'ISSUER/REQ',
    ...(extra ? [extra.title] : []),
  ];
  const rows = report.strategies.map((r) => {
    const v = r.token_validation_ms;
    return [
      r.name,
      r.store,
      ...(report.scenario === 'bloat' ? [r.token_size ?? ''] : []),
      num(r.requests),
      num(r.throughput_rps),
      `${ms(v.p50)} / ${ms(v.p95)} / ${ms(v.p99)} / ${ms(v.max)}`,
      ms(r.latency_ms.p50),
      num(r.payload_size_bytes),
      r.cache_hit_ratio === null ? '-' : num(r.cache_hit_ratio, 3),
      num(r.errors),
      num(r.issuer_calls_per_request, 4),
      ...(extra ? [extra.cell(r)] : []),
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const right = (i: number) => i >= (report.scenario === 'bloat' ? 3 : 2);
  const line = (row: string[]) =>
    row
      .map((c, i) => (right(i) && i < row.length ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const out = [
    `tessera simulate: scenario ${report.scenario}, ${report.settings.mode}, ` +
      (report.settings.duration_s !== null
        ? `${report.settings.duration_s}s per phase`
        : `${report.settings.requests} requests per strategy`) +
      `, ${report.settings.connections} connections, ${report.settings.users} users`,
    '',
    line(header),
    ...rows.map(line),
  ];
  if (report.outage_at_s !== undefined) out.push('', `issuer stopped ${report.outage_at_s}s into the run`);
  if (report.rotations)
    out.push('', `key rotations at ${report.rotations.map((r) => `${r.at_s}s`).join(', ') || '(none)'}`);
  if (report.revoked_at_s !== undefined) out.push('', `tokens revoked ${report.revoked_at_s}s into the run`);
  if (report.bloat)
    out.push(
      '',
      `JWT sizes: ${report.bloat.map((b) => `${b.token_size} tier = ${b.jwt_bytes} B`).join(', ')}`,
    );
  const exchange = report.strategies.map(exchangeLine).filter((l) => l !== undefined);
  if (exchange.length > 0) out.push('', ...exchange);
  for (const s of report.skipped) out.push(`skipped ${s.name}: ${s.reason}`);
  out.push(
    '',
    'VALIDATION: time inside the resource API around the validation step alone. E2E: as the load generator saw it.',
    'HIT RATIO: cache hits per request (cached strategies only). ISSUER/REQ: JWKS, introspection, feed and exchange calls per request.',
  );
  const names = new Set(report.strategies.map((r) => r.name));
  if (names.has('jwt-dpop'))
    out.push('jwt-dpop: VALIDATION includes the proof check; AUTH B/REQ counts the DPoP header line too.');
  if (names.has('jwt-exchange'))
    out.push(
      'jwt-exchange: VALIDATION is the user JWT check plus obtaining the exchanged token (cache or exchange call);',
      '  the downstream call is outside it (line above). HIT RATIO: requests served with a cached exchanged token.',
    );
  return out.join('\n') + '\n';
}
