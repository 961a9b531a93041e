/**
 * The five scenarios. baseline and bloat load one strategy at a time with every connection (a fair
 * throughput comparison); idp-outage, rotation and revocation load every strategy at once, connections
 * split between them, because their point is how each strategy reacts to the same event at the same moment.
 */
import type { SimulationReport, StrategyReport, RevocationFigures } from './report.js';
import {
  credentialList,
  mintCredentials,
  mintDpop,
  probe,
  runPhase,
  strategyReport,
  type Credentials,
  type PhaseEvent,
  type SimEnv,
} from './phase.js';
import type { CredentialKind, Strategy } from './strategies.js';

export const SCENARIO_NAMES = ['baseline', 'idp-outage', 'rotation', 'revocation', 'bloat'] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

/** One line per scenario, for `--help` and the report. */
export const SCENARIO_HELP: Record<ScenarioName, string> = {
  baseline: 'each strategy alone under the same load',
  'idp-outage': 'the issuer stops at 40% of the run; who keeps serving?',
  rotation: 'signing keys rotate up to 3 times during the run; rejected valid tokens are counted',
  revocation: 'tokens are revoked from 40% of the run on; time until each strategy refuses them',
  bloat: 'baseline with ~300 B, 1 KiB and 4 KiB tokens (extra claims)',
};

export const isConcurrent = (s: ScenarioName) => s === 'idp-outage' || s === 'rotation' || s === 'revocation';

export type ScenarioResult = Pick<
  SimulationReport,
  'strategies' | 'outage_at_s' | 'rotations' | 'revoked_at_s' | 'bloat'
>;

function checkAborted(env: SimEnv): void {
  if (env.signal?.aborted) throw new Error('simulation interrupted');
}

async function sequential(env: SimEnv, creds: Credentials, tier?: string): Promise<StrategyReport[]> {
  const out: StrategyReport[] = [];
  for (const s of env.strategies) {
    checkAborted(env);
    const outcome = await runPhase(env, tier ? `${s.name} ${tier}` : s.name, [s.name], creds);
    out.push({ ...strategyReport(s, outcome, creds), ...(tier && { token_size: tier }) });
  }
  return out;
}

async function baseline(env: SimEnv): Promise<ScenarioResult> {
  return { strategies: await sequential(env, await mintCredentials(env, {})) };
}

async function idpOutage(env: SimEnv): Promise<ScenarioResult> {
  const creds = await mintCredentials(env, {});
  let outageAt = 0;
  const event: PhaseEvent = {
    at: 0.4,
    async run() {
      outageAt = (performance.now() - env.phaseStartedAt) / 1000;
      await env.issuer.stop();
    },
  };
  const outcome = await runPhase(env, 'all strategies (issuer stops at 40%)', names(env), creds, [event]);
  const strategies = env.strategies.map((s) => {
    const r = strategyReport(s, outcome, creds);
    // Buckets wholly before / wholly after the outage; the one it falls in belongs to neither.
    const before = r.timeseries.filter((p) => p.t + 1 <= outageAt);
    const after = r.timeseries.filter((p) => p.t >= outageAt);
    const afterRequests = after.reduce((n, p) => n + p.requests, 0);
    const errorsAfter = after.reduce((n, p) => n + p.errors, 0);
    return {
      ...r,
      errors_before_outage: before.reduce((n, p) => n + p.errors, 0),
      errors_after_outage: errorsAfter,
      error_rate_after_outage:
        afterRequests === 0 ? 0 : Math.round((errorsAfter / afterRequests) * 10_000) / 10_000,
    };
  });
  return { strategies, outage_at_s: Math.round(outageAt * 1000) / 1000 };
}

