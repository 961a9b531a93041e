// Section 5 (issue 14): people signing in, against a real `tessera serve` child process on SQLite.
// - password sign-ins/s at the OWASP argon2id parameters (POST /signin, each one a new session), next to the
//   floor: argon2id verifications/s of the same parameters in this process, on the same thread pool size;
// - SSO authorization/s (a live session → GET /oauth/authorize → 302 with a code);
// - code redemption/s (authorization_code → access, ID and refresh tokens; one fresh code per request);
// - client_credentials p99 alone and while sign-ins saturate the hashing (both loads at once).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, URLSearchParams } from 'node:url';
import { createRequire } from 'node:module';
import { runLoad, runLoads, track } from './lib/procs.mjs';
import { fmtGoal, fmtOps, fmtRatio, markdownTable } from './lib/table.mjs';
import {
  createBenchClient,
  startTessera,
  tempDataDir,
  tesseraCLI,
  TESSERA_BIN,
} from './lib/tessera-server.mjs';
import { redeemStoreFloor } from './lib/redeem-floor.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, '..', 'packages', 'server', 'package.json'));
const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const EMAIL = 'bench.user@example.com';
const PASSWORD = 'correct horse battery staple';
const FORM = 'application/x-www-form-urlencoded';

const median = (values) => {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >>> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Run the tessera CLI with `input` on stdin (for --password-stdin); resolves to stdout. */
function tesseraWithStdin(args, input) {
  return new Promise((resolve, reject) => {
    const child = track(spawn(process.execPath, [TESSERA_BIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'] }));
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.once('exit', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`tessera ${args[0]} ${args[1]} exited ${code}: ${err}`)),
    );
    child.stdin.end(`${input}\n`);
  });
}

/** Successful responses of one autocannon run with the given status (302/303 count as success here). */
function okPerSecond(r, status) {
  const count = r.statusCodeStats?.[status]?.count ?? 0;
  return r.duration > 0 ? count / r.duration : 0;
}

/** argon2id verifications/s with `parallel` in flight for `seconds`: the floor a sign-in cannot beat. */
async function argonFloor(seconds, parallel) {
  const { hash, verify } = require('@node-rs/argon2');
  const phc = await hash(PASSWORD, { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 });
  let done = 0;
  const end = performance.now() + seconds * 1000;
  const worker = async () => {
    while (performance.now() < end) {
      assert.equal(await verify(phc, PASSWORD), true);
      done++;
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: parallel }, worker));
  return done / ((performance.now() - t0) / 1000);
}

/** The csrf cookie and token of a fresh /signin form. */
async function signInForm(url) {
  const r = await fetch(`${url}/signin`);
  assert.equal(r.status, 200);
  const html = await r.text();
  const cookie = r.headers
    .getSetCookie()
    .map((c) => c.split(';', 1)[0])
    .find((c) => c.includes('csrf='));
  const input = /<input[^>]*name="csrf"[^>]*>/.exec(html)?.[0] ?? '';
  const csrf = /value="([^"]+)"/.exec(input)?.[1];
  assert.ok(cookie && csrf, 'the sign-in form has a csrf cookie and field');
  return { cookie, csrf };
}

/** Sign in once over HTTP; returns the session cookie pair. */
async function signIn(url, form) {
  const r = await fetch(`${url}/signin`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': FORM, cookie: form.cookie },
    body: form.body,
  });
  assert.ok(r.status === 303 || r.status === 302, `sign-in answered ${r.status}`);
  const session = r.headers
    .getSetCookie()
    .map((c) => c.split(';', 1)[0])
    .find((c) => c.includes('session=') && !c.endsWith('='));
  assert.ok(session, 'sign-in sets the session cookie');
  return session;
}

