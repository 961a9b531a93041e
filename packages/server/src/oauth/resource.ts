import type { ServerContext } from '../server/context.js';
import { invalidTarget } from '../server/errors.js';
import type { ClientRecord } from '../store/types.js';
import type { FormParams } from './form.js';
import { oauthSettings } from './settings.js';

/** RFC 3986 §3.1: an absolute URI starts with a scheme. */
const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/;

/** RFC 8707 §2: a `resource` value is an absolute URI without a fragment. */
function checkResourceValue(value: string): void {
  if (!SCHEME.test(value) || value.includes('#') || /\s/.test(value) || !URL.canParse(value)) {
    throw invalidTarget('"resource" must be an absolute URI without a fragment');
  }
}

/**
 * The one audience of the token a request asks for (issue 13, RFC 8707). The client names it with
 * `resource` (RFC 8707 §2: absolute URI, no fragment; it may repeat, but Tessera issues one audience per
 * token, so two distinct values are `invalid_target`) or `audience` (a plain string, as several servers
 * accept); naming both is allowed only when they agree. The value must be one of `allowed` (the client's
 * registered audiences), else `invalid_target`. Named none: the only registered audience, or the issuer when
 * the client registered none; with several, `invalid_target` asking the client to name one. One audience
 * per token means a token for one API cannot be replayed at another that the client may also call.
 *
 * @example
 * const aud = resolveAudience(ctx, client, form); // 'https://orders.example'
 */
export function resolveAudience(
  ctx: ServerContext,
  client: ClientRecord,
  form: FormParams,
  allowed: readonly string[] = client.audience,
): string {
  const sent = form.getAll('resource');
  const resources = sent.length > 1 ? [...new Set(sent)] : sent;
  for (const value of resources) checkResourceValue(value);
  if (resources.length > 1) {
    throw invalidTarget(
      'Tessera issues one audience per token: name one "resource", or request one token per resource',
    );
  }
  const audience = form.get('audience');
  if (audience !== undefined && resources.length === 1 && audience !== resources[0]) {
    throw invalidTarget('"resource" and "audience" name different audiences');
  }
  const requested = audience ?? resources[0];
  const { issuer } = oauthSettings(ctx);
  if (allowed.length === 0) {
    if (requested === undefined || requested === issuer) return issuer;
    throw invalidTarget('the requested audience is not registered for the client');
  }
  if (requested === undefined) {
    if (allowed.length === 1) return allowed[0]!;
    throw invalidTarget(
      'the client has several audiences: name one with the "resource" or "audience" parameter',
    );
  }
  if (!allowed.includes(requested)) {
    throw invalidTarget('the requested audience is not registered for the client');
  }
  return requested;
}
