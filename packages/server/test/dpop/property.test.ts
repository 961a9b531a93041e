/**
 * Property: whatever arrives in the DPoP header (random strings, random JOSE-shaped headers and claims,
 * real signatures over wrong claims), the token endpoint never answers 500 and never issues a token.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import * as jose from 'jose';
import { basic, startHarness, type Harness } from '../oauth/harness.js';
import { makeProof, makeProofKey, type ProofKey } from './proofs.js';

const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

describe('random DPoP headers at the token endpoint', () => {
  let h: Harness;
  let auth: string;
  let key: ProofKey;
  let tokenUrl: string;

  before(async () => {
    h = await startHarness({ 'rate-limit-client': '0', 'rate-limit-ip': '0' });
    const { secret } = await h.addClient({ id: 'svc', grants: ['client_credentials'] });
    auth = basic('svc', secret!);
    key = await makeProofKey();
    tokenUrl = `${h.url}/oauth/token`;
  });
  after(() => h.close());

  const jsonValue = fc.jsonValue({ maxDepth: 2 });
  const alg = fc.constantFrom('ES256', 'EdDSA', 'RS256', 'HS256', 'none', 'None', 'ES512', '', 'PS256');
  const headerArb = fc.record(
    {
      typ: fc.oneof(fc.constant('dpop+jwt'), fc.string()),
      alg: fc.oneof(alg, jsonValue),
      jwk: fc.oneof(
        fc.constant<unknown>(null),
        jsonValue,
        fc.record({
          kty: fc.constantFrom('EC', 'OKP', 'RSA', 'oct'),
          crv: fc.string(),
          x: fc.string(),
          y: fc.string(),
          d: fc.string(),
        }),
      ),
      kid: fc.string(),
    },
    { requiredKeys: [] },
  );
  const claimsArb = fc.record(
    {
      htm: fc.oneof(fc.constant('POST'), jsonValue),
      htu: fc.oneof(fc.constant('http://127.0.0.1/oauth/token'), jsonValue),
      iat: fc.oneof(fc.integer(), jsonValue),
      jti: fc.oneof(fc.uuid(), jsonValue),
      nonce: jsonValue,
    },
    { requiredKeys: [] },
  );
  /** Header values node can send: printable ASCII, not empty. */
  const headerSafe = (s: string) => s.replace(/[^\x21-\x7e]/g, 'a') || 'a';

  const proofArb = fc.oneof(
    fc.string({ maxLength: 300 }).map(headerSafe),
    fc
      .tuple(headerArb, claimsArb, fc.string({ maxLength: 120 }))
      .map(([header, claims, sig]) => headerSafe(`${b64(header)}.${b64(claims)}.${b64(sig)}`)),
    // Real ES256 signatures by the proof key over random headers and claims (wrong typ, htu, iat …).
    fc.tuple(headerArb, claimsArb).map(([header, claims]) => ({ header, claims })),
  );

  it('never a 500, never a token', async () => {
    await fc.assert(
      fc.asyncProperty(proofArb, async (generated) => {
        let proof: string;
        if (typeof generated === 'string') proof = generated;
        else {
          try {
            proof = await new jose.SignJWT(generated.claims as jose.JWTPayload)
              .setProtectedHeader({
                ...(generated.header as object),
                alg: 'ES256',
              } as jose.JWTHeaderParameters)
              .sign(key.privateKey);
          } catch {
            proof = await makeProof(key, { htu: `${tokenUrl}/x` });
          }
        }
        const res = await h.post(
          '/oauth/token',
          { grant_type: 'client_credentials' },
          { authorization: auth, dpop: proof },
        );
        assert.ok(res.status < 500, `status ${res.status}: ${res.body}`);
        assert.equal(res.status, 400, res.body);
        assert.equal(res.json().access_token, undefined);
        assert.equal(res.json().error, 'invalid_dpop_proof');
      }),
      { numRuns: 300 },
    );
  });
});
