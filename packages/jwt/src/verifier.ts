import { createCoreVerifier, type CoreVerifier, type CoreVerifierOptions } from './verifier-core.js';

/** Options for createVerifier. */
export type VerifierOptions = CoreVerifierOptions;

/** A configured verifier. */
export type Verifier = CoreVerifier;

/**
 * Create a verifier. `algorithms`, `issuer` and `audience` are required (`null` switches a check off on
 * purpose); keys are local (`keys`).
 *
 * @example
 * const verifier = createVerifier({
 *   algorithms: ['ES256'], issuer: 'https://auth.example.com', audience: 'orders-api', keys: jwks,
 * });
 * const { payload } = await verifier.verify(token);
 */
export function createVerifier(options: VerifierOptions): Verifier {
  return createCoreVerifier(options);
}
