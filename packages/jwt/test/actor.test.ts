/**
 * actorChain (RFC 8693 §4.1): the delegation chain outermost first, its shape validated, its depth bounded;
 * the verifier's and the middleware's `maxActorDepth`; a fast-check property on random input.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  ActorChainTooDeep,
  actorChain,
  createAuthenticator,
  createVerifier,
  DEFAULT_MAX_ACTOR_DEPTH,
  InvalidOptions,
  JWTClaimInvalid,
  TesseraError,
  type ActorClaim,
  type JWTPayload,
} from '../src/index.js';
import { claims, codeOf, makeKey } from './sdk/helpers.js';

/** A chain of `n` actors named s1 (outermost) … sn. */
function nested(n: number): ActorClaim | undefined {
  let act: ActorClaim | undefined;
  for (let i = n; i >= 1; i--) act = { sub: `s${i}`, client_id: `s${i}`, ...(act && { act }) };
  return act;
}

describe('actorChain', () => {
  it('returns [] without act, and the chain outermost first without the nested act members', () => {
    assert.deepEqual(actorChain({ sub: 'u' }), []);
    const chain = actorChain({ sub: 'u', act: nested(3)! });
    assert.deepEqual(chain, [
      { sub: 's1', client_id: 's1' },
      { sub: 's2', client_id: 's2' },
      { sub: 's3', client_id: 's3' },
    ]);
  });

  it('keeps iss and other identity members of each actor', () => {
    const chain = actorChain({ act: { sub: 'a', iss: 'https://idp.example', act: { sub: 'b' } } });
    assert.deepEqual(chain, [{ sub: 'a', iss: 'https://idp.example' }, { sub: 'b' }]);
  });

  it('refuses a chain longer than maxDepth with ERR_JWT_ACTOR_CHAIN_TOO_DEEP', () => {
    const payload = { act: nested(4)! };
    assert.equal(actorChain(payload, { maxDepth: 4 }).length, 4);
    assert.throws(
      () => actorChain(payload, { maxDepth: 3 }),
      (err: unknown) => {
        assert.ok(err instanceof ActorChainTooDeep);
        assert.equal(err.code, 'ERR_JWT_ACTOR_CHAIN_TOO_DEEP');
        return true;
      },
    );
    assert.throws(() => actorChain({ act: nested(DEFAULT_MAX_ACTOR_DEPTH + 1)! }), ActorChainTooDeep);
    assert.throws(() => actorChain({ act: nested(1)! }, { maxDepth: 0 }), ActorChainTooDeep);
  });

  const malformed: [string, unknown][] = [
    ['a string', 'svc'],
    ['an array', [{ sub: 'svc' }]],
    ['null', null],
    ['no sub', { client_id: 'svc' }],
    ['an empty sub', { sub: '' }],
    ['a numeric sub', { sub: 7 }],
    ['a non-string iss', { sub: 'a', iss: 1 }],
    ['a non-string client_id', { sub: 'a', client_id: {} }],
    ['a malformed inner level', { sub: 'a', act: { sub: 'b', act: 'c' } }],
  ];
  for (const [what, act] of malformed) {
    it(`refuses ${what} as ERR_JWT_CLAIM_INVALID on "act", never a shorter chain`, () => {
      assert.throws(
        () => actorChain({ act } as unknown as JWTPayload),
        (err: unknown) => err instanceof JWTClaimInvalid && err.claim === 'act',
      );
    });
  }

  it('reads only the registered act claim: one nested in another claim or inherited means nothing', () => {
    assert.deepEqual(actorChain({ ext: { act: { sub: 'forged' } } }), []);
    const inherited = Object.create({ act: { sub: 'forged' } }) as JWTPayload;
    assert.deepEqual(actorChain(inherited), []);
  });

  it('refuses bad options', () => {
    for (const maxDepth of [-1, 1.5, 65, Number.NaN])
      assert.throws(() => actorChain({}, { maxDepth }), InvalidOptions);
    assert.throws(() => actorChain(null as unknown as JWTPayload), InvalidOptions);
  });

  it('property: random input only ever gives a well-formed chain or a TesseraError, within the bound', () => {
    const actorish = fc.letrec((tie) => ({
      actor: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        fc.anything(),
        fc.record(
          {
            sub: fc.oneof(fc.string(), fc.anything()),
            iss: fc.oneof(fc.string(), fc.integer()),
            client_id: fc.string(),
            act: tie('actor'),
          },
          { requiredKeys: [] },
        ),
      ),
    }));
    fc.assert(
      fc.property(actorish.actor, fc.integer({ min: 0, max: 10 }), (act, maxDepth) => {
        let chain;
        try {
          chain = actorChain({ sub: 'u', act } as JWTPayload, { maxDepth });
        } catch (err) {
          assert.ok(err instanceof TesseraError, String(err));
          return;
        }
        assert.ok(chain.length <= maxDepth);
        for (const actor of chain) {
          assert.equal(typeof actor.sub, 'string');
          assert.notEqual(actor.sub, '');
          assert.equal('act' in actor, false);
        }
        // Walking the claim by hand gives the same subjects in the same order.
        const subs: string[] = [];
        for (let level = act as ActorClaim | undefined; level !== undefined; level = level.act)
          subs.push(level.sub);
        assert.deepEqual(
          chain.map((a) => a.sub),
          subs,
        );
      }),
      { numRuns: 500 },
    );
  });
});

