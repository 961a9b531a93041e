/**
 * The access tokens the proxy forwards: verified with the SDK (`@tessera/jwt`) against the issuer's JWKS,
 * `iss`, the app's `aud` and `typ: at+jwt`, and refreshed before they expire.
 */
import { createVerifier, type Fetcher, type JWTPayload, type Verifier } from '@tessera/jwt';
import type { RelyingParty } from '../relying-party/types.js';
import type { ProxySession } from './session.js';

/** Refresh when the access token has less than this left (or is expired). */
export const REFRESH_MARGIN_MS = 60_000;
/** A refresh's answer is kept this long for the other requests still carrying the old cookie. */
const REFRESH_REUSE_MS = 30_000;
const REFRESH_CACHE_MAX = 10_000;

/**
 * The access-token verifier. `typ: at+jwt` (RFC 9068 §4, RFC 8725 §3.11): an ID token, whose `aud` is the
 * client id, can never be replayed as an access token even when the app's audience is the client id.
 *
 * @example const verifier = createAccessTokenVerifier({ issuer, audience: 'app', jwksUri, algorithms: ['ES256'] });
 */
export function createAccessTokenVerifier(o: {
  issuer: string;
  audience: string;
  jwksUri: string;
  algorithms: readonly string[];
  clock?: () => number;
  fetcher?: Fetcher;
}): Verifier {
  return createVerifier({
    issuer: o.issuer,
    audience: o.audience,
    algorithms: o.algorithms as Parameters<typeof createVerifier>[0]['algorithms'],
    jwksUri: o.jwksUri,
    typ: 'at+jwt',
    clockTolerance: 5,
    // A hit skips only the signature: exp, key trust and the claims are checked again (docs/sdk.md).
    cache: { maxEntries: 10_000 },
    ...(o.clock && { clock: o.clock }),
    ...(o.fetcher && { jwks: { fetcher: o.fetcher } }),
  });
}

/**
 * Verify and return the claims, or undefined for any refusal. Not an async function: it runs on every
 * proxied request, and the verifier's promise (already settled on a cache hit) is all it needs.
 *
 * @example const claims = await verifiedClaims(verifier, token); // undefined: not for this app
 */
export function verifiedClaims(verifier: Verifier, token: string): Promise<JWTPayload | undefined> {
  try {
    return verifier.verify(token).then(ofResult, refused);
  } catch {
    return Promise.resolve(undefined);
  }
}

const ofResult = (r: { payload: JWTPayload }): JWTPayload => r.payload;
const refused = (): undefined => undefined;

/**
 * The token-endpoint parameter naming the app: `resource` for a URI (RFC 8707), else `audience`.
 *
 * @example audienceParameter('https://app.example'); // { resource: 'https://app.example' }
 */
export function audienceParameter(audience: string): Record<string, string> {
  return /^[A-Za-z][A-Za-z0-9+.-]*:/.test(audience) && URL.canParse(audience)
    ? { resource: audience }
    : { audience };
}

/**
 * Refresh one session's tokens, once per refresh token. Browsers send several requests at once with the same
 * cookie; with rotating refresh tokens a second refresh of the same token is a replay that revokes the whole
 * family (RFC 9700 §4.14.2). So concurrent callers share one call, and callers arriving shortly after with
 * the old cookie get the same new tokens.
 *
 * @example const refresher = createRefresher(rp, { audience: 'app' }, Date.now);
 */
export function createRefresher(
  rp: () => RelyingParty,
  extra: Record<string, string>,
  clock: () => number,
): (session: ProxySession) => Promise<ProxySession | undefined> {
  const recent = new Map<string, { at: number; result: Promise<ProxySession | undefined> }>();
  return (session) => {
    const refreshToken = session.refreshToken;
    if (refreshToken === undefined) return Promise.resolve(undefined);
    const now = clock();
    const held = recent.get(refreshToken);
    if (held !== undefined && now - held.at < REFRESH_REUSE_MS) return held.result;
    if (recent.size >= REFRESH_CACHE_MAX) {
      for (const [k, v] of recent)
        if (now - v.at >= REFRESH_REUSE_MS || recent.size >= REFRESH_CACHE_MAX) recent.delete(k);
    }
    const result = rp()
      .refresh(refreshToken, extra)
      .then(
        (tokens): ProxySession => ({
          accessToken: tokens.accessToken,
          expiresAt: tokens.expiresAt ?? clock() + 300_000,
          createdAt: session.createdAt,
          // RFC 6749 §6: the provider may keep the refresh token; the ID token may not be reissued.
          refreshToken: tokens.refreshToken ?? refreshToken,
          ...((tokens.idToken ?? session.idToken) !== undefined && {
            idToken: tokens.idToken ?? session.idToken,
          }),
        }),
        () => undefined,
      );
    recent.set(refreshToken, { at: now, result });
    return result;
  };
}