async function rotation(env: SimEnv): Promise<ScenarioResult> {
  const creds = await mintCredentials(env, {});
  const d = env.settings.duration;
  // Rotations at least 1.5 s apart: the promoted key must have been pre-published for one JWKS max-age
  // (1 s in this scenario) plus the issuer's reload interval, or verifiers would meet an unknown kid.
  const count = d === undefined ? 3 : Math.max(1, Math.min(3, Math.floor(d / 1.5) - 1));
  const rotations: Array<{ at_s: number; kid: string }> = [];
  const events: PhaseEvent[] = Array.from({ length: count }, (_, k) => ({
    at: (k + 1) / (count + 1),
    async run() {
      const at = (performance.now() - env.phaseStartedAt) / 1000;
      const kid = await env.issuer.rotate();
      // From now on every request carries a token signed by the new current key.
      const subs = creds.jwt.map((_, i) => `user-${i}`);
      creds.jwt = await env.issuer.mint('jwt', subs);
      // DPoP users keep their keys: only the token is new.
      if (creds.dpop.length > 0) creds.dpop = await mintDpop(env, subs, undefined);
      for (const s of env.strategies)
        if (s.kind === 'jwt' || s.kind === 'dpop') env.load.update(s.name, credentialList(creds, s.kind));
      rotations.push({ at_s: Math.round(at * 1000) / 1000, kid });
    },
  }));
  const outcome = await runPhase(env, `all strategies (${count} key rotations)`, names(env), creds, events);
  const strategies = env.strategies.map((s) => {
    const r = strategyReport(s, outcome, creds);
    return { ...r, rejected_valid_tokens: r.errors - r.errors_unavailable };
  });
  return { strategies, rotations };
}

/** How many tokens the revocation scenario revokes, and how many of them are probed directly. */
const REVOKED_MAX = 10;
const PROBE_INTERVAL_MS = 50;

async function revocation(env: SimEnv): Promise<ScenarioResult> {
  const creds = await mintCredentials(env, {});
  const count = Math.min(env.settings.users, REVOKED_MAX, Math.max(5, Math.round(env.settings.users * 0.05)));
  const pollIntervalS = env.pollInterval;
  let revokedAt = 0;
  const revokedAtByKind = new Map<CredentialKind, Map<string, number>>();
  const expByCredential = new Map<string, number>();
  const probed = new Map<string, Map<string, number>>(); // strategy → credential → first rejection (ms)
  let probing = true;
  const probes: Promise<void>[] = [];

  // A direct probe of each revoked credential every 50 ms, so the lag does not depend on how often the
  // random load happens to pick a revoked credential; the earlier of probe and load observation counts.
  const probeOne = (s: Strategy, credential: string, index: number) =>
    (async () => {
      let seen = probed.get(s.name);
      if (!seen) probed.set(s.name, (seen = new Map()));
      while (probing) {
        const outcome = await probe(env, s, creds, index);
        if (!outcome.ok) {
          seen.set(credential, Date.now());
          return;
        }
        await new Promise((r) => setTimeout(r, PROBE_INTERVAL_MS));
      }
    })();

  // The API learns first that the credential is being revoked (so refusing it is not counted as an
  // error); the lag is measured from the moment the revocation has taken effect at its source: the
  // issuer answered /oauth/revoke, or the session row is gone.
  const revokeOne = async (
    kind: CredentialKind,
    index: number,
    credential: string,
    exp: number,
    revoke: () => Promise<unknown>,
  ) => {
    env.api.markRevoked(kind, credential, Date.now());
    await revoke();
    let map = revokedAtByKind.get(kind);
    if (!map) revokedAtByKind.set(kind, (map = new Map()));
    map.set(credential, Date.now());
    expByCredential.set(credential, exp);
    for (const s of env.strategies) if (s.kind === kind) probes.push(probeOne(s, credential, index));
  };

  // Revocations are spread over one feed poll interval, so the deny-list's lag is sampled across its
  // whole polling cycle rather than at one arbitrary phase of it.
  const spacingMs = (pollIntervalS * 1000) / count;
  const event: PhaseEvent = {
    at: 0.4,
    async run() {
      revokedAt = (performance.now() - env.phaseStartedAt) / 1000;
      const work: Promise<unknown>[] = [];
      for (let i = 0; i < count; i++) {
        if (i > 0) await new Promise((r) => setTimeout(r, spacingMs));
        const jwt = creds.jwt[i]!;
        const opaque = creds.opaque[i]!;
        const session = creds.session[i]!;
        work.push(revokeOne('jwt', i, jwt.token, jwt.exp, () => env.issuer.revoke('jwt', jwt.token)));
        const dpop = creds.dpop[i];
        // DPoP-bound tokens belong to the JWT client too: revoked the same way (RFC 7009).
        if (dpop)
          work.push(revokeOne('dpop', i, dpop.token, dpop.exp, () => env.issuer.revoke('jwt', dpop.token)));
        work.push(
          revokeOne('opaque', i, opaque.token, opaque.exp, () => env.issuer.revoke('opaque', opaque.token)),
        );
        work.push(
          revokeOne('session', i, session.token, session.exp, async () => {
            await env.sessions.redis?.delete(session.token);
            await env.sessions.sql?.delete(session.token);
          }),
        );
      }
      await Promise.all(work);
    },
  };
  let outcome;
  try {
    outcome = await runPhase(env, `all strategies (${count} tokens revoked at 40%)`, names(env), creds, [
      event,
    ]);
  } finally {
    probing = false;
    await Promise.allSettled(probes);
  }
  const endedAt = Date.now();
  const strategies = env.strategies.map((s) => {
    const r = strategyReport(s, outcome, creds);
    const revokedMap = revokedAtByKind.get(s.kind) ?? new Map<string, number>();
    const fromLoad = env.api.revocations(s.name);
    const lags: number[] = [];
    let minRemaining: number | null = null;
    for (const [credential, at] of revokedMap) {
      const a = fromLoad?.firstRejectedAt.get(credential);
      const b = probed.get(s.name)?.get(credential);
      const first = a === undefined ? b : b === undefined ? a : Math.min(a, b);
      if (first !== undefined) lags.push(Math.max(0, first - at));
      else {
        const remaining = (expByCredential.get(credential)! * 1000 - endedAt) / 1000;
        minRemaining = minRemaining === null ? remaining : Math.min(minRemaining, remaining);
      }
    }
    lags.sort((x, y) => x - y);
    const figures: RevocationFigures = {
      revoked: revokedMap.size,
      rejected: lags.length,
      lag_ms:
        lags.length === 0
          ? null
          : { p50: lags[Math.ceil(lags.length / 2) - 1]!, max: lags[lags.length - 1]! },
      never: revokedMap.size - lags.length,
      remaining_lifetime_s: minRemaining === null ? null : Math.round(minRemaining),
      accepted_after_revocation: fromLoad?.acceptedAfterRevocation ?? 0,
    };
    return { ...r, revocation: figures };
  });
  return { strategies, revoked_at_s: Math.round(revokedAt * 1000) / 1000 };
}