describe('maxActorDepth in the verifier and the middleware', () => {
  const key = makeKey();
  const base = {
    algorithms: ['ES256' as const],
    issuer: 'https://issuer.test',
    audience: 'api',
    keys: [key.pair.publicKey],
  };
  const deep = key.signer.sign(claims({ act: nested(3) }));
  const shallow = key.signer.sign(claims({ act: nested(2) }));
  const forged = key.signer.sign(claims({ act: 'svc' } as unknown as JWTPayload));

  it('createVerifier refuses a deeper chain, accepts one within the limit (plain and with a cache)', async () => {
    for (const extra of [{}, { cache: { maxEntries: 10 } }]) {
      const verifier = createVerifier({ ...base, ...extra, maxActorDepth: 2 });
      assert.equal(await codeOf(verifier.verify(deep)), 'ERR_JWT_ACTOR_CHAIN_TOO_DEEP');
      assert.equal(await codeOf(verifier.verify(forged)), 'ERR_JWT_CLAIM_INVALID');
      assert.equal(await codeOf(verifier.verify(shallow)), 'resolved');
    }
    // Without the option, the verifier does not look at act.
    assert.equal(await codeOf(createVerifier(base).verify(deep)), 'resolved');
  });

  it('applies to introspected (opaque) tokens too', async () => {
    const answers: Record<string, JWTPayload> = { deep: { act: nested(3)! }, shallow: { act: nested(1)! } };
    const introspection = {
      introspect: async (token: string) =>
        ({ active: true, iss: 'https://issuer.test', aud: 'api', sub: 'u', ...answers[token] }) as never,
      stats: () => ({}) as never,
      clear: () => {},
    };
    const verifier = createVerifier({ ...base, introspection, maxActorDepth: 2 });
    assert.equal(await codeOf(verifier.verify('deep')), 'ERR_JWT_ACTOR_CHAIN_TOO_DEEP');
    assert.equal(await codeOf(verifier.verify('shallow')), 'resolved');
  });

  it('keeps a configured check running after the actor check', async () => {
    let seen = 0;
    const verifier = createVerifier({ ...base, maxActorDepth: 4, check: () => void seen++ });
    await verifier.verify(shallow);
    assert.equal(seen, 1);
  });

  it('refuses a bad maxActorDepth at construction', () => {
    assert.throws(() => createVerifier({ ...base, maxActorDepth: -1 }), InvalidOptions);
    assert.throws(
      () => createAuthenticator({ verifier: createVerifier(base), maxActorDepth: 1.5 }),
      InvalidOptions,
    );
  });

  it('the middleware answers 401 invalid_token for a chain deeper than its maxActorDepth', async () => {
    const verifier = createVerifier({ ...base, cache: { maxEntries: 10 } });
    const authenticate = createAuthenticator({ verifier, maxActorDepth: 2 });
    const refused = await authenticate(`Bearer ${deep}`);
    assert.equal(refused.ok, false);
    if (refused.ok) return;
    assert.equal(refused.failure.status, 401);
    assert.deepEqual(refused.failure.body, {
      error: 'invalid_token',
      error_description: 'the access token delegation chain is too long',
    });
    // Also on a verified-token cache hit: the chain is checked on every request, not once.
    assert.equal((await authenticate(`Bearer ${deep}`)).ok, false);
    const ok = await authenticate(`Bearer ${shallow}`);
    assert.equal(ok.ok, true);
    assert.equal((await authenticate(`Bearer ${shallow}`)).ok, true);
  });
});
