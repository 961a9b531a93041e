/**
 * A TCP proxy in front of a real service (PostgreSQL, Redis) that a test can take down and bring back, to
 * simulate an outage or a restart without touching the shared server other tests use.
 *
 * @example
 * const proxy = await startTcpProxy('127.0.0.1', 5432);
 * const store = await openPostgresStore({ url: `postgres://postgres@127.0.0.1:${proxy.port}/test` });
 * await proxy.down(); // connections cut, new ones refused
 * await proxy.up(); // same port again
 */
import { createServer, Socket, type Server } from 'node:net';

export interface TcpProxy {
  readonly port: number;
  /** Cuts every open connection and stops listening (ECONNRESET, then ECONNREFUSED). */
  down(): Promise<void>;
  /** Listens again on the same port. */
  up(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  const make = (): Server =>
    createServer((client) => {
      const upstream = new Socket();
      upstream.connect(targetPort, targetHost);
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on('error', () => {});
        s.on('close', () => {
          sockets.delete(s);
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
  const listen = (server: Server, port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
    });
  let server: Server | undefined = make();
  const port = await listen(server, 0);

  const down = async (): Promise<void> => {
    const closing = server;
    server = undefined;
    for (const s of sockets) s.destroy();
    sockets.clear();
    if (closing) await new Promise<void>((resolve) => closing.close(() => resolve()));
  };
  return {
    port,
    down,
    async up() {
      if (server) return;
      server = make();
      await listen(server, port);
    },
    close: down,
  };
}
