import { createHash } from 'node:crypto';
import type { JWTPayload } from '@tessera/jwt';
import type { ServerContext } from '../server/context.js';
import type { ClientRecord, UserRecord } from '../store/types.js';
import { oauthSettings } from '../oauth/settings.js';

/** OIDC Core §2: ID tokens are plain JWTs; typed `JWT` so they can never pass as `at+jwt` access tokens. */
const ID_TOKEN_HEADER = { typ: 'JWT' } as const;

/**
 * OIDC Core §3.1.3.6: at_hash is the left half of the hash of the access token's ASCII, with the hash of the
 * ID token's signing algorithm (SHA-256 for ES256/RS256/PS256; SHA-512 for EdDSA with Ed25519, per the
 * OpenID Foundation's EdDSA errata usage).
 */
export function atHash(alg: string, accessToken: string): string {
  const hash =
    alg === 'EdDSA' || alg === 'Ed25519' || alg.endsWith('512')
      ? 'sha512'
      : alg.endsWith('384')
        ? 'sha384'
        : 'sha256';
  const digest = createHash(hash).update(accessToken, 'ascii').digest();
  return digest.subarray(0, digest.length / 2).toString('base64url');
}

/** Profile claims the granted scopes allow (OIDC Core §5.4): `profile` → name, `email` → email, email_verified. */
export function scopedUserClaims(user: UserRecord, scope: readonly string[]): Record<string, unknown> {
  const claims: Record<string, unknown> = {};
  if (scope.includes('profile') && user.name !== null) claims.name = user.name;
  if (scope.includes('email')) {
    claims.email = user.email;
    claims.email_verified = user.emailVerified;
  }
  return claims;
}

export interface IssueIDTokenOptions {
  client: ClientRecord;
  user: UserRecord;
  scope: readonly string[];
  /** Seconds; the access token's lifetime. */
  expiresIn: number;
  /** ms */
  authTime: number;
  acr: string;
  amr: string[];
  /** `local` or the upstream identity provider's id (federation). */
  idp?: string;
  sid: string;
  nonce: string | null;
  accessToken: string;
}

/**
 * Sign an ID token (OIDC Core §2, §3.1.3.6) with the current signing key.
 *
 * @example
 * const idToken = await issueIDToken(ctx, { client, user, scope, expiresIn, ... });
 */
export async function issueIDToken(ctx: ServerContext, options: IssueIDTokenOptions): Promise<string> {
  const signer = ctx.keys.signer();
  const iat = Math.floor(ctx.clock() / 1000);
  const payload: JWTPayload = {
    ...scopedUserClaims(options.user, options.scope),
    iss: oauthSettings(ctx).issuer,
    sub: options.user.id,
    aud: options.client.id,
    azp: options.client.id,
    exp: iat + options.expiresIn,
    iat,
    auth_time: Math.floor(options.authTime / 1000),
    sid: options.sid,
    at_hash: atHash(signer.alg, options.accessToken),
    acr: options.acr,
    amr: options.amr,
    ...(options.idp !== undefined && { idp: options.idp }),
  };
  if (options.nonce !== null) payload.nonce = options.nonce;
  return signer.signAsync !== undefined
    ? signer.signAsync(payload, ID_TOKEN_HEADER)
    : signer.sign(payload, ID_TOKEN_HEADER);
}
