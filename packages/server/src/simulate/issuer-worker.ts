/**
 * The issuer's own thread. The simulated issuer runs in a worker_thread so that its work (introspection
 * answers, the JWKS, the revocation feed, minting and key rotation) has its own event loop, as a separate
 * service would, instead of queueing behind the resource API's requests. The main thread talks to it with
 * small request/answer messages (see issuer.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadConfig } from '../server/config.js';
import { startServer, type ServerHandle } from '../server/start.js';
import { createClient } from '../oauth/clients.js';
import { issueAccessToken } from '../oauth/access-token.js';
import { TOKEN_EXCHANGE_GRANT } from '../oauth/grants/index.js';
import { rotateKeys } from '../keys/key-manager.js';
import type { ClientRecord } from '../store/types.js';
import type { IssuerRequest, IssuerStarted, IssuerWorkerData } from './issuer.js';

const data = workerData as IssuerWorkerData;
const port = parentPort!;
let handle: ServerHandle | undefined;
const clients = new Map<string, ClientRecord>();

async function start(): Promise<IssuerStarted> {
  const config = loadConfig({
    values: {
      port: '0',
      host: '127.0.0.1',
      'data-dir': data.dataDir,
      'log-level': 'silent',
      'rate-limit-client': '0',
      'rate-limit-ip': '0',
      'jwks-max-age': `${data.jwksMaxAge}s`,
      'reload-interval': `${data.reloadInterval}s`,
      'claims-warn-bytes': '16384',
      'claims-max-bytes': '16384',
      'access-ttl': '15m',
    },
    // Not the user's environment: a TESSERA_STORE or TESSERA_KEK must not steer the simulation.
    env: {},
  });
  const h = (handle = await startServer(config));
  // The API introspects the apps' tokens: that needs the registered permission for its audience. Being
  // the registered resource server of that audience is also what lets it exchange the users' tokens
  // (RFC 8693) for its one downstream audience (jwt-exchange).
  const register = async (id: string, tokenFormat: 'jwt' | 'opaque', api = false) => {
    const { client, secret } = await createClient(
      h.ctx.store,
      {
        id,
        grants: api ? ['client_credentials', TOKEN_EXCHANGE_GRANT] : ['client_credentials'],
        audience: [data.audience],
        scope: ['read'],
        tokenFormat,
        ...(api && {
          introspectAudiences: [data.audience],
          exchangeAudiences: [data.downstreamAudience],
        }),
      },
      config,
      h.ctx.pepper,
    );
    clients.set(id, client);
    return { id, secret: secret! };
  };
  return {
    url: h.url,
    accessTtl: config.accessTtl,
    api: await register('sim-api', 'jwt', true),
    jwtClient: await register('sim-app-jwt', 'jwt'),
    opaqueClient: await register('sim-app-opaque', 'opaque'),
  };
}

async function handleRequest(req: IssuerRequest): Promise<unknown> {
  if (req.op === 'start') return start();
  const h = handle!;
  switch (req.op) {
    case 'mint': {
      const client = clients.get(req.format === 'jwt' ? 'sim-app-jwt' : 'sim-app-opaque')!;
      const out = [];
      for (const [i, sub] of req.subs.entries()) {
        const jkt = req.jkts?.[i];
        const issued = await issueAccessToken(h.ctx, {
          client,
          sub,
          scope: ['read'],
          ...(req.claims && { claims: req.claims }),
          ...(jkt !== undefined && { cnf: { jkt } }),
        });
        out.push({
          token: issued.token,
          jti: issued.jti,
          exp: Math.floor(h.ctx.clock() / 1000) + issued.expiresIn,
        });
      }
      return out;
    }
    case 'rotate': {
      // Forced: the rotation scenario rotates on purpose within one JWKS cache lifetime, to measure how each
      // strategy copes with a kid its cached set has never seen.
      const result = await rotateKeys(h.ctx.store, h.kek, h.ctx.config, {
        force: true,
        now: Date.now(),
        holder: h.ctx.instanceId,
      });
      // Sign with the promoted key at once rather than at the next reload.
      await h.keys.reload();
      return result.promoted;
    }
    case 'stop':
      await h.close();
      return null;
  }
}

port.on('message', (req: IssuerRequest) => {
  handleRequest(req).then(
    (result) => port.postMessage({ id: req.id, ok: true, result }),
    (err: unknown) => port.postMessage({ id: req.id, ok: false, error: (err as Error).message }),
  );
});
