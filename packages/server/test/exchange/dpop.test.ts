/**
 * Token exchange with a real DPoP proof (RFC 8693 + RFC 9449): the proof sent with the exchange request binds
 * the new token to the calling service's key, and the downstream service (the SDK's verifyRequest) accepts it
 * only with a proof from that key, never as a bearer token.
 */
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, type JsonWebKey } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createDpopProof, createVerifier, type JWTPayload } from '@tessera/jwt';
import { ACCESS_TOKEN, startWorld, TOKEN_EXCHANGE_GRANT, type World } from './world.js';

let w: World;
before(async () => {
  w = await startWorld();
});
after(() => w?.close());

const RESOURCE = 'https://payments.example/charges';

/** RFC 7638 thumbprint of a P-256 public key, computed here independently of the code under test. */
function ecThumbprint(jwk: JsonWebKey): string {
  const canonical = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y });
  return createHash('sha256').update(canonical).digest('base64url');
}

describe('token exchange with DPoP', () => {
  it('a proof on the exchange binds the new token; the downstream service needs a proof from that key', async () => {
    const subject = await w.userToken();
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const tokenUrl = `${w.h.url}/oauth/token`;
    const res = await fetch(tokenUrl, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`orders-svc:${w.secrets['orders-svc']}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
        dpop: createDpopProof({ privateKey, htm: 'POST', htu: tokenUrl }),
      },
      body: new URLSearchParams({
        grant_type: TOKEN_EXCHANGE_GRANT,
        subject_token: subject,
        subject_token_type: ACCESS_TOKEN,
        audience: 'payments-api',
      }).toString(),
    });
    const body = (await res.json()) as Record<string, string>;
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(body.token_type, 'DPoP');
    const token = body.access_token!;

    const verifier = createVerifier({
      issuer: w.h.url,
      audience: 'payments-api',
      algorithms: ['ES256'],
      typ: 'at+jwt',
      jwksUri: `${w.h.url}/.well-known/jwks.json`,
      dpop: 'allowed',
    });
    try {
      const proof = createDpopProof({ privateKey, htm: 'GET', htu: RESOURCE, accessToken: token });
      const ok = await verifier.verifyRequest({
        method: 'GET',
        url: RESOURCE,
        headers: { authorization: `DPoP ${token}`, dpop: proof },
      });
      const payload = ok.result.payload as JWTPayload;
      assert.equal(ok.scheme, 'DPoP');
      assert.deepEqual(payload.cnf, { jkt: ecThumbprint(publicKey.export({ format: 'jwk' })) });
      assert.deepEqual(payload.act, { sub: 'orders-svc', client_id: 'orders-svc' });

      // RFC 9449 §7.2: without its proof the bound token is just a copied token.
      await assert.rejects(
        verifier.verifyRequest({
          method: 'GET',
          url: RESOURCE,
          headers: { authorization: `Bearer ${token}` },
        }),
        { code: 'ERR_DPOP_BOUND_TOKEN_AS_BEARER' },
      );
      // A thief's own key: a valid proof, but not from the key the token is bound to.
      const thief = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
      await assert.rejects(
        verifier.verifyRequest({
          method: 'GET',
          url: RESOURCE,
          headers: {
            authorization: `DPoP ${token}`,
            dpop: createDpopProof({ privateKey: thief, htm: 'GET', htu: RESOURCE, accessToken: token }),
          },
        }),
        { code: 'ERR_DPOP_BINDING_MISMATCH' },
      );
    } finally {
      verifier.close();
    }
  });
});
