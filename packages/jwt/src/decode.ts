import { decodeBase64url } from './base64url.js';
import { JWSInvalid, TokenTooLarge } from './errors.js';
import { MAX_JSON_DEPTH } from './header.js';
import { decodeUTF8, parseStrictJSONObject } from './json.js';
import { DEFAULT_MAX_TOKEN_LENGTH } from './verifier-core.js';
import type { JWTPayload } from './types.js';

/** An UNVERIFIED view of a token: nothing in it can be trusted. */
export interface DecodedJWT {
  header: Record<string, unknown>;
  payload: JWTPayload;
  /** Signature bytes as received. */
  signature: Buffer;
  /** Total length in bytes. */
  size: number;
}

/**
 * Decode a compact JWT without verifying it, for display and linting only. The same input hygiene as the
 * verifier applies (size, three segments, strict base64url, strict JSON), so what is shown is what a
 * verifier would have parsed.
 *
 * @example const { header, payload } = decodeJWT(token); // UNVERIFIED
 */
export function decodeJWT(token: string, options: { maxTokenLength?: number } = {}): DecodedJWT {
  if (typeof token !== 'string') throw new JWSInvalid('token must be a string');
  if (token.length > (options.maxTokenLength ?? DEFAULT_MAX_TOKEN_LENGTH)) throw new TokenTooLarge();
  const parts = token.split('.', 4);
  if (parts.length !== 3) throw new JWSInvalid('a JWS has exactly three segments');
  const [h, p, s] = parts as [string, string, string];
  if (h.length === 0) throw new JWSInvalid('empty protected header');
  const header = parseStrictJSONObject(
    decodeUTF8(decodeBase64url(h, 'protected header'), 'protected header'),
    { maxDepth: MAX_JSON_DEPTH },
    'protected header',
  );
  const payload = parseStrictJSONObject(
    decodeUTF8(decodeBase64url(p, 'payload'), 'payload'),
    { maxDepth: MAX_JSON_DEPTH },
    'payload',
  );
  return {
    header,
    payload: payload as JWTPayload,
    signature: decodeBase64url(s, 'signature'),
    size: Buffer.byteLength(token),
  };
}