export const BLOAT_TIERS = [
  { label: '300B', target: 300 },
  { label: '1KiB', target: 1024 },
  { label: '4KiB', target: 4096 },
] as const;

/**
 * Extra claims that bring a JWT to about `target` bytes: the roles and permissions people put in tokens,
 * under app-prefixed names because `roles` and `permissions` are reserved scope-like claims (docs/oauth.md).
 */
export function paddingClaims(jsonBytes: number): Record<string, unknown> {
  if (jsonBytes <= 0) return {};
  const permissions: string[] = [];
  const claims = {
    tenant_id: 'tenant-0042',
    app_roles: ['reader', 'orders-admin'],
    app_permissions: permissions,
  };
  let size = JSON.stringify(claims).length;
  for (let i = 0; size < jsonBytes; i++) {
    const p = `svc-${i % 97}:resource-${i}:read`;
    permissions.push(p);
    size += p.length + 3;
  }
  return claims;
}

async function claimsFor(env: SimEnv, target: number): Promise<Record<string, unknown>> {
  const base = (await env.issuer.mint('jwt', ['user-0']))[0]!.token.length;
  if (target <= base) return {};
  // base64url turns 3 payload bytes into 4 token bytes: aim, measure once, correct.
  let json = Math.floor(((target - base) * 3) / 4);
  const first = (await env.issuer.mint('jwt', ['user-0'], paddingClaims(json)))[0]!.token.length;
  json += Math.floor(((target - first) * 3) / 4);
  return paddingClaims(json);
}

async function bloat(env: SimEnv): Promise<ScenarioResult> {
  const strategies: StrategyReport[] = [];
  const tiers: NonNullable<SimulationReport['bloat']> = [];
  for (const tier of BLOAT_TIERS) {
    checkAborted(env);
    const creds = await mintCredentials(env, await claimsFor(env, tier.target));
    const jwtBytes = Math.round(creds.jwt.reduce((n, c) => n + c.token.length, 0) / creds.jwt.length);
    tiers.push({ token_size: tier.label, target_bytes: tier.target, jwt_bytes: jwtBytes });
    strategies.push(...(await sequential(env, creds, tier.label)));
  }
  return { strategies, bloat: tiers };
}

const names = (env: SimEnv) => env.strategies.map((s) => s.name);

/** Run a scenario in a prepared environment. */
export function runScenario(env: SimEnv, scenario: ScenarioName): Promise<ScenarioResult> {
  switch (scenario) {
    case 'baseline':
      return baseline(env);
    case 'idp-outage':
      return idpOutage(env);
    case 'rotation':
      return rotation(env);
    case 'revocation':
      return revocation(env);
    default:
      return bloat(env);
  }
}
