/** The parsers and small rules of federation: claims map (with a fast-check property), amr, provider ids. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { applyClaimsMap, parseClaimsMap } from '../../src/federation/claims-map.js';
import { upstreamAmr } from '../../src/federation/amr.js';
import { FederationError } from '../../src/federation/errors.js';
import { checkProviderId, isProviderId } from '../../src/federation/provider-id.js';
import { openClientSecret, sealClientSecret } from '../../src/federation/secret-box.js';
import { RESERVED_USER_CLAIMS } from '../../src/users/rules.js';

describe('federation rules', () => {
  it('parseClaimsMap: only FederationError for any input; what it accepts maps to name, email or a safe custom claim', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.json(),
          fc
            .dictionary(
              fc.oneof(fc.string(), fc.constantFrom('upn', '__proto__', 'sub', 'dept')),
              fc.oneof(
                fc.constantFrom(
                  'name',
                  'email',
                  'claims.dept',
                  'claims.sub',
                  'claims.password',
                  'claims.__proto__',
                ),
                fc.string(),
                fc.integer(),
              ),
            )
            .map((o) => JSON.stringify(o)),
        ),
        (text) => {
          let map;
          try {
            map = parseClaimsMap(text);
          } catch (err) {
            assert.ok(err instanceof FederationError && err.code === 'ERR_IDP_INVALID', String(err));
            return;
          }
          const targets = Object.values(map);
          assert.equal(new Set(targets).size, targets.length);
          for (const target of targets) {
            if (target === 'name' || target === 'email') continue;
            const custom = /^claims\.(.+)$/.exec(target)?.[1];
            assert.ok(
              custom !== undefined && !RESERVED_USER_CLAIMS.has(custom) && custom !== '__proto__',
              target,
            );
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('applyClaimsMap: defaults, a mapped email, custom claims of primitive values only', () => {
    assert.deepEqual(applyClaimsMap({}, { sub: 's', email: 'a@x.example', name: 'A' }), {
      email: 'a@x.example',
      name: 'A',
      custom: {},
    });
    const map = parseClaimsMap(
      '{"upn":"email","display":"name","dept":"claims.department","o":"claims.org"}',
    );
    assert.deepEqual(
      applyClaimsMap(map, {
        email: 'ignored@x.example',
        upn: 'u@x.example',
        display: 'U',
        dept: ['a', 1],
        o: { x: 1 },
      }),
      { email: 'u@x.example', name: 'U', custom: { department: ['a', 1] } },
    );
    assert.equal(applyClaimsMap({}, { email: 42 }).email, undefined);
  });

  it('upstreamAmr: an array of short strings passes; anything else is ["fed"]', () => {
    assert.deepEqual(upstreamAmr(['pwd', 'mfa']), ['pwd', 'mfa']);
    for (const bad of [undefined, 'pwd', [], [1], ['a b'], ['x'.repeat(33)], Array(9).fill('pwd'), [{}]])
      assert.deepEqual(upstreamAmr(bad), ['fed'], JSON.stringify(bad));
  });

  it('provider ids: short slugs, never local', () => {
    for (const ok of ['corp', 'a', 'okta-2', '0x', 'a'.repeat(32)]) assert.ok(isProviderId(ok), ok);
    for (const bad of ['local', '', '-a', 'A', 'a_b', 'a.b', 'a/b', 'a'.repeat(33), 'corp\n'])
      assert.equal(isProviderId(bad), false, bad);
    assert.throws(() => checkProviderId('local'), /reserved/);
  });

  it('the client secret box: round trip, another id or pepper fails, the message has no secret', () => {
    const pepper = Buffer.alloc(32, 7);
    const blob = sealClientSecret(pepper, 'corp', 's3cr3t-value');
    assert.equal(openClientSecret(pepper, 'corp', blob), 's3cr3t-value');
    assert.notEqual(sealClientSecret(pepper, 'corp', 's3cr3t-value'), blob, 'a fresh IV each time');
    for (const [p, id] of [
      [pepper, 'other'],
      [Buffer.alloc(32, 8), 'corp'],
    ] as const)
      assert.throws(
        () => openClientSecret(p, id, blob),
        (err: Error) => !err.message.includes('s3cr3t') && /cannot be decrypted/.test(err.message),
      );
  });
});
