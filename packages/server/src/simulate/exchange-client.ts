/**
 * The resource API's side of RFC 8693 token exchange: one `POST /oauth/token` with
 * `grant_type=urn:ietf:params:oauth:grant-type:token-exchange`, the user's access token as `subject_token`
 * and the downstream service as `audience`, authenticated as the API's own client (client_secret_basic),
 * through the strategy's counting fetcher so every exchange is an issuer call in the report.
 */
import { basicAuthorization, type Fetcher } from '@tessera/jwt';

export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

/** Why an exchange gave no token: refused by the issuer (401 for the user), or the issuer unreachable (503). */
export class ExchangeFailure extends Error {
  constructor(
    readonly code: 'ERR_EXCHANGE_REFUSED' | 'ERR_EXCHANGE_UNAVAILABLE',
    message: string,
  ) {
    super(message);
    this.name = 'ExchangeFailure';
  }
}

/** An exchanged access token and its expiry (seconds since the epoch). */
export interface ExchangedToken {
  token: string;
  exp: number;
}

export interface ExchangeClientOptions {
  tokenEndpoint: string;
  clientId: string;
  clientSecret: string;
  fetcher: Fetcher;
  /** Whole-call deadline, ms. Default 5000. */
  timeoutMs?: number;
}

export interface ExchangeClient {
  exchange(subjectToken: string, audience: string): Promise<ExchangedToken>;
}

/**
 * Create the exchange client.
 *
 * @example
 * const client = createExchangeClient({ tokenEndpoint, clientId: 'sim-api', clientSecret, fetcher });
 * const { token } = await client.exchange(userToken, 'https://orders.example');
 */
export function createExchangeClient(options: ExchangeClientOptions): ExchangeClient {
  const url = new URL(options.tokenEndpoint);
  const authorization = basicAuthorization(options.clientId, options.clientSecret);
  const timeoutMs = options.timeoutMs ?? 5000;
  return {
    async exchange(subjectToken, audience) {
      const body = new URLSearchParams({
        grant_type: TOKEN_EXCHANGE_GRANT,
        subject_token: subjectToken,
        subject_token_type: ACCESS_TOKEN_TYPE,
        audience,
      }).toString();
      let res;
      try {
        res = await options.fetcher.fetch(url, {
          method: 'POST',
          headers: {
            authorization,
            'content-type': 'application/x-www-form-urlencoded',
            accept: 'application/json',
          },
          body,
          timeoutMs,
          maxBytes: 64 * 1024,
        });
      } catch {
        throw new ExchangeFailure('ERR_EXCHANGE_UNAVAILABLE', 'the token endpoint could not be reached');
      }
      const answer = parse(res.body);
      if (res.status === 200 && typeof answer?.access_token === 'string') {
        const expiresIn = typeof answer.expires_in === 'number' ? answer.expires_in : 0;
        return { token: answer.access_token, exp: Math.floor(Date.now() / 1000) + expiresIn };
      }
      // 4xx with an OAuth error is the issuer's "no" (invalid_grant for a revoked subject token, …);
      // anything else (5xx, garbage) is "could not decide". The error code names it, never the token.
      const wire = typeof answer?.error === 'string' && /^[a-z_]{1,64}$/.test(answer.error);
      const error = wire ? (answer!.error as string) : `HTTP ${res.status}`;
      if (res.status >= 400 && res.status < 500 && wire)
        throw new ExchangeFailure('ERR_EXCHANGE_REFUSED', `token exchange refused: ${error}`);
      throw new ExchangeFailure('ERR_EXCHANGE_UNAVAILABLE', `token exchange failed: ${error}`);
    },
  };
}

function parse(body: Buffer): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(body.toString('utf8'));
    return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
