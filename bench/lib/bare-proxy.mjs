// Child process: the floor for the proxy benchmark. A bare reverse proxy (node:http in front of an undici
// Pool, no Fastify, no authentication, no header hygiene) that forwards every request with a fixed
// Authorization header; prints its port. What `tessera proxy` costs above this is its own.
import { createServer } from 'node:http';
import { createRequire } from 'node:module';

// undici ships with @fastify/reply-from (the proxy's own dependency); resolved from the server package.
const require = createRequire(new URL('../../packages/server/package.json', import.meta.url));
const { Pool } = require(require.resolve('undici', { paths: [require.resolve('@fastify/reply-from')] }));
const pool = new Pool(process.argv[2], { connections: 128, pipelining: 1 });
const server = createServer((req, res) => {
  const headers = { ...req.headers, authorization: process.argv[3] };
  delete headers.connection;
  delete headers.host;
  pool.request({ path: req.url, method: req.method, headers, body: req.method === 'GET' ? null : req }).then(
    ({ statusCode, headers: h, body }) => {
      delete h.connection;
      delete h['keep-alive'];
      delete h['transfer-encoding'];
      res.writeHead(statusCode, h);
      body.pipe(res);
    },
    () => {
      res.statusCode = 502;
      res.end();
    },
  );
});
server.keepAliveTimeout = 72_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
