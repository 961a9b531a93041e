/**
 * Tessera as an OpenID Connect relying party: the contract shared by federation (Tessera signing users in
 * through an upstream identity provider) and `tessera proxy` (an app's gate signing users in through an
 * issuer). One implementation of discovery, the authorization code flow with PKCE, `state` and `nonce`, the
 * ID token checks and refresh, so both features get every check and neither has its own copy.
 */
import type { Fetcher, JWTPayload } from '@tessera/jwt';

/** The parts of an OpenID Provider's metadata (OIDC Discovery §3, RFC 8414) a relying party uses. */
export interface ProviderMetadata {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  jwks_uri: string;
  userinfo_endpoint?: string;
  end_session_endpoint?: string;
  id_token_signing_alg_values_supported?: string[];
  code_challenge_methods_supported?: string[];
  /** RFC 9207 §3: the provider puts `iss` in its authorization responses. */
  authorization_response_iss_parameter_supported?: boolean;
}

/** Options for discoverProvider. */
export interface DiscoverOptions {
  fetcher?: Fetcher;
  /** Whole-request deadline; default 5 s. */
  timeoutMs?: number;
}

/** Options for createRelyingParty. */
export interface RelyingPartyOptions {
  metadata: ProviderMetadata;
  clientId: string;
  /** Sent as `client_secret_basic` (RFC 6749 §2.3.1). */
  clientSecret: string;
  /** Our callback, registered at the provider. */
  redirectUri: string;
  /** Default `openid`; must contain `openid`. */
  scope?: string;
  fetcher?: Fetcher;
  /** Milliseconds since the epoch; default Date.now. */
  clock?: () => number;
  /** Seconds of skew allowed on `exp`/`iat`/`nbf`; default 60. */
  clockTolerance?: number;
}

/** What must be kept (server-side or in an encrypted cookie) between start and finish; all single use. */
export interface PendingSignIn {
  state: string;
  nonce: string;
  codeVerifier: string;
  /** Milliseconds since the epoch, so a caller can expire abandoned sign-ins. */
  createdAt: number;
}

/** Tokens from the provider's token endpoint. */
export interface TokenSet {
  accessToken: string;
  tokenType: string;
  /** Milliseconds since the epoch, from `expires_in`. */
  expiresAt?: number;
  refreshToken?: string;
  idToken?: string;
  scope?: string;
}

/** A finished sign-in: the tokens and the verified ID token's claims. */
export interface SignInResult {
  tokens: TokenSet;
  claims: JWTPayload;
}

/** One configured provider. */
export interface RelyingParty {
  readonly metadata: ProviderMetadata;
  /** The authorization URL (code, S256 PKCE, fresh `state` and `nonce`) and what to keep until the callback. */
  start(extra?: Record<string, string>): { url: URL; pending: PendingSignIn };
  /**
   * Finish at the callback: `state` (CSRF, RFC 6749 §10.12), `iss` (mix-up, RFC 9207), the provider's
   * `error`, then the code exchange with the verifier (RFC 7636) and the ID token checks (OIDC Core §3.1.3.7:
   * signature by a key of the provider's JWKS with an algorithm it advertises, `iss`, `aud`, `azp`, `exp`,
   * `iat`, `nonce`). Rejects with RelyingPartyError.
   */
  finish(
    callback: URLSearchParams,
    pending: PendingSignIn,
    extra?: Record<string, string>,
  ): Promise<SignInResult>;
  /** Refresh (RFC 6749 §6). A new ID token, if any, is verified like the first (OIDC Core §12.2). */
  refresh(refreshToken: string, extra?: Record<string, string>): Promise<TokenSet & { claims?: JWTPayload }>;
  /** The provider's RP-initiated logout URL, when it has one. */
  endSessionUrl(options: {
    idTokenHint?: string;
    postLogoutRedirectUri?: string;
    state?: string;
  }): URL | undefined;
  /** Stop the remote key set's background work. */
  close(): void;
}

/** Stable codes of RelyingPartyError. */
export type RelyingPartyErrorCode =
  /** The provider could not be reached, timed out, or answered something that is not its metadata or tokens. */
  | 'ERR_UPSTREAM_UNAVAILABLE'
  /** The provider's metadata names another issuer, or lacks a required endpoint. */
  | 'ERR_UPSTREAM_METADATA_INVALID'
  /** The callback's `state` is missing or not the one we sent. */
  | 'ERR_UPSTREAM_STATE_MISMATCH'
  /** The callback's `iss` is missing (when advertised) or names another issuer: a mix-up. */
  | 'ERR_UPSTREAM_ISSUER_MISMATCH'
  /** The provider answered with an OAuth `error` (e.g. access_denied). */
  | 'ERR_UPSTREAM_DENIED'
  /** The token endpoint refused the code or the refresh token. */
  | 'ERR_UPSTREAM_GRANT_REFUSED'
  /** The ID token failed a check: signature, algorithm, iss, aud, azp, exp, iat or nonce. */
  | 'ERR_UPSTREAM_ID_TOKEN_INVALID';
