/**
 * Token exchange (RFC 8693, issue 15): a service swaps a token it received for a new, narrower token for
 * a downstream audience, carrying the delegation chain in `act`. docs/token-exchange.md describes the rules.
 */
export { exchangeToken } from './exchange.js';
export { buildActorClaim, checkMayAct } from './actors.js';
export { checkExchangeSettings, parseTrustIssuer } from './client-settings.js';
export type { ExchangeSettingsResult } from './client-settings.js';
export { verifyForeignToken } from './foreign.js';
export { carriedAuthentication, carriedClaims, exchangeScope } from './narrow.js';
export { ACCESS_TOKEN_TYPE, JWT_TOKEN_TYPE, readExchangeRequest } from './request.js';
export type { ExchangeRequest } from './request.js';
export { meantForClient, resolveSubjectToken } from './subject.js';
export type { SubjectToken } from './subject.js';
