// Child of bench/instructions.mjs: verify N tokens with one contender, under valgrind. Keys come from a file
// so every run does the same startup work (RSA key generation would not: its prime search is random).
import { timingSafeEqual, createHmac, verify as cryptoVerify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSigner, createVerifier, exportSPKI, importJWK } from '@tessera/jwt';
import { createVerifier as fastVerifier } from 'fast-jwt';
import { AUDIENCE, HASH, ISSUER, rawKeyInput } from './fixtures.mjs';

const [alg, contender, countText, keyFile] = process.argv.slice(2);
// The same warm-up in both runs of a contender, so it cancels out of the difference.
const WARMUP = 500;
const n = Number(countText) + WARMUP;
const { signJWK, verifyJWK, payload } = JSON.parse(readFileSync(keyFile, 'utf8'));
const signKey = importJWK(signJWK);
const verifyKey = importJWK(verifyJWK);
const signer = createSigner({ key: signKey, alg });
// 64 distinct tokens (only the jti differs), as in a real stream: nothing is cached between verifications.
const tokens = Array.from({ length: 64 }, (_, i) => signer.sign({ ...payload, jti: `${payload.jti}-${i}` }));

const hmac = alg.startsWith('HS');

function rawVerify() {
  const parts = tokens.map((t) => {
    const d2 = t.lastIndexOf('.');
    return [Buffer.from(t.slice(0, d2), 'latin1'), Buffer.from(t.slice(d2 + 1), 'base64url')];
  });
  const ko = verifyKey.keyObject;
  const input = rawKeyInput(alg, ko);
  const one = hmac
    ? ([data, sig]) => timingSafeEqual(createHmac('sha256', ko).update(data).digest(), sig)
    : ([data, sig]) => cryptoVerify(HASH[alg], data, input, sig);
  for (let i = 0; i < n; i++) if (!one(parts[i & 63])) throw new Error('raw verify failed');
}

async function tesseraVerify() {
  const verifier = createVerifier({
    algorithms: [alg],
    issuer: ISSUER,
    audience: AUDIENCE,
    keys: [verifyKey],
  });
  for (let i = 0; i < n; i++) await verifier.verify(tokens[i & 63]);
}

function fastJwtVerify() {
  const key = hmac ? verifyKey.keyObject.export() : exportSPKI(verifyKey);
  const verify = fastVerifier({ key, algorithms: [alg], cache: false });
  for (let i = 0; i < n; i++) verify(tokens[i & 63]);
}

if (contender === 'raw') rawVerify();
else if (contender === 'tessera') await tesseraVerify();
else if (contender === 'fast-jwt') fastJwtVerify();
else throw new Error(`unknown contender ${contender}`);
