/**
 * The downstream service of `jwt-exchange`: a second resource server (node:http on 127.0.0.1, port 0) that
 * the API calls on the user's behalf. It validates the exchanged token with the SDK like any resource
 * server (its own JWKS, its own audience), and accepts only delegated tokens whose outermost actor is the
 * API's client (RFC 8693 §4.1 `act`): the user's own token, replayed here, is refused on `aud`, and a token
 * the API obtained for itself (client_credentials) on the missing actor.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { actorChain, createVerifier, extractBearerToken, type Verifier } from '@tessera/jwt';
import { percentiles, SampleList, type Percentiles } from './metrics.js';
import { SIM_DOWNSTREAM_AUDIENCE } from './issuer.js';
import { accessTokenChecks, jwksDetails, openRemoteJWKS } from './sim-verifier.js';
import { failure, type StrategyContext } from './strategy-types.js';
import type { CountingFetcher } from './fetcher.js';

/** The one route of the downstream service. */
export const DOWNSTREAM_PATH = '/orders';

/** What the downstream service saw in one accepted token (for tests and the report's sample). */
export interface Delegation {
  sub: string | undefined;
  act: unknown;
}

export interface DownstreamService {
  url: string;
  /** Requests answered since the last reset, and how many were refused. */
  readonly requests: number;
  readonly refused: number;
  /** Percentiles of its own validation time since the last reset. */
  validation(): Percentiles;
  /** The first accepted tokens' `sub` and `act` (at most 100). */
  delegations(): Delegation[];
  reset(): void;
  details(): Record<string, unknown>;
  close(): Promise<void>;
}

const OK_BODY = Buffer.from('{"ok":true}');
const MAX_DELEGATIONS = 100;

/**
 * Start the downstream service; `apiClientId` is the only actor it accepts.
 *
 * @example
 * const downstream = await startDownstream(ctx, fetcher, 'sim-api');
 * // GET `${downstream.url}/orders` with `Authorization: Bearer <exchanged token>`
 */
export async function startDownstream(
  ctx: StrategyContext,
  fetcher: CountingFetcher,
  apiClientId: string,
): Promise<DownstreamService> {
  const jwks = await openRemoteJWKS(ctx, fetcher);
  let verifier: Verifier;
  try {
    verifier = createVerifier({
      ...accessTokenChecks(ctx, jwks, SIM_DOWNSTREAM_AUDIENCE),
      // A malformed or over-long `act` chain is refused by the verifier itself (the server's default depth).
      maxActorDepth: 4,
    });
  } catch (err) {
    jwks.close();
    throw err;
  }
  let samples = new SampleList();
  let requests = 0;
  let refused = 0;
  const seen: Delegation[] = [];

  function answer(res: ServerResponse, status: number, code?: string): void {
    requests++;
    if (status === 200) {
      res
        .writeHead(200, { 'content-type': 'application/json', 'content-length': OK_BODY.length })
        .end(OK_BODY);
      return;
    }
    refused++;
    const body = Buffer.from(JSON.stringify({ error: 'invalid_token', code }));
    res
      .writeHead(status, {
        'content-type': 'application/json',
        'content-length': body.length,
        ...(status === 401 && { 'www-authenticate': 'Bearer error="invalid_token"' }),
      })
      .end(body);
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    if (req.url !== DOWNSTREAM_PATH) {
      res.writeHead(404).end();
      return;
    }
    const bearer = extractBearerToken(req.headers.authorization);
    const token = bearer.status === 'ok' ? bearer.token : '';
    const t0 = performance.now();
    verifier.verify(token).then(
      ({ payload }) => {
        samples.push(performance.now() - t0);
        // RFC 8693 §4.1: the current actor is the outermost `act`; only the API may call on a user's behalf.
        if (actorChain(payload, { maxDepth: 4 })[0]?.sub !== apiClientId)
          return answer(res, 403, 'ERR_ACTOR_NOT_ALLOWED');
        if (seen.length < MAX_DELEGATIONS) seen.push({ sub: payload.sub, act: payload['act'] });
        answer(res, 200);
      },
      (err: unknown) => {
        samples.push(performance.now() - t0);
        const outcome = failure(err);
        answer(res, outcome.unavailable ? 503 : 401, outcome.code);
      },
    );
  }

  const server = createServer({ keepAlive: true, keepAliveTimeout: 30_000 }, handle);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
  } catch (err) {
    verifier.close();
    jwks.close();
    throw err;
  }
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get requests() {
      return requests;
    },
    get refused() {
      return refused;
    },
    validation: () => percentiles(samples.view()),
    delegations: () => seen.map((d) => ({ ...d })),
    reset() {
      samples = new SampleList();
      requests = 0;
      refused = 0;
    },
    details: () => ({ jwks: jwksDetails(jwks), requests, refused }),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }).finally(() => {
        verifier.close();
        jwks.close();
      }),
  };
}
