/**
 * The resource API under load: node:http on 127.0.0.1, port 0, one route per strategy (`GET /<name>`).
 * Each request's credential is validated by its strategy and `token_validation_ms` is measured here,
 * around the validation step alone (performance.now before the call, after its promise settles), so
 * neither HTTP parsing nor the load generator's own latency is in that figure. Work a strategy does after
 * validation (jwt-exchange's downstream call) runs after the clock stops and decides the answer.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { StrategyRecorder } from './metrics.js';
import type { CredentialKind, Outcome, Strategy, StrategyName } from './strategies.js';
import { failure } from './strategy-types.js';

/** Per strategy: when each revoked credential was first rejected. */
export interface RevocationObservation {
  /** ms since the epoch when the revocation of each credential started. */
  revokedAt: Map<string, number>;
  /** ms since the epoch of the first rejection after that. */
  firstRejectedAt: Map<string, number>;
  /** Requests with a revoked credential that were still accepted. */
  acceptedAfterRevocation: number;
}

export interface ResourceAPI {
  url: string;
  /** Start recording a phase for these strategies (fresh recorders); returns its start (performance.now()). */
  begin(names: readonly StrategyName[]): number;
  /** The recorders of the phase. */
  recorders(): Map<StrategyName, StrategyRecorder>;
  /** Requests served in the current phase, all strategies together (progress). */
  served(): number;
  /**
   * Resolves once no request is being validated or forwarded (or after `timeoutMs`): the load generator
   * stops with requests in flight, and the phase's figures are read after they are answered.
   */
  idle(timeoutMs: number): Promise<void>;
  /** Tell the API a credential is being revoked now: its rejections count as correct, not as errors. */
  markRevoked(kind: CredentialKind, credential: string, at: number): void;
  revocations(name: StrategyName): RevocationObservation | undefined;
  close(): Promise<void>;
}

const OK_BODY = Buffer.from('{"ok":true}');
const UNAVAILABLE_BODY = Buffer.from('{"error":"temporarily_unavailable"}');

/** Bytes of the request line and headers as the client sent them (HTTP/1.1). */
function requestBytes(req: IncomingMessage): number {
  // "GET /path HTTP/1.1\r\n" + "Name: value\r\n"… + "\r\n"
  let n = req.method!.length + 1 + req.url!.length + 11 + 2;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) n += raw[i]!.length + 2 + Buffer.byteLength(raw[i + 1]!) + 2;
  return n;
}

/** The credential after `Bearer ` or `DPoP ` (RFC 9449 §7.1), '' for anything else. */
function credentialOf(header: string): string {
  if (header.startsWith('Bearer ')) return header.slice(7);
  if (header.startsWith('DPoP ')) return header.slice(5);
  return '';
}

/** Bytes of the credential's header lines: Authorization, plus the DPoP proof when one was sent. */
function credentialBytes(header: string, proof: string | string[] | undefined): number {
  let n = header.length === 0 ? 0 : 'Authorization: '.length + Buffer.byteLength(header) + 2;
  if (typeof proof === 'string') n += 'DPoP: '.length + Buffer.byteLength(proof) + 2;
  return n;
}

/**
 * Start the resource API.
 *
 * @example
 * const api = await startResourceAPI(strategies);
 * api.begin(['jwt']); // … load …
 * const rec = api.recorders().get('jwt');
 */
