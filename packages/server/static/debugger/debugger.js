// Tessera token debugger. Runs entirely in the browser: the pasted token is decoded, linted (with the same
// module `tessera inspect` uses, @tessera/jwt/lint) and verified with WebCrypto against this server's public
// JWKS. The token is never sent anywhere; the page's only request is GET /debugger/jwks.json.
import { decodeUnverified, describeTimes, lintToken } from '/debugger/lint/index.js';

// Fixed algorithm table (RFC 7518 §3, RFC 8037). `none` is absent, so it can never verify.
const ALGORITHMS = {
  ES256: {
    kty: 'EC',
    crv: 'P-256',
    sigBytes: 64,
    importAs: { name: 'ECDSA', namedCurve: 'P-256' },
    verifyAs: { name: 'ECDSA', hash: 'SHA-256' },
  },
  ES384: {
    kty: 'EC',
    crv: 'P-384',
    sigBytes: 96,
    importAs: { name: 'ECDSA', namedCurve: 'P-384' },
    verifyAs: { name: 'ECDSA', hash: 'SHA-384' },
  },
  ES512: {
    kty: 'EC',
    crv: 'P-521',
    sigBytes: 132,
    importAs: { name: 'ECDSA', namedCurve: 'P-521' },
    verifyAs: { name: 'ECDSA', hash: 'SHA-512' },
  },
  RS256: {
    kty: 'RSA',
    importAs: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
    verifyAs: { name: 'RSASSA-PKCS1-v1_5' },
  },
  RS384: {
    kty: 'RSA',
    importAs: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-384' },
    verifyAs: { name: 'RSASSA-PKCS1-v1_5' },
  },
  RS512: {
    kty: 'RSA',
    importAs: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-512' },
    verifyAs: { name: 'RSASSA-PKCS1-v1_5' },
  },
  PS256: {
    kty: 'RSA',
    importAs: { name: 'RSA-PSS', hash: 'SHA-256' },
    verifyAs: { name: 'RSA-PSS', saltLength: 32 },
  },
  PS384: {
    kty: 'RSA',
    importAs: { name: 'RSA-PSS', hash: 'SHA-384' },
    verifyAs: { name: 'RSA-PSS', saltLength: 48 },
  },
  PS512: {
    kty: 'RSA',
    importAs: { name: 'RSA-PSS', hash: 'SHA-512' },
    verifyAs: { name: 'RSA-PSS', saltLength: 64 },
  },
  EdDSA: {
    kty: 'OKP',
    crv: 'Ed25519',
    sigBytes: 64,
    importAs: { name: 'Ed25519' },
    verifyAs: { name: 'Ed25519' },
  },
};
const CURVE_ALG = { 'P-256': 'ES256', 'P-384': 'ES384', 'P-521': 'ES512', Ed25519: 'EdDSA' };
const PUBLIC_MEMBERS = { EC: ['kty', 'crv', 'x', 'y'], RSA: ['kty', 'n', 'e'], OKP: ['kty', 'crv', 'x'] };
const RSA_MIN_BITS = 2048;

const $ = (id) => document.getElementById(id);

/** The algorithms a JWK may serve: from its own `alg`, else from its curve; never from the token. */
function keyAlgorithms(jwk) {
  if (typeof jwk !== 'object' || jwk === null || (jwk.use !== undefined && jwk.use !== 'sig')) return [];
  if (typeof jwk.alg === 'string') {
    const spec = Object.hasOwn(ALGORITHMS, jwk.alg) ? ALGORITHMS[jwk.alg] : undefined;
    return spec && spec.kty === jwk.kty && (spec.crv === undefined || spec.crv === jwk.crv) ? [jwk.alg] : [];
  }
  if ((jwk.kty === 'EC' || jwk.kty === 'OKP') && Object.hasOwn(CURVE_ALG, jwk.crv)) {
    const alg = CURVE_ALG[jwk.crv];
    return ALGORITHMS[alg].kty === jwk.kty ? [alg] : [];
  }
  return jwk.kty === 'RSA' ? ['RS256'] : [];
}

/** Only the public members, so a JWKS that (wrongly) serves private parts still imports as a public key. */
function publicJWK(jwk) {
  const out = {};
  for (const m of PUBLIC_MEMBERS[jwk.kty] ?? []) if (typeof jwk[m] === 'string') out[m] = jwk[m];
  return out;
}

let jwksPromise;
function loadJWKS() {
  jwksPromise ??= fetch('/debugger/jwks.json', {
    credentials: 'omit',
    cache: 'no-store',
    referrerPolicy: 'no-referrer',
  })
    .then((res) => {
      if (!res.ok) throw new Error(`the server's JWKS answered ${res.status}`);
      return res.json();
    })
    .then((jwks) => (Array.isArray(jwks?.keys) ? jwks.keys : []))
    .catch((err) => {
      jwksPromise = undefined;
      throw err;
    });
  return jwksPromise;
}

/**
 * Verify the signature against this server's JWKS. Resolves to { ok, reason, kid }.
 * The allow-list is the set of algorithms the JWKS keys serve (RFC 8725 §3.1), never the token's header.
 */
