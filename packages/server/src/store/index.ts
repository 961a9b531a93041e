/** The storage layer: contracts, the stores, and `openStore` to pick one from a `--store` value. */
export type {
  AuditEvent,
  AuditStore,
  AuthCodeRecord,
  AuthCodeStore,
  ClientAuthMethod,
  ClientRecord,
  ClientStore,
  ConsentRecord,
  ConsentStore,
  IdentityLinkRecord,
  IdentityProviderRecord,
  IdentityProviderStore,
  KeyRecord,
  KeyState,
  KeyStore,
  LeaseStore,
  OpaqueTokenRecord,
  OpaqueTokenStore,
  PendingKind,
  PendingRecord,
  PendingStore,
  RedeemCodeResult,
  RefreshFamilyRecord,
  RefreshStore,
  RefreshTokenRecord,
  RevocationKind,
  RevocationRecord,
  RevocationStore,
  RotateResult,
  SessionRecord,
  SessionStore,
  Store,
  TokenFormat,
  UsedIdStore,
  UserRecord,
  UserStore,
} from './types.js';
export { StoreConflictError, StoreUnavailableError } from './types.js';
export type { EphemeralState, RateLimitResult } from './ephemeral.js';
export { createMemoryStore } from './memory.js';
export { openSQLiteStore, type SQLiteStoreOptions } from './sqlite.js';
export { openPostgresStore, type PostgresStoreOptions } from './postgres.js';
export {
  openStore,
  parseStoreSpec,
  describeStoreSpec,
  defaultSQLitePath,
  type OpenStoreOptions,
  type StoreSpec,
} from './open-store.js';
export { copyStore, type CopyStoreResult } from './copy.js';
export { createMemoryEphemeral, type MemoryEphemeralOptions } from './memory-ephemeral.js';
export { openRedisEphemeral, openRedisClient, type RedisEphemeralOptions } from './redis-ephemeral.js';
