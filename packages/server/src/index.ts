/**
 * @tessera/server: the authorization server, its stores and the `tessera` command.
 *
 * @example
 * import { loadConfig, startServer } from '@tessera/server';
 * const server = await startServer(loadConfig({ values: { port: '0' } }));
 * console.log(server.url);
 */
export { startServer, openKEK } from './server/start.js';
export type { ServerHandle, StartServerOptions } from './server/start.js';
export { buildApp, createLogger } from './server/app.js';
export { loadConfig, configArgSpec, configHelp, SIGNING_ALGORITHMS } from './server/config.js';
export type { ServerConfig, LoadConfigOptions, SigningAlg } from './server/config.js';
export type { ServerContext, KeyManager, TokenSigner, PublishedJWKS } from './server/context.js';
export { createMetrics } from './server/metrics.js';
export type { ServerMetrics } from './server/metrics.js';
export { OAuthError } from './server/errors.js';
export type { OAuthErrorCode } from './server/errors.js';
export { createKeyManager, rotateKeys, revokeKey, KeyOperationError } from './keys/key-manager.js';
export type {
  LocalKeyManager,
  KeyManagerOptions,
  RotateResult,
  RevokeKeyResult,
} from './keys/key-manager.js';
export { loadKEK, KEKError, derivePepper } from './keys/kek.js';
export type { KEK } from './keys/kek.js';
export { createLocalSigner } from './keys/local-signer.js';
export type { Store, KeyRecord, KeyState } from './store/types.js';