/** `count` codes from SSO authorizations, `parallel` at a time. */
async function mintCodes(authorizeURL, cookie, count, parallel = 32) {
  const codes = [];
  const worker = async () => {
    while (codes.length < count) {
      const r = await fetch(authorizeURL, { redirect: 'manual', headers: { cookie } });
      assert.equal(r.status, 302);
      const code = new URL(r.headers.get('location')).searchParams.get('code');
      assert.ok(code);
      codes.push(code);
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return codes;
}

function redeemCodes(opts) {
  return new Promise((resolve, reject) => {
    const child = track(
      spawn(process.execPath, [join(here, 'lib', 'code-redeem-child.mjs'), JSON.stringify(opts)], {
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.once('exit', (code) =>
      code === 0
        ? resolve(JSON.parse(out.trim().split('\n').pop()))
        : reject(new Error(`code redemption child exited ${code}: ${err.slice(-2000)}`)),
    );
  });
}

/** Run section 5 and return `{ rows, goals, markdown }`. */
export async function runSignInSection({ quick }) {
  if (!existsSync(new URL('../packages/server/dist/src/signin/routes.js', import.meta.url))) {
    return { skipped: true, markdown: '### Sign-in: skipped (packages/server not built)' };
  }
  const duration = quick ? 1 : 4;
  const rounds = quick ? 1 : 3;
  const codeCount = quick ? 500 : 8000;
  const cores = cpus().length;
  const data = tempDataDir();
  const storage = ['--data-dir', data.dir];
  let server;
  const samples = {
    signin: [],
    floor: [],
    sso: [],
    redeem: [],
    redeemFloor: [],
    ccAlone: [],
    ccDuring: [],
    signinDuring: [],
  };
  try {
    const cc = await createBenchClient(storage, {
      id: 'bench-cc',
      audience: 'https://orders.example',
      scope: 'orders:read',
    });
    const web = JSON.parse(
      await tesseraCLI([
        'clients',
        'create',
        '--id',
        'bench-web',
        '--grants',
        'authorization_code,refresh_token',
        '--redirect-uri',
        REDIRECT_URI,
        '--first-party',
        '--scope',
        'orders:read',
        '--audience',
        'https://orders.example',
        '--json',
        ...storage,
      ]),
    );
    const webBasic = `Basic ${Buffer.from(`${web.client_id}:${web.client_secret}`).toString('base64')}`;
    await tesseraWithStdin(
      ['users', 'create', '--email', EMAIL, '--name', 'Bench User', '--password-stdin', '--json', ...storage],
      PASSWORD,
    );
    server = await startTessera(storage);
    const { url } = server;

    const form = await signInForm(url);
    form.body = new URLSearchParams({ username: EMAIL, password: PASSWORD, csrf: form.csrf }).toString();
    const session = await signIn(url, form);
    const verifier = randomBytes(32).toString('base64url');
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const authorizeURL =
      `${url}/oauth/authorize?` +
      new URLSearchParams({
        response_type: 'code',
        client_id: 'bench-web',
        redirect_uri: REDIRECT_URI,
        scope: 'openid profile orders:read',
        state: 'bench-state',
        nonce: 'bench-nonce',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      });
    // Each step works once before any load: a code, redeemed into access, ID and refresh tokens.
    const [probe] = await mintCodes(authorizeURL, session, 1, 1);
    const redeemed = await fetch(`${url}/oauth/token`, {
      method: 'POST',
      headers: { authorization: webBasic, 'content-type': FORM },
      body: `grant_type=authorization_code&code=${probe}&redirect_uri=${encodeURIComponent(REDIRECT_URI)}&code_verifier=${verifier}`,
    });
    const tokens = await redeemed.json();
    assert.equal(redeemed.status, 200, JSON.stringify(tokens));
    assert.ok(tokens.access_token && tokens.id_token && tokens.refresh_token);

    const signinLoad = (connections, seconds) => ({
      url: `${url}/signin`,
      method: 'POST',
      headers: { 'content-type': FORM, cookie: form.cookie },
      body: form.body,
      connections,
      duration: seconds,
    });
    const ccLoad = (seconds) => ({
      url: `${url}/oauth/token`,
      method: 'POST',
      headers: { authorization: cc.basic, 'content-type': FORM },
      body: 'grant_type=client_credentials',
      connections: 10,
      duration: seconds,
    });
    const steps = [
      async () => samples.floor.push(await argonFloor(duration, 4)),
      async () => {
        const r = await runLoad(signinLoad(16, duration));
        samples.signin.push(okPerSecond(r, '303'));
      },
      async () => {
        const r = await runLoad({
          url: authorizeURL,
          headers: { cookie: session },
          connections: 50,
          duration,
        });
        samples.sso.push({
          perSecond: okPerSecond(r, '302'),
          p99: r.p99,
          other: r.totalRequests - (r.statusCodeStats?.['302']?.count ?? 0),
        });
      },
      async () => {
        const codes = await mintCodes(authorizeURL, session, codeCount);
        const codesFile = join(data.dir, 'codes.json');
        writeFileSync(codesFile, JSON.stringify(codes));
        const r = await redeemCodes({
          url: `${url}/oauth/token`,
          basic: webBasic,
          codesFile,
          verifier,
          redirectUri: REDIRECT_URI,
          connections: 50,
        });
        samples.redeem.push(r);
      },
      async () => samples.redeemFloor.push(await redeemStoreFloor(duration, codeCount)),
      async () => samples.ccAlone.push(await runLoad(ccLoad(duration))),
      async () => {
        const both = await runLoads([signinLoad(16, duration), ccLoad(duration)]);
        samples.signinDuring.push(okPerSecond(both.parts[0], '303'));
        samples.ccDuring.push(both.parts[1]);
      },
    ];
    for (let r = 0; r < rounds; r++) {
      for (let k = 0; k < steps.length; k++) await steps[(k + r) % steps.length]();
      process.stderr.write(`  signin section: round ${r + 1}/${rounds} done\n`);
    }
  } finally {
    await server?.stop();
    data.remove();
  }
  const signins = median(samples.signin);
  const floor = median(samples.floor);
  const sso = median(samples.sso.map((s) => s.perSecond));
  const redeem = median(samples.redeem.map((s) => s.requestsPerSec));
  const redeemFloor = median(samples.redeemFloor);
  const redeemFailures = samples.redeem.reduce((a, s) => a + s.non2xx + s.errors, 0);
  const ccAloneP99 = median(samples.ccAlone.map((s) => s.p99));
  const ccDuringP99 = median(samples.ccDuring.map((s) => s.p99));
  const rows = [
    ['floor: argon2id verify (m=19 MiB, t=2, p=1), 4 in flight, in-process', fmtOps(floor), '', ''],
    [
      'password sign-ins (POST /signin → new session), 16 connections',
      fmtOps(signins),
      fmtRatio(signins / floor),
      '',
    ],
    ['password sign-ins per core', fmtOps(signins / cores), '', ''],
    [
      'SSO authorization (session → 302 with code), 50 connections',
      fmtOps(sso),
      '',
      `${median(samples.sso.map((s) => s.p99))}`,
    ],
    [
      "floor: a redemption's store steps alone (4 SQLite commits, synchronous=FULL), in-process",
      fmtOps(redeemFloor),
      '',
      '',
    ],
    [
      'code redemption (code → access + ID + refresh token), 50 connections',
      fmtOps(redeem),
      fmtRatio(redeem / redeemFloor),
      `${median(samples.redeem.map((s) => s.p99))}`,
    ],
    [
      'client_credentials alone, 10 connections',
      fmtOps(median(samples.ccAlone.map((s) => s.requestsPerSec))),
      '',
      `${ccAloneP99}`,
    ],
    [
      'client_credentials while sign-ins saturate hashing',
      fmtOps(median(samples.ccDuring.map((s) => s.requestsPerSec))),
      '',
      `${ccDuringP99}`,
    ],
    ['sign-ins meanwhile', fmtOps(median(samples.signinDuring)), '', ''],
  ];
  const goals = [
    {
      goal: `password sign-ins ≥ 30/s per core (${cores} cores)`,
      value: signins / cores,
      pass: signins / cores >= 30,
    },
    {
      goal: `code redemption ≥ 2,000/s (store floor on this disk: ${fmtOps(redeemFloor)}/s)`,
      value: redeem,
      pass: redeem >= 2000,
    },
    { goal: 'SSO authorization ≥ 3,000/s', value: sso, pass: sso >= 3000 },
    {
      goal: 'client_credentials p99 < 50 ms while sign-ins saturate hashing',
      value: ccDuringP99,
      pass: ccDuringP99 < 50,
    },
  ];
  const md = [
    `### Sign-in: \`tessera serve\` on SQLite (child process; autocannon in child processes; ${rounds} interleaved rounds of ${duration} s, medians; ${codeCount} fresh codes per redemption round)`,
    '',
    markdownTable(['load', 'per second', 'ratio to floor', 'p99 ms'], rows),
    '',
    `Code redemptions that failed: ${redeemFailures}. Keycloak's published anchor: 15 password sign-ins/s per vCPU with Argon2.`,
    '',
    markdownTable(
      ['goal', 'result'],
      goals.map((g) => [g.goal, fmtGoal(g.pass)]),
    ),
  ];
  return { duration, rounds, cores, samples, goals, markdown: md.join('\n') };
}
