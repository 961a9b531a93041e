import { exchangeToken } from '../../exchange/index.js';
import type { GrantHandler } from './types.js';

/** RFC 8693 §2.1 grant type. */
export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';

/**
 * RFC 8693 token exchange, for confidential clients only (a public client is refused by checkGrantAllowed):
 * a service exchanges a token it received for a narrower one for a downstream audience, with `act` naming
 * it (src/exchange/, docs/token-exchange.md). A DPoP proof on the request binds the new token (RFC 9449 §5).
 *
 * @example
 * const body = await tokenExchangeGrant(ctx, client, form, { dpop: { jkt } });
 */
export const tokenExchangeGrant: GrantHandler = (ctx, client, form, request) =>
  exchangeToken(ctx, client, form, request);
