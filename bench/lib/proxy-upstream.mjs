// Child process: the app behind `tessera proxy` in the proxy benchmark. A node:http server answering every
// request with a small body (the cost measured is the proxy's, not the app's); prints its port.
import { createServer } from 'node:http';

const body = Buffer.from('{"ok":true}');
const server = createServer((req, res) => {
  // An app would read the forwarded token; this one only checks that one came.
  res.writeHead(req.headers.authorization ? 200 : 401, {
    'content-type': 'application/json',
    'content-length': body.length,
  });
  res.end(body);
});
server.keepAliveTimeout = 72_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