async function verifySignature(decoded) {
  const keys = await loadJWKS();
  const { alg, kid } = decoded.header;
  const allowed = new Set(keys.flatMap(keyAlgorithms));
  if (typeof alg !== 'string' || !allowed.has(alg)) {
    return {
      ok: false,
      reason: `algorithm ${JSON.stringify(String(alg))} is not served by this server's keys`,
    };
  }
  const candidates = keys.filter(
    (k) => keyAlgorithms(k).includes(alg) && (typeof kid !== 'string' || k.kid === kid),
  );
  if (candidates.length === 0)
    return { ok: false, reason: 'no key in this server\'s JWKS matches the token\'s "kid"' };
  const spec = ALGORITHMS[alg];
  if (spec.sigBytes !== undefined && decoded.signature.length !== spec.sigBytes) {
    return { ok: false, reason: 'the signature has the wrong length for its algorithm' };
  }
  const data = new TextEncoder().encode(`${decoded.segments[0]}.${decoded.segments[1]}`);
  let unsupported = false;
  for (const jwk of candidates) {
    let key;
    try {
      key = await crypto.subtle.importKey('jwk', publicJWK(jwk), spec.importAs, false, ['verify']);
    } catch {
      unsupported = alg === 'EdDSA';
      continue;
    }
    if (spec.kty === 'RSA' && key.algorithm.modulusLength < RSA_MIN_BITS) continue;
    if (await crypto.subtle.verify(spec.verifyAs, key, decoded.signature, data)) {
      return { ok: true, reason: '', kid: jwk.kid };
    }
  }
  return {
    ok: false,
    reason: unsupported
      ? 'this browser cannot verify EdDSA (Ed25519)'
      : "the signature does not match any of this server's keys",
  };
}

function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
}

function item(list, text, attrs = {}) {
  const li = document.createElement('li');
  for (const [k, v] of Object.entries(attrs)) li.setAttribute(k, v);
  if (typeof text === 'string') li.textContent = text;
  else li.append(...text);
  list.append(li);
  return li;
}

function setVerified(state, text) {
  const el = $('verification');
  el.dataset.state = state;
  el.textContent = text;
  for (const id of ['header-badge', 'payload-badge']) {
    $(id).textContent = state === 'verified' ? 'VERIFIED' : 'UNVERIFIED';
    $(id).classList.toggle('verified', state === 'verified');
  }
}

function renderFindings(findings) {
  const list = $('findings');
  clear(list);
  const count = (s) => findings.filter((f) => f.severity === s).length;
  $('findings-summary').textContent =
    findings.length === 0
      ? 'No findings.'
      : `${count('error')} error(s), ${count('warning')} warning(s), ${count('info')} info`;
  for (const f of findings) {
    const rule = document.createElement('span');
    rule.className = 'rule';
    rule.textContent = f.rule;
    item(list, [rule, ` ${f.severity}: ${f.message}`], { 'data-rule': f.rule, 'data-severity': f.severity });
  }
}

let generation = 0;

async function analyse() {
  const current = ++generation;
  const text = $('token').value.trim();
  $('error').hidden = true;
  if (text === '') {
    $('result').hidden = true;
    return;
  }
  let decoded;
  try {
    decoded = decodeUnverified(text);
  } catch (err) {
    $('result').hidden = true;
    $('error').textContent = `Cannot decode: ${err.message}`;
    $('error').hidden = false;
    return;
  }
  const now = Math.floor(Date.now() / 1000);
  $('result').hidden = false;
  $('header').textContent = JSON.stringify(decoded.header, null, 2);
  $('payload').textContent = JSON.stringify(decoded.payload, null, 2);
  const times = $('times');
  clear(times);
  for (const line of Object.values(describeTimes(decoded.payload, now))) item(times, line);
  $('size').textContent = `${decoded.size} bytes`;
  renderFindings(lintToken({ header: decoded.header, payload: decoded.payload, size: decoded.size, now }));

  setVerified('pending', 'checking…');
  let result;
  try {
    result = await verifySignature(decoded);
  } catch (err) {
    result = { ok: false, reason: `cannot check: ${err.message}` };
  }
  if (current !== generation) return; // a newer token was pasted meanwhile
  if (result.ok) {
    // The signature holds; a verifier would still refuse the token outside its validity window.
    const { exp, nbf } = decoded.payload;
    const caveat =
      typeof exp === 'number' && exp <= now
        ? ' (but it has expired: verifiers reject it)'
        : typeof nbf === 'number' && nbf > now
          ? ' (but it is not valid yet)'
          : '';
    setVerified('verified', `verified: signed by this server's key ${result.kid ?? ''}${caveat}`);
  } else setVerified('failed', `not verified: ${result.reason}`);
}

$('token').addEventListener('input', () => {
  analyse().catch((err) => setVerified('failed', `not verified: ${err.message}`));
});
if ($('token').value.trim() !== '') analyse();
document.documentElement.dataset.ready = 'true';
