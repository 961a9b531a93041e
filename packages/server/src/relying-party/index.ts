export { discoverProvider } from './discover.js';
export { RelyingPartyError } from './errors.js';
export { createRelyingParty } from './relying-party.js';
export type {
  DiscoverOptions,
  PendingSignIn,
  ProviderMetadata,
  RelyingParty,
  RelyingPartyErrorCode,
  RelyingPartyOptions,
  SignInResult,
  TokenSet,
} from './types.js';
