import type { ServerContext } from '../server/context.js';
import type { ClientRecord } from '../store/types.js';
import { hashToken } from './crypto.js';
import type { FormParams } from './form.js';
import { findRefreshToken, looksLikeJWT, verifyOwnAccessToken } from './own-tokens.js';
import { publishRevocation } from './revocation-feed.js';
import { recordRevocation } from './observe.js';

/** A JWT access token: its jti goes on the deny-list until its exp, and out to subscribed verifiers. */
async function revokeJWT(ctx: ServerContext, requester: ClientRecord, token: string): Promise<void> {
  const claims = await verifyOwnAccessToken(ctx, token);
  if (!claims || claims.client_id !== requester.id) return;
  const entry = await ctx.store.addRevocation({
    kind: 'jti',
    value: claims.jti,
    expiresAt: claims.exp * 1000,
    revokedAt: ctx.clock(),
  });
  recordRevocation(ctx, 'jti');
  await ctx.audit('token.revoked', { kind: 'jti', jti: claims.jti, clientId: requester.id, sub: claims.sub });
  await publishRevocation(ctx, entry);
}

/** An opaque access token is simply deleted; a refresh token takes its whole family with it. */
async function revokeStored(ctx: ServerContext, requester: ClientRecord, token: string): Promise<void> {
  const hash = hashToken(token);
  const opaque = await ctx.store.getOpaqueToken(hash);
  if (opaque) {
    if (opaque.clientId !== requester.id) return;
    if (await ctx.store.deleteOpaqueToken(hash)) {
      recordRevocation(ctx, 'opaque');
      await ctx.audit('token.revoked', {
        kind: 'opaque',
        jti: opaque.jti,
        clientId: requester.id,
        sub: opaque.sub,
      });
    }
    return;
  }
  const refresh = await findRefreshToken(ctx, token);
  if (!refresh || refresh.family.clientId !== requester.id) return;
  if (await ctx.store.revokeFamily(refresh.family.id, 'revoked', ctx.clock())) {
    recordRevocation(ctx, 'refresh_family');
    await ctx.audit('refresh.family_revoked', {
      familyId: refresh.family.id,
      clientId: requester.id,
      sub: refresh.family.sub,
    });
  }
}

/**
 * RFC 7009 token revocation. Only the client a token was issued to may revoke it; for any other client,
 * and for unknown, expired or malformed tokens, the answer is the same 200 with no effect (§2.2), so the
 * endpoint cannot be used to learn whether a token exists. `token_type_hint` is accepted and not needed.
 *
 * @example
 * await revokeToken(ctx, client, form);
 */
export async function revokeToken(
  ctx: ServerContext,
  requester: ClientRecord,
  form: FormParams,
): Promise<void> {
  const token = form.require('token');
  if (looksLikeJWT(token)) await revokeJWT(ctx, requester, token);
  else await revokeStored(ctx, requester, token);
}
