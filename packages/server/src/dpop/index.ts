/**
 * DPoP in the authorization server (RFC 9449): the token endpoint's proof check, key bindings of refresh
 * families and codes, server nonces, proof replay (jti) records, and the userinfo presentation check.
 * Proof parsing and signature verification are the SDK's (`verifyDpopProof` in @tessera/jwt).
 */
export { checkTokenRequestProof } from './token-request.js';
export { checkProof, readDpopHeader, DPOP_ALGORITHMS, type ProofTarget } from './proof.js';
export { refreshFamilyKey, requireBoundKey } from './binding.js';
export { consumeProofId } from './replay.js';
export { dpopEndpoints, dpopSettings, type DpopSettings } from './settings.js';
export {
  checkResourcePresentation,
  DpopChallengeError,
  extractDpopToken,
  type Presentation,
} from './resource-request.js';
