// Child process: pre-generate DPoP proofs (RFC 9449) for the `dpop` bench section, so the load generator
// spends no CPU on signing. argv[2]: JSON `{ htu, count, file }`. One fresh ES256 key; every proof has its own
// jti and iat = now (the server accepts it for --dpop-proof-window, 60 s by default). Writes a JSON array of
// proofs to `file` and prints `{ jkt, count, ms }`.
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { writeFileSync } from 'node:fs';

const { htu, count, file } = JSON.parse(process.argv[2]);
const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const { kty, crv, x, y } = publicKey.export({ format: 'jwk' });
const jwk = { kty, crv, x, y };
const jkt = createHash('sha256').update(JSON.stringify({ crv, kty, x, y })).digest('base64url');
const b64 = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
const header = b64({ typ: 'dpop+jwt', alg: 'ES256', jwk });
const t0 = performance.now();
const iat = Math.floor(Date.now() / 1000);
const proofs = new Array(count);
for (let i = 0; i < count; i++) {
  const input = `${header}.${b64({ htm: 'POST', htu, iat, jti: randomBytes(16).toString('base64url') })}`;
  const signature = sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' });
  proofs[i] = `${input}.${signature.toString('base64url')}`;
}
writeFileSync(file, JSON.stringify(proofs));
process.stdout.write(JSON.stringify({ jkt, count, ms: performance.now() - t0 }) + '\n');
