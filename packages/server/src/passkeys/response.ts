/**
 * The browser's answer to a ceremony, as the page script posts it (the `response` form field: the JSON
 * `@simplewebauthn/browser` returns). Parsed strictly before the library sees it, and read a second time
 * only to name a refusal (which check failed) after the library refused: the library stays the authority.
 */
import { createHash } from 'node:crypto';
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import { decodeAttestationObject } from '@simplewebauthn/server/helpers';
import { PasskeyError, type PasskeyErrorCode } from './errors.js';

/** A none-attestation registration is about 1 KiB and an assertion less; 8 KiB refuses padding, not people. */
export const MAX_RESPONSE = 8 * 1024;

const B64URL = /^[A-Za-z0-9_-]*$/;
const isB64 = (v: unknown, max = MAX_RESPONSE): v is string =>
  typeof v === 'string' && v.length <= max && B64URL.test(v);

function parseObject(text: string | undefined): Record<string, unknown> {
  if (text === undefined || text.length === 0 || text.length > MAX_RESPONSE)
    throw new PasskeyError('ERR_PASSKEY_MALFORMED', 'no usable passkey response');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new PasskeyError('ERR_PASSKEY_MALFORMED', 'the passkey response is not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new PasskeyError('ERR_PASSKEY_MALFORMED', 'the passkey response is not an object');
  const id = (value as Record<string, unknown>).id;
  const rawId = (value as Record<string, unknown>).rawId;
  const response = (value as Record<string, unknown>).response;
  if (
    !isB64(id, 1024) ||
    id.length === 0 ||
    rawId !== id ||
    (value as { type?: unknown }).type !== 'public-key'
  )
    throw new PasskeyError('ERR_PASSKEY_MALFORMED', 'the passkey response has no credential id');
  if (
    typeof response !== 'object' ||
    response === null ||
    !isB64((response as Record<string, unknown>).clientDataJSON)
  )
    throw new PasskeyError('ERR_PASSKEY_MALFORMED', 'the passkey response has no client data');
  return value as Record<string, unknown>;
}

/**
 * An assertion (sign-in) response, shape-checked; throws PasskeyError `ERR_PASSKEY_MALFORMED`.
 *
 * @example const assertion = parseAssertion(form.get('response'));
 */
export function parseAssertion(text: string | undefined): AuthenticationResponseJSON {
  const value = parseObject(text);
  const r = value.response as Record<string, unknown>;
  if (
    !isB64(r.authenticatorData) ||
    !isB64(r.signature) ||
    (r.userHandle !== undefined && !isB64(r.userHandle, 256))
  )
    throw new PasskeyError('ERR_PASSKEY_MALFORMED', 'the passkey assertion is incomplete');
  return value as unknown as AuthenticationResponseJSON;
}

/**
 * An attestation (registration) response, shape-checked; throws PasskeyError `ERR_PASSKEY_MALFORMED`.
 *
 * @example const attestation = parseAttestation(form.get('response'));
 */
export function parseAttestation(text: string | undefined): RegistrationResponseJSON {
  const value = parseObject(text);
  const r = value.response as Record<string, unknown>;
  if (!isB64(r.attestationObject))
    throw new PasskeyError('ERR_PASSKEY_MALFORMED', 'the passkey registration is incomplete');
  if (
    r.transports !== undefined &&
    !(Array.isArray(r.transports) && r.transports.every((t) => typeof t === 'string' && t.length <= 32))
  )
    throw new PasskeyError('ERR_PASSKEY_MALFORMED', 'the passkey transports are malformed');
  return value as unknown as RegistrationResponseJSON;
}

/** What a response claims, decoded without trusting it: enough to say which check a refusal failed. */
export interface ResponseClaims {
  origin?: string;
  /** authenticatorData flags (WebAuthn §6.1): UP 0x01, UV 0x04. */
  flags?: number;
  rpIdHash?: string;
  counter?: number;
}

/** The authenticator data: the assertion's own field, or the one inside a registration's CBOR attestation object. */
function authenticatorData(r: Record<string, unknown>): Buffer | undefined {
  if (typeof r.authenticatorData === 'string') return Buffer.from(r.authenticatorData, 'base64url');
  if (typeof r.attestationObject !== 'string') return undefined;
  try {
    const decoded = decodeAttestationObject(Buffer.from(r.attestationObject, 'base64url'));
    const data = decoded.get('authData');
    return data instanceof Uint8Array ? Buffer.from(data) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Decode a response's client data and authenticator data without verifying anything. Never throws.
 *
 * @example const claims = readClaims(assertion); // { origin: 'https://…', flags: 5, … }
 */
export function readClaims(response: { response?: unknown }): ResponseClaims {
  const claims: ResponseClaims = {};
  const inner = response?.response;
  const r = (typeof inner === 'object' && inner !== null ? inner : {}) as Record<string, unknown>;
  try {
    const client = JSON.parse(Buffer.from(String(r.clientDataJSON), 'base64url').toString('utf8')) as unknown;
    const origin = (client as { origin?: unknown } | null)?.origin;
    if (typeof origin === 'string') claims.origin = origin;
  } catch {
    // not JSON: nothing to report
  }
  const data = authenticatorData(r);
  // rpIdHash (32) ‖ flags (1) ‖ signCount (4, big-endian), WebAuthn §6.1.
  if (data !== undefined && data.length >= 37) {
    claims.rpIdHash = data.subarray(0, 32).toString('base64url');
    claims.flags = data[32]!;
    claims.counter = data.readUInt32BE(33);
  }
  return claims;
}

/**
 * Name the check a refused response failed, from what it claims: origin, RP ID, user verification; else
 * `ERR_PASSKEY_INVALID` (a bad signature, a wrong challenge or type, anything the library caught).
 *
 * @example throw new PasskeyError(refusalCode(readClaims(r), identity), 'refused');
 */
export function refusalCode(
  claims: ResponseClaims,
  expected: { origin: string; rpId: string },
): PasskeyErrorCode {
  if (claims.origin !== undefined && claims.origin !== expected.origin) return 'ERR_PASSKEY_WRONG_ORIGIN';
  if (
    claims.rpIdHash !== undefined &&
    claims.rpIdHash !== createHash('sha256').update(expected.rpId).digest('base64url')
  )
    return 'ERR_PASSKEY_WRONG_RP';
  if (claims.flags !== undefined && (claims.flags & 0x04) === 0) return 'ERR_PASSKEY_USER_NOT_VERIFIED';
  return 'ERR_PASSKEY_INVALID';
}
