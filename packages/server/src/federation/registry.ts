/**
 * One relying party per configured provider, built on first use from the stored record (discovery, the
 * decrypted secret, our callback URI) and kept for an hour, so a sign-in costs no discovery round trip and
 * the upstream's key set stays cached. A provider deleted or re-added (a new `createdAt`) gets a new one.
 */
import type { ServerContext } from '../server/context.js';
import type { IdentityProviderRecord } from '../store/types.js';
import { oauthSettings } from '../oauth/settings.js';
import { createRelyingParty, discoverProvider, type RelyingParty } from '../relying-party/index.js';
import { callbackUri } from './providers.js';
import { openClientSecret } from './secret-box.js';

/** Metadata is re-read this often (a provider moving an endpoint is picked up without a restart). */
const METADATA_TTL_MS = 3600_000;
/** A failed discovery is remembered this long, so a down upstream does not slow every sign-in page. */
const FAILURE_TTL_MS = 30_000;

interface Entry {
  version: string;
  builtAt: number;
  party: Promise<RelyingParty>;
  failed?: boolean;
}

export interface ProviderRegistry {
  /** The relying party of a provider (rejects with RelyingPartyError when discovery fails). */
  get(provider: IdentityProviderRecord): Promise<RelyingParty>;
  /** The provider's authorization endpoint, if its metadata is at hand (for the page CSP's form-action). */
  authorizationEndpoint(provider: IdentityProviderRecord): Promise<string | undefined>;
  close(): void;
}

const registries = new WeakMap<object, ProviderRegistry>();

/**
 * The registry of one server (keyed by its store, which every copy of the context shares).
 *
 * @example const rp = await providerRegistry(ctx).get(provider);
 */
export function providerRegistry(ctx: ServerContext): ProviderRegistry {
  let registry = registries.get(ctx.store);
  if (registry === undefined) {
    registry = createRegistry(ctx);
    registries.set(ctx.store, registry);
  }
  return registry;
}

/**
 * Stop every relying party's background work (the app's onClose).
 *
 * @example app.addHook('onClose', async () => closeProviderRegistry(ctx));
 */
export function closeProviderRegistry(ctx: ServerContext): void {
  registries.get(ctx.store)?.close();
  registries.delete(ctx.store);
}

function createRegistry(ctx: ServerContext): ProviderRegistry {
  const entries = new Map<string, Entry>();
  const drop = (entry: Entry) => void entry.party.then((rp) => rp.close()).catch(() => {});

  const get = (provider: IdentityProviderRecord): Promise<RelyingParty> => {
    const version = `${provider.createdAt}:${provider.issuer}`;
    const now = ctx.clock();
    const existing = entries.get(provider.id);
    const ttl = existing?.failed === true ? FAILURE_TTL_MS : METADATA_TTL_MS;
    if (existing && existing.version === version && now - existing.builtAt < ttl) return existing.party;
    if (existing) drop(existing);
    const party = (async () =>
      createRelyingParty({
        metadata: await discoverProvider(provider.issuer),
        clientId: provider.clientId,
        clientSecret: openClientSecret(ctx.pepper, provider.id, provider.encryptedClientSecret),
        redirectUri: callbackUri(oauthSettings(ctx).issuer, provider.id),
        scope: provider.scope.join(' '),
        clock: ctx.clock,
      }))();
    const entry: Entry = { version, builtAt: now, party };
    entries.set(provider.id, entry);
    party.catch(() => {
      entry.failed = true;
    });
    return party;
  };

  return {
    get,
    async authorizationEndpoint(provider) {
      try {
        return (await get(provider)).metadata.authorization_endpoint;
      } catch {
        return undefined;
      }
    },
    close() {
      for (const entry of entries.values()) drop(entry);
      entries.clear();
    },
  };
}