export async function startResourceAPI(strategies: readonly Strategy[]): Promise<ResourceAPI> {
  const byRoute = new Map<string, Strategy>(strategies.map((s) => [`/${s.name}`, s]));
  let recorders = new Map<StrategyName, StrategyRecorder>();
  let served = 0;
  let inFlight = 0;
  let onIdle: (() => void) | undefined;
  const revokedByKind = new Map<CredentialKind, Map<string, number>>();
  const observations = new Map<StrategyName, RevocationObservation>();
  let origin = '';

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const strategy = byRoute.get(req.url ?? '');
    if (req.url === '/warmup') {
      // The HTTP path alone, for the warm-up before any phase: no validation, nothing recorded.
      res
        .writeHead(200, { 'content-type': 'application/json', 'content-length': OK_BODY.length })
        .end(OK_BODY);
      return;
    }
    if (strategy === undefined) {
      res.writeHead(404).end();
      return;
    }
    const header = req.headers.authorization ?? '';
    const credential = credentialOf(header);
    // The URL the API is reachable at, not the Host header: a proof's htu is compared with what this
    // service knows itself to be (RFC 9449 §4.3 (9)), never with what the client claims.
    const request = { credential, method: req.method ?? 'GET', url: origin + req.url, headers: req.headers };
    const t0 = performance.now();
    inFlight++;
    let pending: Promise<Outcome>;
    try {
      pending = strategy.validate(request);
    } catch (err) {
      // A strategy that throws instead of rejecting answers 503 like any undecided request, not a crash.
      pending = Promise.resolve(failure(err));
    }
    pending.then(async (validated) => {
      const ms = performance.now() - t0;
      const outcome: Outcome =
        validated.ok && validated.next
          ? { ...(await validated.next()), cacheHit: validated.cacheHit }
          : validated;
      const revoked = revokedByKind.get(strategy.kind)?.get(credential);
      let countsAsError = !outcome.ok;
      if (revoked !== undefined) {
        const obs = observations.get(strategy.name)!;
        if (outcome.ok) obs.acceptedAfterRevocation++;
        else {
          // Refusing a revoked credential is the right answer, not an error.
          countsAsError = false;
          if (!obs.firstRejectedAt.has(credential)) obs.firstRejectedAt.set(credential, Date.now());
        }
      }
      const rec = recorders.get(strategy.name);
      if (rec) {
        served++;
        rec.record(
          ms,
          !countsAsError,
          outcome.cacheHit,
          credentialBytes(header, req.headers.dpop),
          requestBytes(req),
          outcome.unavailable === true,
        );
      }
      if (--inFlight === 0) onIdle?.();
      if (outcome.ok) {
        res
          .writeHead(200, { 'content-type': 'application/json', 'content-length': OK_BODY.length })
          .end(OK_BODY);
      } else if (outcome.unavailable) {
        res
          .writeHead(503, { 'content-type': 'application/json', 'content-length': UNAVAILABLE_BODY.length })
          .end(UNAVAILABLE_BODY);
      } else {
        // The failure's code is in the body (the simulation's own tests read it); never the credential.
        const body = Buffer.from(JSON.stringify({ error: 'invalid_token', code: outcome.code }));
        res
          .writeHead(401, {
            'content-type': 'application/json',
            'content-length': body.length,
            'www-authenticate': `${strategy.kind === 'dpop' ? 'DPoP' : 'Bearer'} error="invalid_token"`,
          })
          .end(body);
      }
    });
  }

  const server = createServer({ keepAlive: true, keepAliveTimeout: 30_000 }, handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  origin = `http://127.0.0.1:${port}`;
  return {
    url: origin,
    begin(names) {
      for (const s of strategies) if (names.includes(s.name)) s.beginPhase?.();
      const now = performance.now();
      recorders = new Map(
        names.map((n) => {
          const r = new StrategyRecorder();
          r.start(now);
          return [n, r];
        }),
      );
      served = 0;
      return now;
    },
    recorders: () => recorders,
    served: () => served,
    idle: (timeoutMs) =>
      inFlight === 0
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            const timer = setTimeout(done, timeoutMs);
            function done() {
              clearTimeout(timer);
              onIdle = undefined;
              resolve();
            }
            onIdle = done;
          }),
    markRevoked(kind, credential, at) {
      let set = revokedByKind.get(kind);
      if (set === undefined) revokedByKind.set(kind, (set = new Map()));
      set.set(credential, at);
      for (const s of strategies) {
        if (s.kind !== kind) continue;
        let obs = observations.get(s.name);
        if (obs === undefined) {
          obs = { revokedAt: new Map(), firstRejectedAt: new Map(), acceptedAfterRevocation: 0 };
          observations.set(s.name, obs);
        }
        obs.revokedAt.set(credential, at);
      }
    },
    revocations: (name) => observations.get(name),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
