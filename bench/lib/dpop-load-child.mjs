// Child process: `amount` client_credentials requests with autocannon; with `proofsFile`, each request
// carries the next pre-generated DPoP proof (a proof works once, so a fixed header cannot measure DPoP).
// Without, the same request is built anew each time all the same (see setupRequest below).
// argv[2]: JSON `{ url, basic, proofsFile?, amount, connections }`; prints the summary as JSON.
import { readFileSync } from 'node:fs';
import { runAmount } from './amount-run.mjs';

const opts = JSON.parse(process.argv[2]);
const proofs = opts.proofsFile ? JSON.parse(readFileSync(opts.proofsFile, 'utf8')) : null;
let next = 0;
const headers = { authorization: opts.basic, 'content-type': 'application/x-www-form-urlencoded' };
const summary = await runAmount({
  url: opts.url,
  connections: opts.connections,
  amount: opts.amount,
  requests: [
    {
      method: 'POST',
      body: 'grant_type=client_credentials',
      headers,
      // Both runs build each request anew (a setupRequest stops autocannon from reusing one buffer), so the
      // load generator, which shares the CPUs with the server, costs the same in both.
      setupRequest: proofs
        ? (request) => ({ ...request, headers: { ...headers, dpop: proofs[next++ % proofs.length] } })
        : (request) => ({ ...request, headers: { ...headers } }),
    },
  ],
});
process.stdout.write(JSON.stringify(summary) + '\n');
