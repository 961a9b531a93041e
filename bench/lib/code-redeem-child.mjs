// Child process: redeem a list of authorization codes with autocannon, one code per request (a code works
// once, so a fixed request body cannot measure redemption). argv[2]: JSON
// `{ url, basic, codesFile, verifier, redirectUri, connections }`; prints the summary as JSON.
import { readFileSync } from 'node:fs';
import { runAmount } from './amount-run.mjs';

const opts = JSON.parse(process.argv[2]);
const codes = JSON.parse(readFileSync(opts.codesFile, 'utf8'));
let next = 0;
const tail = `&redirect_uri=${encodeURIComponent(opts.redirectUri)}&code_verifier=${opts.verifier}`;
const summary = await runAmount({
  url: opts.url,
  connections: opts.connections,
  amount: codes.length,
  requests: [
    {
      method: 'POST',
      headers: { authorization: opts.basic, 'content-type': 'application/x-www-form-urlencoded' },
      setupRequest: (request) => ({
        ...request,
        body: `grant_type=authorization_code&code=${encodeURIComponent(codes[next++ % codes.length])}${tail}`,
      }),
    },
  ],
});
process.stdout.write(JSON.stringify(summary) + '\n');
