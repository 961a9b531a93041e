/**
 * The passkey module's parsers on arbitrary input (fast-check): the `response` form field is refused with
 * PasskeyError `ERR_PASSKEY_MALFORMED` or accepted, never anything else; `readClaims` never throws; the RP
 * identity follows the issuer's rules. And docs/errors.md lists exactly the passkey refusal codes.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PASSKEY_ERROR_CODES, PasskeyError } from '../../src/passkeys/errors.js';
import { parseAssertion, parseAttestation, readClaims } from '../../src/passkeys/response.js';
import { passkeyIdentity, userHandleOf } from '../../src/passkeys/settings.js';
import { counterRegressed } from '../../src/passkeys/authentication.js';
import { documentedCodes } from '../helpers/errors-doc.js';

const b64u = fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b).toString('base64url'));
const responseLike = fc.record(
  {
    id: fc.oneof(b64u, fc.string(), fc.integer()),
    rawId: fc.oneof(b64u, fc.string()),
    type: fc.constantFrom('public-key', 'other'),
    response: fc.record(
      {
        clientDataJSON: fc.oneof(b64u, fc.string(), fc.constant(null)),
        authenticatorData: fc.oneof(b64u, fc.string()),
        signature: fc.oneof(b64u, fc.string()),
        userHandle: fc.oneof(b64u, fc.string(), fc.integer()),
        attestationObject: fc.oneof(b64u, fc.string()),
        transports: fc.oneof(fc.array(fc.string()), fc.string()),
      },
      { requiredKeys: [] },
    ),
  },
  { requiredKeys: [] },
);
const input = fc.oneof(
  fc.string(),
  fc.json(),
  responseLike.map((r) => JSON.stringify(r)),
);

describe('passkey parsers (fast-check)', () => {
  it('parseAssertion and parseAttestation accept or throw ERR_PASSKEY_MALFORMED, nothing else', () => {
    fc.assert(
      fc.property(input, (text) => {
        for (const parse of [parseAssertion, parseAttestation]) {
          try {
            const parsed = parse(text);
            assert.equal(parsed.type, 'public-key');
            assert.equal(parsed.id, parsed.rawId);
          } catch (err) {
            assert.ok(err instanceof PasskeyError, String(err));
            assert.equal(err.code, 'ERR_PASSKEY_MALFORMED');
          }
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('readClaims never throws, whatever the response holds', () => {
    fc.assert(
      fc.property(responseLike, (r) => {
        const claims = readClaims(r as never);
        if (claims.flags !== undefined) assert.ok(claims.flags >= 0 && claims.flags <= 255);
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses oversized responses before parsing', () => {
    const big = JSON.stringify({
      id: 'a',
      rawId: 'a',
      type: 'public-key',
      response: { clientDataJSON: 'A'.repeat(9000) },
    });
    assert.throws(
      () => parseAssertion(big),
      (e: unknown) => e instanceof PasskeyError && e.code === 'ERR_PASSKEY_MALFORMED',
    );
  });

  it('the RP identity: https or localhost, never an IP address', () => {
    assert.deepEqual(passkeyIdentity('https://auth.example.com/base'), {
      rpId: 'auth.example.com',
      origin: 'https://auth.example.com',
    });
    assert.deepEqual(passkeyIdentity('http://localhost:7070'), {
      rpId: 'localhost',
      origin: 'http://localhost:7070',
    });
    for (const issuer of [
      'http://127.0.0.1:7070',
      'https://[::1]:8443',
      'http://auth.example.com',
      'https://10.0.0.1',
      'not a url',
    ])
      assert.equal(passkeyIdentity(issuer), undefined, issuer);
    assert.equal(userHandleOf('usr_abc'), 'dXNyX2FiYw');
  });

  it('counter rule (WebAuthn §6.1.1): forward only, 0 and 0 for counterless authenticators', () => {
    assert.equal(counterRegressed(0, 0), false);
    assert.equal(counterRegressed(0, 1), false);
    assert.equal(counterRegressed(5, 6), false);
    assert.equal(counterRegressed(5, 5), true);
    assert.equal(counterRegressed(5, 0), true);
    fc.assert(
      fc.property(fc.nat(2 ** 32 - 1), fc.nat(2 ** 32 - 1), (stored, received) => {
        assert.equal(counterRegressed(stored, received), (stored > 0 || received > 0) && received <= stored);
      }),
    );
  });
});

describe('docs/errors.md', () => {
  it('lists exactly the passkey refusal codes', () => {
    assert.deepEqual(documentedCodes('Passkey refusals'), [...PASSKEY_ERROR_CODES].sort());
  });
});
