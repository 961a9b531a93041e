import type { JWTPayload } from '@tessera/jwt';
import type { ServerContext } from '../server/context.js';
import type { ClientRecord } from '../store/types.js';
import { randomBytes } from 'node:crypto';
import { createOpaqueToken, OPAQUE_ACCESS_TOKEN_PREFIX } from '@tessera/jwt';
import { hashToken } from './crypto.js';
import { enforceClaimsPolicy, type AuthenticationClaims } from './claims-policy.js';
import { EMPTY_FORM } from './form.js';
import { resolveAudience } from './resource.js';
import { oauthSettings } from './settings.js';

export interface IssueAccessTokenOptions {
  client: ClientRecord;
  /** The subject: the client id for client_credentials, the user for jwt-bearer and refresh. */
  sub: string;
  scope: string[];
  /** Custom claims already filtered by the client's allowlist; checked by the claims policy here. */
  claims?: Record<string, unknown>;
  /**
   * The token's one audience, from `resolveAudience` (RFC 8707). Default: what a request naming none gets
   * (the client's only audience, or the issuer when it has none).
   */
  audience?: string;
  /**
   * For a token issued to a signed-in user (authorization code, its refresh): auth_time, acr, amr, sid, set
   * by the server from the session. Never checked as custom claims, and never overridable by them.
   */
  authentication?: AuthenticationClaims;
  /** RFC 9449 §6.1: bind the token to a DPoP key; `cnf.jkt` in a JWT, stored with an opaque token. */
  cnf?: { jkt: string };
  /** RFC 8693 §4.1: the delegation chain of an exchanged token, the current actor outermost. */
  act?: ActorClaim;
  /** Seconds since the epoch the token may not outlive (an exchanged token never outlives its subject token). */
  notAfter?: number;
}

/** RFC 8693 §4.1 `act`: who acts, and (nested) for whom that actor acted. */
export interface ActorClaim {
  sub: string;
  client_id?: string;
  iss?: string;
  act?: ActorClaim;
  /** Assignable to the SDK's `ActorClaim` (`@tessera/jwt`), which allows other identity members. */
  [member: string]: unknown;
}

export interface IssuedAccessToken {
  token: string;
  format: 'jwt' | 'opaque';
  jti: string;
  /** Lifetime in seconds (`expires_in`). */
  expiresIn: number;
  /** Expiry, seconds since the epoch. */
  exp: number;
  /** Present when the token is DPoP-bound (RFC 9449 §6). */
  cnf?: { jkt: string };
}

/** RFC 9068 §2.1: access tokens are typed `at+jwt`. One object, so signers can cache its encoding. */
const AT_JWT_HEADER = { typ: 'at+jwt' } as const;

/** Bytes in a jti: 128 random bits (RFC 9068 §2.2.2 needs a unique identifier). */
const JTI_BYTES = 16;
/** jtis drawn per CSPRNG call: one 4 KiB read instead of one small read per token. */
const JTI_POOL_BYTES = JTI_BYTES * 256;
let jtiPool = Buffer.alloc(0);
let jtiOffset = 0;

/**
 * A fresh jti: 16 bytes of a pooled CSPRNG read, base64url. Every byte is handed out once (the pool is
 * replaced, never rewound) and never leaves this module otherwise; same entropy as `randomToken(16)`.
 */
function nextJti(): string {
  if (jtiOffset + JTI_BYTES > jtiPool.length) {
    jtiPool = randomBytes(JTI_POOL_BYTES);
    jtiOffset = 0;
  }
  const jti = jtiPool.toString('base64url', jtiOffset, jtiOffset + JTI_BYTES);
  jtiOffset += JTI_BYTES;
  return jti;
}

/** The access-token lifetime of a client: its own, capped by the server maximum. */
export function accessTokenLifetime(ctx: ServerContext, client: ClientRecord): number {
  return Math.max(1, Math.floor(Math.min(client.accessTtl, oauthSettings(ctx).maxAccessTtl)));
}

/**
 * Issue an access token. JWTs follow RFC 9068: header `typ: at+jwt` and the signer's `kid`; claims `iss`,
 * `sub`, `aud` (one audience, a string: RFC 8707), `exp`, `iat`, `jti` (128 random bits), `client_id`, `scope`, then the allowed custom claims,
 * which can never override a registered one. Clients with `tokenFormat: 'opaque'` get 256 random bits
 * instead (`tsa_…`, see `createOpaqueToken`), stored only as a SHA-256 hash with the same information.
 *
 * @example
 * const { token, expiresIn } = await issueAccessToken(ctx, { client, sub: client.id, scope: ['read'] });
 */
export async function issueAccessToken(
  ctx: ServerContext,
  options: IssueAccessTokenOptions,
): Promise<IssuedAccessToken> {
  const { client, sub, scope } = options;
  const custom = options.claims ?? {};
  enforceClaimsPolicy(ctx, client.id, custom);

  const now = ctx.clock();
  const iat = Math.floor(now / 1000);
  let expiresIn = accessTokenLifetime(ctx, client);
  if (options.notAfter !== undefined) expiresIn = Math.max(1, Math.min(expiresIn, options.notAfter - iat));
  const bound = options.cnf !== undefined ? { cnf: { jkt: options.cnf.jkt } } : {};
  const delegated = options.act !== undefined ? { act: options.act } : {};
  const jti = nextJti();
  const audience = options.audience ?? resolveAudience(ctx, client, EMPTY_FORM);

  if (client.tokenFormat === 'opaque') {
    // `tsa_` + 256 random bits + checksum: scanners find a leaked one, and the SDK refuses a non-token
    // without a call. Lookup is by hash, so tokens minted before the prefix still introspect.
    const token = createOpaqueToken(OPAQUE_ACCESS_TOKEN_PREFIX);
    await ctx.store.insertOpaqueToken({
      hash: hashToken(token),
      clientId: client.id,
      sub,
      scope,
      audience: [audience],
      claims: JSON.stringify({ ...custom, ...options.authentication, ...delegated, ...bound }),
      jti,
      issuedAt: now,
      expiresAt: (iat + expiresIn) * 1000,
    });
    return { token, format: 'opaque', jti, expiresIn, exp: iat + expiresIn, ...bound };
  }

  // Custom claims first, registered ones last: even a policy gap could not let a custom claim win.
  const payload: JWTPayload = {
    ...custom,
    ...options.authentication,
    ...delegated,
    ...bound,
    iss: oauthSettings(ctx).issuer,
    sub,
    aud: audience,
    exp: iat + expiresIn,
    iat,
    jti,
    client_id: client.id,
  };
  if (scope.length > 0) payload.scope = scope.join(' ');
  const signer = ctx.keys.signer();
  const token =
    signer.signAsync !== undefined
      ? await signer.signAsync(payload, AT_JWT_HEADER)
      : signer.sign(payload, AT_JWT_HEADER);
  return { token, format: 'jwt', jti, expiresIn, exp: iat + expiresIn, ...bound };
}
