import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import {
  createRevocationList,
  createVerifier,
  InvalidOptions,
  type RevocationEntry,
  type RevocationTransport,
  type TesseraEvent,
} from '../../src/index.js';
import { claims, codeOf, makeKey, startServer, type TestServer } from './helpers.js';

const servers: TestServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

/** A small feed server following docs/revocation.md. */
async function startFeed() {
  const log: RevocationEntry[] = [];
  const state = { down: false, resetBelow: -1, pageLimit: 1000 };
  const srv = await startServer((req, res) => {
    if (state.down) return void res.writeHead(503).end();
    if (req.headers.authorization !== `Basic ${Buffer.from('rs:s3cret').toString('base64')}`) {
      return void res
        .writeHead(401, { 'content-type': 'application/json' })
        .end('{"error":"invalid_client"}');
    }
    const u = new URL(req.url ?? '/', 'http://x');
    const since = Number(u.searchParams.get('since'));
    const limit = Math.min(Number(u.searchParams.get('limit') ?? 1000), state.pageLimit);
    const top = log.length === 0 ? 0 : log[log.length - 1]!.seq;
    const now = Math.floor(Date.now() / 1000);
    if (since > top || since < state.resetBelow) {
      return void res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ cursor: 0, more: false, reset: true, now, entries: [] }));
    }
    const entries = log.filter((e) => e.seq > since && e.exp > now).slice(0, limit);
    const cursor = entries.length ? entries[entries.length - 1]!.seq : since;
    const more = log.some((e) => e.seq > cursor && e.exp > now);
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify({ cursor, more, reset: false, now, entries }));
  });
  servers.push(srv);
  let seq = 0;
  const add = (
    type: RevocationEntry['type'],
    value: string,
    exp = Math.floor(Date.now() / 1000) + 600,
    revokedAt = Math.floor(Date.now() / 1000),
  ) => log.push({ seq: ++seq, type, value, exp, revoked_at: revokedAt });
  return { srv, log, state, add };
}

const base = { algorithms: ['ES256'] as const, issuer: 'https://issuer.test', audience: 'api' };

