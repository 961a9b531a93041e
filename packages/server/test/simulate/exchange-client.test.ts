// The exchange client's verdicts against a stand-in token endpoint on loopback: the form it sends, a
// token on 200, "refused" for an OAuth error (4xx), "unavailable" for anything else, and messages that
// never carry the token.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHTTPFetcher } from '@tessera/jwt';
import {
  ACCESS_TOKEN_TYPE,
  createExchangeClient,
  ExchangeFailure,
  TOKEN_EXCHANGE_GRANT,
} from '../../src/simulate/exchange-client.js';

let server: Server;
let url: string;
let answer: { status: number; body: string } = { status: 200, body: '{}' };
let seen: { authorization?: string; form: URLSearchParams } | undefined;

const read = (req: IncomingMessage) =>
  new Promise<string>((resolve) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => resolve(body));
  });

before(async () => {
  server = createServer((req, res) => {
    void read(req).then((body) => {
      seen = { authorization: req.headers.authorization, form: new URLSearchParams(body) };
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/oauth/token`;
});

after(() => new Promise<void>((resolve) => server.close(() => resolve())));

const client = () =>
  createExchangeClient({
    tokenEndpoint: url,
    clientId: 'sim-api',
    clientSecret: 's3cret',
    fetcher: createHTTPFetcher(),
  });

const SUBJECT = 'eyJhbGciOiJFUzI1NiJ9.subject.token';

test('sends the RFC 8693 form as the API client and returns the token with its expiry', async () => {
  answer = { status: 200, body: JSON.stringify({ access_token: 'exchanged', expires_in: 600 }) };
  const before = Math.floor(Date.now() / 1000);
  const out = await client().exchange(SUBJECT, 'https://downstream.test');
  assert.equal(out.token, 'exchanged');
  assert.ok(out.exp >= before + 600 && out.exp <= before + 601);
  assert.equal(seen!.authorization, `Basic ${Buffer.from('sim-api:s3cret').toString('base64')}`);
  assert.deepEqual(Object.fromEntries(seen!.form), {
    grant_type: TOKEN_EXCHANGE_GRANT,
    subject_token: SUBJECT,
    subject_token_type: ACCESS_TOKEN_TYPE,
    audience: 'https://downstream.test',
  });
});

test('an OAuth error (invalid_grant) is a refusal naming the error, never the token', async () => {
  answer = { status: 400, body: JSON.stringify({ error: 'invalid_grant', error_description: SUBJECT }) };
  const err = await client()
    .exchange(SUBJECT, 'https://downstream.test')
    .then(
      () => assert.fail('resolved'),
      (e: unknown) => e,
    );
  assert.ok(err instanceof ExchangeFailure);
  assert.equal(err.code, 'ERR_EXCHANGE_REFUSED');
  assert.match(err.message, /invalid_grant/);
  assert.ok(!err.message.includes(SUBJECT));
});

test('a 5xx, a body that is not an OAuth answer, or no server at all is "unavailable"', async () => {
  for (const a of [
    { status: 503, body: 'upstream down' },
    { status: 400, body: JSON.stringify({ error: `<script>${SUBJECT}` }) },
    { status: 200, body: '{"token_type":"Bearer"}' },
  ]) {
    answer = a;
    await assert.rejects(client().exchange(SUBJECT, 'https://downstream.test'), (e: unknown) => {
      assert.ok(e instanceof ExchangeFailure);
      assert.equal(e.code, 'ERR_EXCHANGE_UNAVAILABLE', a.body);
      assert.ok(!e.message.includes(SUBJECT));
      return true;
    });
  }
  const closed = createExchangeClient({
    tokenEndpoint: 'http://127.0.0.1:1/oauth/token',
    clientId: 'sim-api',
    clientSecret: 's3cret',
    fetcher: createHTTPFetcher(),
  });
  await assert.rejects(closed.exchange(SUBJECT, 'https://downstream.test'), {
    code: 'ERR_EXCHANGE_UNAVAILABLE',
  });
});
