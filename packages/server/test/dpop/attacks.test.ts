/**
 * One test per attack on DPoP at the token endpoint and userinfo (RFC 9449), each asserting the exact wire
 * error. Proofs are made with jose (test/dpop/proofs.ts) so every part can be shaped; the server is real
 * (startServer on 127.0.0.1:0), requests in-process unless the network is the point.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import * as jose from 'jose';
import { basic, startHarness, type Harness, type InjectResult } from '../oauth/harness.js';
import {
  addCodeClient,
  createUser,
  getCode,
  redeem,
  signIn,
  type Browser,
  type CodeClient,
} from '../oidc/helpers.js';
import { hmacProof, makeProof, makeProofKey, proofClaims, unsignedProof, type ProofKey } from './proofs.js';

const NO_LIMITS = { 'rate-limit-client': '0', 'rate-limit-ip': '0' };

function assertError(res: InjectResult, status: number, error: string, description?: RegExp): void {
  assert.equal(res.status, status, res.body);
  const body = res.json();
  assert.equal(body.error, error);
  assert.equal(body.access_token, undefined);
  if (description !== undefined) assert.match(String(body.error_description), description);
}

describe('DPoP attacks at the token endpoint', () => {
  let h: Harness;
  let auth: string;
  let key: ProofKey;
  let tokenUrl: string;

  before(async () => {
    h = await startHarness(NO_LIMITS);
    const { secret } = await h.addClient({ id: 'svc', grants: ['client_credentials'], scope: ['read'] });
    auth = basic('svc', secret!);
    key = await makeProofKey();
    tokenUrl = `${h.url}/oauth/token`;
  });
  after(() => h.close());

  const ccWith = (proof: string | undefined, extra: Record<string, string> = {}) =>
    h.post(
      '/oauth/token',
      { grant_type: 'client_credentials' },
      { authorization: auth, ...(proof !== undefined && { dpop: proof }), ...extra },
    );

  it('a valid proof binds the token: token_type DPoP and cnf.jkt of the proof key', async () => {
    const res = await ccWith(await makeProof(key, { htu: tokenUrl }));
    assert.equal(res.status, 200, res.body);
    const body = res.json();
    assert.equal(body.token_type, 'DPoP');
    assert.deepEqual(jose.decodeJwt(String(body.access_token)).cnf, { jkt: key.jkt });
  });

  it('replayed proof (same jti): invalid_dpop_proof, the second time', async () => {
    const proof = await makeProof(key, { htu: tokenUrl });
    assert.equal((await ccWith(proof)).status, 200);
    assertError(await ccWith(proof), 400, 'invalid_dpop_proof', /already used/);
  });

  it('a jti reused by another key is not a replay (ids are per key)', async () => {
    const other = await makeProofKey();
    const jti = `shared-${Date.now()}`;
    assert.equal((await ccWith(await makeProof(key, { htu: tokenUrl, jti }))).status, 200);
    assert.equal((await ccWith(await makeProof(other, { htu: tokenUrl, jti }))).status, 200);
  });

  it('proof for another method (htm GET): invalid_dpop_proof', async () => {
    assertError(await ccWith(await makeProof(key, { htu: tokenUrl, htm: 'GET' })), 400, 'invalid_dpop_proof');
  });

  it('proof for another URL (htu of another endpoint): invalid_dpop_proof', async () => {
    const proof = await makeProof(key, { htu: `${h.url}/oauth/introspect` });
    assertError(await ccWith(proof), 400, 'invalid_dpop_proof');
  });

  it('proof for another server, with a Host header to match it: invalid_dpop_proof (htu is from the issuer)', async () => {
    const proof = await makeProof(key, { htu: 'http://evil.example/oauth/token' });
    assertError(await ccWith(proof, { host: 'evil.example' }), 400, 'invalid_dpop_proof');
  });

  it('stale iat (10 minutes old): invalid_dpop_proof', async () => {
    const iat = Math.floor(Date.now() / 1000) - 600;
    assertError(await ccWith(await makeProof(key, { htu: tokenUrl, iat })), 400, 'invalid_dpop_proof');
  });

  it('future iat (10 minutes ahead): invalid_dpop_proof', async () => {
    const iat = Math.floor(Date.now() / 1000) + 600;
    assertError(await ccWith(await makeProof(key, { htu: tokenUrl, iat })), 400, 'invalid_dpop_proof');
  });

  it('HMAC proof (alg HS256): invalid_dpop_proof', async () => {
    assertError(await ccWith(await hmacProof(key.jwk, proofClaims(tokenUrl))), 400, 'invalid_dpop_proof');
  });

  it('unsigned proof (alg none): invalid_dpop_proof', async () => {
    const proof = unsignedProof({ typ: 'dpop+jwt', alg: 'none', jwk: key.jwk }, proofClaims(tokenUrl));
    assertError(await ccWith(proof), 400, 'invalid_dpop_proof');
  });

  it('proof whose header jwk carries private key members: invalid_dpop_proof', async () => {
    const privateJwk = await jose.exportJWK(key.privateKey);
    assert.ok(privateJwk.d !== undefined);
    const proof = await makeProof(key, { htu: tokenUrl, header: { jwk: privateJwk } });
    assertError(await ccWith(proof), 400, 'invalid_dpop_proof');
  });

  it('proof typed JWT instead of dpop+jwt: invalid_dpop_proof', async () => {
    const proof = await makeProof(key, { htu: tokenUrl, header: { typ: 'JWT' } });
    assertError(await ccWith(proof), 400, 'invalid_dpop_proof');
  });

  it('proof signed by another key than its header names: invalid_dpop_proof', async () => {
    const other = await makeProofKey();
    const proof = await makeProof(key, { htu: tokenUrl, header: { jwk: other.jwk } });
    assertError(await ccWith(proof), 400, 'invalid_dpop_proof');
  });

  it('garbage in the DPoP header: invalid_dpop_proof, not a 500', async () => {
    assertError(await ccWith('not-a-jwt'), 400, 'invalid_dpop_proof');
  });

  it('two DPoP headers on the wire: invalid_dpop_proof', async () => {
    const first = await makeProof(key, { htu: tokenUrl });
    const second = await makeProof(key, { htu: tokenUrl });
    const url = new URL(tokenUrl);
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          method: 'POST',
          headers: {
            authorization: auth,
            'content-type': 'application/x-www-form-urlencoded',
            dpop: [first, second],
          },
        },
        (response) => {
          let body = '';
          response.on('data', (d) => (body += String(d)));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
      req.end('grant_type=client_credentials');
    });
    assert.equal(res.status, 400);
    assert.equal(JSON.parse(res.body).error, 'invalid_dpop_proof');
  });

  it('a client registered --dpop required without a proof: invalid_dpop_proof; with one it gets a bound token', async () => {
    const { secret } = await h.addClient({
      id: 'strict',
      grants: ['client_credentials'],
      dpopBoundAccessTokens: true,
    });
    const strictAuth = basic('strict', secret!);
    const form = { grant_type: 'client_credentials' };
    assertError(
      await h.post('/oauth/token', form, { authorization: strictAuth }),
      400,
      'invalid_dpop_proof',
      /must send a DPoP proof/,
    );
    const bound = await h.post('/oauth/token', form, {
      authorization: strictAuth,
      dpop: await makeProof(key, { htu: tokenUrl }),
    });
    assert.equal(bound.status, 200, bound.body);
    assert.equal(bound.json().token_type, 'DPoP');
  });

  it('introspection of a bound JWT and a bound opaque token answers cnf and token_type DPoP', async () => {
    const { secret } = await h.addClient({
      id: 'opaque-svc',
      grants: ['client_credentials'],
      tokenFormat: 'opaque',
    });
    const opaqueAuth = basic('opaque-svc', secret!);
    const opaque = await h.post(
      '/oauth/token',
      { grant_type: 'client_credentials' },
      { authorization: opaqueAuth, dpop: await makeProof(key, { htu: tokenUrl }) },
    );
    assert.equal(opaque.json().token_type, 'DPoP');
    const jwt = await ccWith(await makeProof(key, { htu: tokenUrl }));
    for (const [token, as] of [
      [String(opaque.json().access_token), opaqueAuth],
      [String(jwt.json().access_token), auth],
    ] as const) {
      const answer = (await h.post('/oauth/introspect', { token }, { authorization: as })).json();
      assert.equal(answer.active, true);
      assert.equal(answer.token_type, 'DPoP');
      assert.deepEqual(answer.cnf, { jkt: key.jkt });
    }
    const plain = await ccWith(undefined);
    assert.equal(plain.json().token_type, 'Bearer');
    const answer = (
      await h.post('/oauth/introspect', { token: String(plain.json().access_token) }, { authorization: auth })
    ).json();
    assert.equal(answer.token_type, 'Bearer');
    assert.equal(answer.cnf, undefined);
  });
});

describe('DPoP attacks on bound refresh tokens, codes and userinfo', () => {
  let h: Harness;
  let spa: CodeClient;
  let web: CodeClient;
  let browser: Browser;
  let key: ProofKey;
  let tokenUrl: string;
  let userinfoUrl: string;

  before(async () => {
    h = await startHarness(NO_LIMITS);
    spa = await addCodeClient(h, 'spa', { authMethod: 'none' });
    web = await addCodeClient(h, 'web');
    browser = await signIn(h, await createUser(h));
    key = await makeProofKey();
    tokenUrl = `${h.url}/oauth/token`;
    userinfoUrl = `${h.url}/oauth/userinfo`;
  });
  after(() => h.close());

  async function redeemWith(client: CodeClient, proof: string | undefined, extra = {}) {
    const { code, verifier } = await getCode(h, client, browser, extra);
    const form = { code, code_verifier: verifier, redirect_uri: client.redirectUri };
    if (proof === undefined) return redeem(h, client, form);
    // redeem() has no header option: the same request, by hand.
    const headers: Record<string, string> = { dpop: proof };
    const body: Record<string, string> = { grant_type: 'authorization_code', ...form };
    if (client.secret !== undefined) headers.authorization = basic(client.record.id, client.secret);
    else body.client_id = client.record.id;
    return h.post('/oauth/token', body, headers);
  }

  const refresh = (refreshToken: string, proof: string | undefined) =>
    h.post(
      '/oauth/token',
      { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: 'spa' },
      proof === undefined ? {} : { dpop: proof },
    );

  it("a public client's refresh token is bound: refresh with its key works, token after token", async () => {
    const first = await redeemWith(spa, await makeProof(key, { htu: tokenUrl }));
    assert.equal(first.status, 200, first.body);
    assert.equal(first.json().token_type, 'DPoP');
    const second = await refresh(String(first.json().refresh_token), await makeProof(key, { htu: tokenUrl }));
    assert.equal(second.status, 200, second.body);
    assert.deepEqual(jose.decodeJwt(String(second.json().access_token)).cnf, { jkt: key.jkt });
  });

  it("refresh of a public client's bound token with another key: invalid_grant, and the token still works", async () => {
    const first = await redeemWith(spa, await makeProof(key, { htu: tokenUrl }));
    const stolen = String(first.json().refresh_token);
    const thief = await makeProofKey();
    assertError(
      await refresh(stolen, await makeProof(thief, { htu: tokenUrl })),
      400,
      'invalid_grant',
      /bound to another DPoP key/,
    );
    // Checked before rotation: the thief's attempt burned nothing.
    assert.equal((await refresh(stolen, await makeProof(key, { htu: tokenUrl }))).status, 200);
  });

  it("refresh of a public client's bound token without a proof: invalid_dpop_proof", async () => {
    const first = await redeemWith(spa, await makeProof(key, { htu: tokenUrl }));
    assertError(await refresh(String(first.json().refresh_token), undefined), 400, 'invalid_dpop_proof');
  });

  it("a confidential client's refresh token is not bound; each new access token binds to the proof sent", async () => {
    const first = await redeemWith(web, await makeProof(key, { htu: tokenUrl }));
    assert.equal(first.json().token_type, 'DPoP');
    const other = await makeProofKey();
    const res = await h.post(
      '/oauth/token',
      { grant_type: 'refresh_token', refresh_token: String(first.json().refresh_token) },
      { authorization: basic('web', web.secret!), dpop: await makeProof(other, { htu: tokenUrl }) },
    );
    assert.equal(res.status, 200, res.body);
    assert.deepEqual(jose.decodeJwt(String(res.json().access_token)).cnf, { jkt: other.jkt });
  });

  it('a code requested with dpop_jkt, redeemed without a proof: invalid_dpop_proof', async () => {
    assertError(await redeemWith(web, undefined, { dpop_jkt: key.jkt }), 400, 'invalid_dpop_proof');
  });

  it('a code requested with dpop_jkt, redeemed with a proof by another key: invalid_grant', async () => {
    const thief = await makeProofKey();
    assertError(
      await redeemWith(web, await makeProof(thief, { htu: tokenUrl }), { dpop_jkt: key.jkt }),
      400,
      'invalid_grant',
      /bound to another DPoP key/,
    );
  });

  it('a malformed dpop_jkt is refused at the authorization endpoint', async () => {
    await assert.rejects(getCode(h, web, browser, { dpop_jkt: 'short' }), /invalid_request|dpop_jkt/);
  });

  async function boundUserToken(): Promise<string> {
    const res = await redeemWith(web, await makeProof(key, { htu: tokenUrl }), { dpop_jkt: key.jkt });
    assert.equal(res.status, 200, res.body);
    return String(res.json().access_token);
  }

  const userinfo = (headers: Record<string, string>) =>
    h.server.app.inject({ method: 'GET', url: '/oauth/userinfo', headers });

  it('userinfo answers a bound token presented as DPoP with a valid proof', async () => {
    const token = await boundUserToken();
    const res = await userinfo({
      authorization: `DPoP ${token}`,
      dpop: await makeProof(key, { htu: userinfoUrl, htm: 'GET', accessToken: token }),
    });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(JSON.parse(res.body).sub, browser.user.id);
  });

  it('userinfo: a bound token sent as Bearer is refused (401 invalid_token, DPoP challenge)', async () => {
    const token = await boundUserToken();
    const res = await userinfo({ authorization: `Bearer ${token}` });
    assert.equal(res.statusCode, 401);
    assert.equal(JSON.parse(res.body).error, 'invalid_token');
    assert.match(
      String(res.headers['www-authenticate']),
      /^DPoP .*algs="[^"]*ES256[^"]*".*error="invalid_token"/,
    );
  });

  it('userinfo: a bound token with a proof carrying the ath of another token: 401 invalid_dpop_proof', async () => {
    const token = await boundUserToken();
    const res = await userinfo({
      authorization: `DPoP ${token}`,
      dpop: await makeProof(key, { htu: userinfoUrl, htm: 'GET', accessToken: `${token}x` }),
    });
    assert.equal(res.statusCode, 401);
    assert.equal(JSON.parse(res.body).error, 'invalid_dpop_proof');
    assert.match(String(res.headers['www-authenticate']), /^DPoP .*error="invalid_dpop_proof"/);
  });

  it('userinfo: a bound token with a valid proof by another key: 401 invalid_dpop_proof', async () => {
    const token = await boundUserToken();
    const thief = await makeProofKey();
    const res = await userinfo({
      authorization: `DPoP ${token}`,
      dpop: await makeProof(thief, { htu: userinfoUrl, htm: 'GET', accessToken: token }),
    });
    assert.equal(res.statusCode, 401);
    assert.equal(JSON.parse(res.body).error, 'invalid_dpop_proof');
  });

  it('userinfo: a bound token as DPoP without a proof: 401 invalid_dpop_proof', async () => {
    const token = await boundUserToken();
    const res = await userinfo({ authorization: `DPoP ${token}` });
    assert.equal(res.statusCode, 401);
    assert.equal(JSON.parse(res.body).error, 'invalid_dpop_proof');
  });

  it('userinfo: an invalid token presented with the DPoP scheme gets a DPoP challenge (401 invalid_token)', async () => {
    const token = `${await boundUserToken()}x`;
    const res = await userinfo({
      authorization: `DPoP ${token}`,
      dpop: await makeProof(key, { htu: userinfoUrl, htm: 'GET', accessToken: token }),
    });
    assert.equal(res.statusCode, 401);
    assert.equal(JSON.parse(res.body).error, 'invalid_token');
    assert.match(String(res.headers['www-authenticate']), /^DPoP .*error="invalid_token"/);
  });

  it('userinfo: an unbound (bearer) token presented with the DPoP scheme: 401 invalid_token', async () => {
    const res = await redeemWith(web, undefined);
    const token = String(res.json().access_token);
    assert.equal(res.json().token_type, 'Bearer');
    const answer = await userinfo({
      authorization: `DPoP ${token}`,
      dpop: await makeProof(key, { htu: userinfoUrl, htm: 'GET', accessToken: token }),
    });
    assert.equal(answer.statusCode, 401);
    assert.equal(JSON.parse(answer.body).error, 'invalid_token');
    assert.match(String(answer.headers['www-authenticate']), /^DPoP .*error="invalid_token"/);
  });

  it('userinfo: a proof with a non-string nonce: 401 invalid_dpop_proof, the challenge stays one quoted-string', async () => {
    const token = await boundUserToken();
    const res = await userinfo({
      authorization: `DPoP ${token}`,
      dpop: await makeProof(key, { htu: userinfoUrl, htm: 'GET', accessToken: token, claims: { nonce: 5 } }),
    });
    assert.equal(res.statusCode, 401);
    assert.equal(JSON.parse(res.body).error, 'invalid_dpop_proof');
    assert.match(String(res.headers['www-authenticate']), /, error_description="[^"\\]*"$/);
  });

  it('userinfo: a replayed proof is refused the second time', async () => {
    const token = await boundUserToken();
    const headers = {
      authorization: `DPoP ${token}`,
      dpop: await makeProof(key, { htu: userinfoUrl, htm: 'GET', accessToken: token }),
    };
    assert.equal((await userinfo(headers)).statusCode, 200);
    const again = await userinfo(headers);
    assert.equal(again.statusCode, 401);
    assert.equal(JSON.parse(again.body).error, 'invalid_dpop_proof');
  });
});

describe('DPoP server nonces (--dpop-nonce true)', () => {
  let h: Harness;
  let auth: string;
  let key: ProofKey;
  let tokenUrl: string;
  let now = Date.now();

  before(async () => {
    h = await startHarness({ ...NO_LIMITS, 'dpop-nonce': 'true' }, { clock: () => now });
    const { secret } = await h.addClient({ id: 'svc', grants: ['client_credentials'] });
    auth = basic('svc', secret!);
    key = await makeProofKey();
    tokenUrl = `${h.url}/oauth/token`;
  });
  after(() => h.close());

  const iat = () => Math.floor(now / 1000);
  const cc = (proof: string) =>
    h.post('/oauth/token', { grant_type: 'client_credentials' }, { authorization: auth, dpop: proof });

  it('nonce missing: use_dpop_nonce with a DPoP-Nonce header; the retry with it succeeds and gets the next one', async () => {
    const first = await cc(await makeProof(key, { htu: tokenUrl, iat: iat() }));
    assertError(first, 400, 'use_dpop_nonce');
    const nonce = first.headers['dpop-nonce'];
    assert.equal(typeof nonce, 'string');
    const retry = await cc(await makeProof(key, { htu: tokenUrl, iat: iat(), nonce: String(nonce) }));
    assert.equal(retry.status, 200, retry.body);
    assert.equal(retry.headers['dpop-nonce'], nonce);
  });

  it('a nonce stays good for the next step, and is stale after two: use_dpop_nonce with a fresh one', async () => {
    const nonce = String(
      (await cc(await makeProof(key, { htu: tokenUrl, iat: iat() }))).headers['dpop-nonce'],
    );
    now += 61_000;
    assert.equal((await cc(await makeProof(key, { htu: tokenUrl, iat: iat(), nonce }))).status, 200);
    now += 61_000;
    const stale = await cc(await makeProof(key, { htu: tokenUrl, iat: iat(), nonce }));
    assertError(stale, 400, 'use_dpop_nonce', /stale/);
    assert.notEqual(stale.headers['dpop-nonce'], nonce);
  });

  it('a made-up nonce: use_dpop_nonce', async () => {
    const proof = await makeProof(key, { htu: tokenUrl, iat: iat(), nonce: 'A'.repeat(24) });
    assertError(await cc(proof), 400, 'use_dpop_nonce');
  });
});