describe('createRevocationList', () => {
  it('validates options: policy must be chosen', () => {
    const o = { feedUrl: 'https://auth.test/oauth/revocations', clientId: 'rs', clientSecret: 's' };
    assert.throws(() => createRevocationList({ ...o } as never), InvalidOptions);
    assert.throws(
      () => createRevocationList({ ...o, policy: 'fail-closed', feedUrl: 'http://auth.test/x' }),
      InvalidOptions,
    );
  });

  it('pulls with Basic auth and a cursor, pages through `more`, and revokes jti, sub and kid', async () => {
    const feed = await startFeed();
    const key = makeKey();
    feed.state.pageLimit = 2;
    feed.add('jti', 'j1');
    feed.add('jti', 'j2');
    feed.add('sub', 'bob', undefined, Math.floor(Date.now() / 1000) - 10);
    const list = createRevocationList({
      feedUrl: `${feed.srv.url}/oauth/revocations`,
      clientId: 'rs',
      clientSecret: 's3cret',
      policy: 'fail-closed',
      pollInterval: 60,
    });
    await list.ready();
    assert.equal(list.stats().size, 3);
    assert.equal(list.stats().cursor, 3);
    assert.ok(feed.srv.requests.length >= 2, 'paged');
    assert.match(feed.srv.requests[0]!.url, /since=0&limit=1000/);
    const v = createVerifier({ ...base, keys: [key.pair.publicKey], revocations: list });
    assert.equal(await codeOf(v.verify(key.signer.sign(claims({ jti: 'j1' })))), 'ERR_TOKEN_REVOKED');
    assert.equal(
      await codeOf(
        v.verify(key.signer.sign(claims({ sub: 'bob', iat: Math.floor(Date.now() / 1000) - 20 }))),
      ),
      'ERR_TOKEN_REVOKED',
    );
    await v.verify(key.signer.sign(claims({ sub: 'bob', iat: Math.floor(Date.now() / 1000) }))); // issued after the revocation
    await v.verify(key.signer.sign(claims({ jti: 'j3' })));
    // Incremental: the next pull asks from the cursor.
    feed.add('kid', key.kid);
    await list.sync();
    assert.match(feed.srv.requests.at(-1)!.url, /since=4|since=3/);
    assert.equal(await codeOf(v.verify(key.signer.sign(claims({ jti: 'j3' })))), 'ERR_TOKEN_REVOKED');
    list.close();
  });

  it('attack: a deleted client (type client) — its tokens up to revoked_at are refused, a recreated one’s later tokens pass', async () => {
    const feed = await startFeed();
    const key = makeKey();
    const deletedAt = Math.floor(Date.now() / 1000) - 10;
    feed.add('client', 'gone', undefined, deletedAt);
    const list = createRevocationList({
      feedUrl: `${feed.srv.url}/oauth/revocations`,
      clientId: 'rs',
      clientSecret: 's3cret',
      policy: 'fail-closed',
      pollInterval: 60,
    });
    await list.ready();
    const v = createVerifier({ ...base, keys: [key.pair.publicKey], revocations: list });
    const token = (extra: Record<string, unknown>) => key.signer.sign(claims(extra));
    for (const iat of [deletedAt - 100, deletedAt]) {
      assert.equal(await codeOf(v.verify(token({ client_id: 'gone', iat }))), 'ERR_TOKEN_REVOKED');
    }
    // No iat (the signer fills it, so check the list directly): nothing proves it is newer than the deletion.
    assert.throws(
      () => list.check({ client_id: 'gone', sub: 'u' }, { alg: 'ES256' }, key.pair.publicKey),
      (err: Error & { code?: string }) => err.code === 'ERR_TOKEN_REVOKED',
    );
    // The same id recreated: tokens issued after the deletion pass; other clients are untouched.
    await v.verify(token({ client_id: 'gone', iat: deletedAt + 1 }));
    await v.verify(token({ client_id: 'other', iat: deletedAt - 100 }));
    // Deleted again later (the server replaces the entry under a new seq): the later instant wins.
    feed.add('client', 'gone', undefined, deletedAt + 5);
    await list.sync();
    assert.equal(
      await codeOf(v.verify(token({ client_id: 'gone', iat: deletedAt + 1 }))),
      'ERR_TOKEN_REVOKED',
    );
    await v.verify(token({ client_id: 'gone', iat: deletedAt + 6 }));
    list.close();
  });

  it('drops entries at their exp and honours reset', async () => {
    const feed = await startFeed();
    let now = Date.now();
    const soon = Math.floor(now / 1000) + 10;
    feed.add('jti', 'short', soon);
    feed.add('jti', 'long');
    const list = createRevocationList({
      feedUrl: `${feed.srv.url}/r`,
      clientId: 'rs',
      clientSecret: 's3cret',
      policy: 'fail-open',
      clock: () => now,
    });
    await list.ready();
    assert.equal(list.stats().size, 2);
    now += 20_000;
    await list.sync();
    assert.equal(list.stats().size, 1, 'expired entry dropped');
    // The server's store was replaced: the client drops its set and starts from 0.
    feed.log.length = 0;
    feed.log.push({
      seq: 1,
      type: 'jti',
      value: 'fresh',
      exp: Math.floor(Date.now() / 1000) + 600,
      revoked_at: 0,
    });
    // cursor (2) is ahead of the server's log top (1): reset.
    await list.sync();
    assert.equal(list.stats().cursor, 1);
    assert.equal(list.stats().size, 1);
    list.close();
  });

  it('fail-closed rejects and fail-open accepts (and reports) when the feed is down beyond staleAfter', async () => {
    const feed = await startFeed();
    const key = makeKey();
    let now = Date.now();
    const events: TesseraEvent[] = [];
    const mk = (policy: 'fail-closed' | 'fail-open') =>
      createRevocationList({
        feedUrl: `${feed.srv.url}/r`,
        clientId: 'rs',
        clientSecret: 's3cret',
        policy,
        pollInterval: 10,
        staleAfter: 30,
        clock: () => now,
        onEvent: (e) => events.push(e),
      });
    const closed = mk('fail-closed');
    const open = mk('fail-open');
    await Promise.all([closed.ready(), open.ready()]);
    const vClosed = createVerifier({ ...base, keys: [key.pair.publicKey], revocations: closed });
    const vOpen = createVerifier({ ...base, keys: [key.pair.publicKey], revocations: open });
    const tok = key.signer.sign(claims());
    await vClosed.verify(tok);
    feed.state.down = true;
    now += 20_000;
    await assert.rejects(closed.sync());
    await vClosed.verify(tok); // still within staleAfter
    now += 20_000;
    assert.equal(await codeOf(vClosed.verify(tok)), 'ERR_REVOCATION_STALE');
    await vOpen.verify(tok);
    assert.equal(open.stats().fail_open_accepts, 1);
    assert.equal(open.stats().stale, true);
    assert.ok(events.some((e) => e.type === 'revocation_fail_open'));
    assert.ok(events.some((e) => e.type === 'revocation_lag' && e.stale));
    // Recovery.
    feed.state.down = false;
    await closed.sync();
    await vClosed.verify(tok);
    closed.close();
    open.close();
  });

  it('rejects before the first pull under fail-closed; wrong credentials fail the pull', async () => {
    const feed = await startFeed();
    const list = createRevocationList({
      feedUrl: `${feed.srv.url}/r`,
      clientId: 'rs',
      clientSecret: 'wrong',
      policy: 'fail-closed',
    });
    await assert.rejects(list.ready());
    const key = makeKey();
    const v = createVerifier({ ...base, keys: [key.pair.publicKey], revocations: list });
    assert.equal(await codeOf(v.verify(key.signer.sign(claims()))), 'ERR_REVOCATION_STALE');
    assert.equal(list.stats().failures >= 1, true);
    list.close();
  });

  it('a push transport applies entries at once and pulls on reconnect', async () => {
    const feed = await startFeed();
    let push: ((e: unknown) => void) | undefined;
    let reconnect: (() => void) | undefined;
    let unsubscribed = false;
    const transport: RevocationTransport = {
      subscribe(onEntry, onReconnect) {
        push = onEntry;
        reconnect = onReconnect;
        return () => {
          unsubscribed = true;
        };
      },
    };
    const list = createRevocationList({
      feedUrl: `${feed.srv.url}/r`,
      clientId: 'rs',
      clientSecret: 's3cret',
      policy: 'fail-closed',
      transport,
      pollInterval: 3600,
    });
    await list.ready();
    const key = makeKey();
    const v = createVerifier({ ...base, keys: [key.pair.publicKey], revocations: list });
    push!({ seq: 7, type: 'jti', value: 'pushed', exp: Math.floor(Date.now() / 1000) + 60, revoked_at: 0 });
    push!({ garbage: true });
    assert.equal(await codeOf(v.verify(key.signer.sign(claims({ jti: 'pushed' })))), 'ERR_TOKEN_REVOKED');
    assert.equal(list.stats().pushed, 1);
    assert.equal(list.stats().cursor, 0, 'push never advances the cursor');
    // Entries published while disconnected arrive through the pull on reconnect.
    feed.add('jti', 'missed');
    const before = feed.srv.requests.length;
    reconnect!();
    await list.sync();
    assert.ok(feed.srv.requests.length > before);
    assert.equal(await codeOf(v.verify(key.signer.sign(claims({ jti: 'missed' })))), 'ERR_TOKEN_REVOKED');
    list.close();
    assert.equal(unsubscribed, true);
  });
});
