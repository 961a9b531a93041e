/**
 * Connection-level limits of a real server on 127.0.0.1: slow bodies and slow headers (slowloris) are cut
 * at the request/headers timeout while token requests keep being answered, and `--max-connections` closes
 * the connection beyond the cap without hurting the server.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { basic, startHarness } from '../oauth/harness.js';

/** POST a token request on a fresh connection (no pooling: the cap counts connections). */
function tokenRequest(url: string, id: string, secret: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const body = 'grant_type=client_credentials';
    const req = request(
      `${url}/oauth/token`,
      {
        method: 'POST',
        agent: false,
        headers: {
          authorization: basic(id, secret),
          'content-type': 'application/x-www-form-urlencoded',
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function openSocket(url: string): Promise<Socket> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const s = connect(Number(port), hostname, () => resolve(s));
    s.once('error', reject);
  });
}

/** Resolves with the time (ms since `since`) at which the server closed the socket, and what it sent. */
function closedBy(s: Socket, since: number): Promise<{ ms: number; received: string }> {
  let received = '';
  s.on('data', (d) => (received += String(d)));
  s.on('error', () => undefined);
  return new Promise((resolve) => s.once('close', () => resolve({ ms: Date.now() - since, received })));
}

const within = <T>(p: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([
    p,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms),
    ),
  ]);

test('slow bodies and slow headers are cut at the timeout while token requests keep being answered', async (t) => {
  const h = await startHarness({ 'request-timeout': '1s', 'headers-timeout': '1s' });
  const sockets: Socket[] = [];
  // Sockets first: a server that never cuts them would otherwise keep close() waiting.
  t.after(async () => {
    sockets.forEach((s) => s.destroy());
    await h.close();
  });
  const { id, secret: maybeSecret } = await h.addClient({ id: 'svc', grants: ['client_credentials'] });
  const secret = maybeSecret!;
  const started = Date.now();
  const attackers: Array<Promise<{ ms: number; received: string }>> = [];
  for (let i = 0; i < 20; i++) {
    const s = await openSocket(h.url);
    sockets.push(s);
    attackers.push(closedBy(s, started));
    // Half send complete headers and a body that never ends; half never finish their headers.
    s.write(
      i % 2 === 0
        ? 'POST /oauth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n' +
            'Content-Length: 1000\r\n\r\ngrant_type=cl'
        : 'POST /oauth/token HTTP/1.1\r\nHost: x\r\nContent-Type: appl',
    );
  }
  // During the attack, token requests are answered.
  const statuses: number[] = [];
  while (Date.now() - started < 1500) {
    statuses.push(await within(tokenRequest(h.url, id, secret), 2000, 'token request during the attack'));
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(statuses.length >= 5, `only ${statuses.length} token requests`);
  assert.ok(
    statuses.every((s) => s === 200),
    statuses.join(','),
  );

  // 1 s timeout, checked every 250 ms: every slow client is gone well within 4 s of connecting.
  const closed = await within(Promise.all(attackers), 4000, 'slow clients cut');
  for (const c of closed) assert.ok(c.ms >= 900 && c.ms < 4000, `cut after ${c.ms} ms`);
  assert.ok(
    closed.some((c) => c.received.startsWith('HTTP/1.1 408')),
    'a slow request is answered 408 before its connection is closed',
  );
});

test('--max-connections N: connection N+1 is closed at once, and the server serves again once they close', async (t) => {
  const h = await startHarness({ 'max-connections': '3' });
  const held: Socket[] = [];
  t.after(async () => {
    held.forEach((s) => s.destroy());
    await h.close();
  });
  const { id, secret: maybeSecret } = await h.addClient({ id: 'svc', grants: ['client_credentials'] });
  const secret = maybeSecret!;

  // Three open keep-alive connections, each proven accepted by an answered request.
  for (let i = 0; i < 3; i++) {
    const s = await openSocket(h.url);
    held.push(s);
    const answered = new Promise<string>((resolve) => s.once('data', (d) => resolve(String(d))));
    s.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.match(await within(answered, 2000, `connection ${i + 1}`), /^HTTP\/1\.1 200/);
  }

  const fourth = await openSocket(h.url);
  const refused = closedBy(fourth, Date.now());
  fourth.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
  const result = await within(refused, 2000, 'the connection beyond the cap closed');
  assert.equal(result.received, '', 'no response on the refused connection');
  // A token request on a new connection is refused as well while the cap is reached.
  await assert.rejects(tokenRequest(h.url, id, secret));

  // Close the held connections: the server serves new ones again.
  await Promise.all(held.map((s) => new Promise<void>((r) => s.end(() => r()))));
  held.forEach((s) => s.destroy());
  const deadline = Date.now() + 3000;
  let status = 0;
  while (status !== 200 && Date.now() < deadline) {
    status = await tokenRequest(h.url, id, secret).catch(() => 0);
    if (status !== 200) await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(status, 200);
});
