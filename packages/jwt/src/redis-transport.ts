import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { InvalidOptions } from './errors.js';
import type { RevocationTransport } from './revocation.js';

/** Options for createRedisRevocationTransport. */
export interface RedisTransportOptions {
  /** `redis://[user:password@]host[:port]` or `rediss://…` for TLS. */
  url: string | URL;
  /** Channel the server publishes on. Default `tessera:revocations` (docs/revocation.md). */
  channel?: string;
  /** Give up on one connection attempt after this many milliseconds. Default 5000. */
  connectTimeoutMs?: number;
  /** Reconnect backoff bounds in milliseconds. Default 100 … 5000. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Called on connection errors (never with message contents). */
  onError?: (err: Error) => void;
}

// A pushed entry is a small JSON object; anything larger is not ours and drops the connection (A14).
const MAX_BULK = 64 * 1024;
const MAX_BUFFER = 256 * 1024;

/**
 * Push transport for createRevocationList over Redis pub/sub, written on node:net so that @tessera/jwt keeps
 * zero dependencies. It speaks just enough RESP2 to AUTH, SUBSCRIBE and read `message` pushes; it reconnects
 * with backoff and calls `onReconnect` after each (re)subscription so the list pulls from its cursor and
 * nothing published while it was away is lost.
 *
 * @example
 * const revocations = createRevocationList({ feedUrl, clientId, clientSecret, policy: 'fail-closed',
 *   transport: createRedisRevocationTransport({ url: 'redis://127.0.0.1:6379' }) });
 */
export function createRedisRevocationTransport(options: RedisTransportOptions): RevocationTransport {
  const url = new URL(String(options.url));
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new InvalidOptions('the Redis URL must use redis: or rediss:');
  }
  const channel = options.channel ?? 'tessera:revocations';
  const connectTimeout = options.connectTimeoutMs ?? 5000;
  const minBackoff = options.minBackoffMs ?? 100;
  const maxBackoff = options.maxBackoffMs ?? 5000;
  const host = url.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1';
  const port = Number(url.port || 6379);
  const user = decodeURIComponent(url.username);
  const password = decodeURIComponent(url.password);

  return {
    subscribe(onEntry, onReconnect) {
      let closed = false;
      let socket: Socket | undefined;
      let timer: NodeJS.Timeout | undefined;
      let backoff = minBackoff;

      const scheduleReconnect = () => {
        if (closed || timer) return;
        timer = setTimeout(() => {
          timer = undefined;
          open();
        }, backoff);
        timer.unref();
        backoff = Math.min(backoff * 2, maxBackoff);
      };

      const open = () => {
        if (closed) return;
        const s =
          url.protocol === 'rediss:'
            ? tlsConnect({ host, port, servername: host })
            : netConnect({ host, port });
        socket = s;
        s.setNoDelay(true);
        s.setTimeout(connectTimeout, () => s.destroy(new Error('Redis connection timed out')));
        const parser = createRESPParser();
        let subscribed = false;
        s.on('connect', () => {
          const commands: string[][] = [];
          if (password) commands.push(user ? ['AUTH', user, password] : ['AUTH', password]);
          commands.push(['SUBSCRIBE', channel]);
          s.write(commands.map(encodeCommand).join(''));
        });
        s.on('data', (chunk: Buffer) => {
          let replies: RESPValue[];
          try {
            replies = parser(chunk);
          } catch (err) {
            s.destroy(err as Error);
            return;
          }
          for (const reply of replies) {
            if (reply instanceof Error) {
              s.destroy(reply);
              return;
            }
            if (!Array.isArray(reply)) continue; // +OK for AUTH
            const [kind, ch, body] = reply;
            if (kind === 'subscribe' && ch === channel && !subscribed) {
              subscribed = true;
              s.setTimeout(0);
              backoff = minBackoff;
              onReconnect();
            } else if (kind === 'message' && ch === channel && typeof body === 'string') {
              let entry: unknown;
              try {
                entry = JSON.parse(body);
              } catch {
                continue; // not ours; the list validates what it gets anyway
              }
              onEntry(entry);
            }
          }
        });
        s.on('error', (err) => options.onError?.(err));
        s.on('close', () => {
          if (socket === s) socket = undefined;
          scheduleReconnect();
        });
      };

      open();
      return () => {
        closed = true;
        if (timer) clearTimeout(timer);
        socket?.destroy();
      };
    },
  };
}

type RESPValue = string | number | null | Error | RESPValue[];

function encodeCommand(args: string[]): string {
  let out = `*${args.length}\r\n`;
  for (const a of args) out += `$${Buffer.byteLength(a)}\r\n${a}\r\n`;
  return out;
}

/** An incremental RESP2 parser: feed chunks, get the complete replies so far. Sizes are bounded. */
function createRESPParser(): (chunk: Buffer) => RESPValue[] {
  let buffer: Buffer = Buffer.alloc(0);
  return (chunk) => {
    buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
    if (buffer.length > MAX_BUFFER) throw new Error('Redis reply too large');
    const out: RESPValue[] = [];
    for (;;) {
      const parsed = parseValue(buffer, 0);
      if (parsed === undefined) break;
      out.push(parsed.value);
      buffer = buffer.subarray(parsed.next);
      if (buffer.length === 0) break;
    }
    return out;
  };
}

function parseValue(buf: Buffer, start: number): { value: RESPValue; next: number } | undefined {
  if (start >= buf.length) return undefined;
  const lineEnd = buf.indexOf('\r\n', start);
  if (lineEnd === -1) return undefined;
  const type = buf[start];
  const line = buf.toString('latin1', start + 1, lineEnd);
  const after = lineEnd + 2;
  switch (type) {
    case 0x2b: // +
      return { value: line, next: after };
    case 0x2d: // -
      return { value: new Error(`Redis error: ${line.slice(0, 200)}`), next: after };
    case 0x3a: // :
      return { value: Number(line), next: after };
    case 0x24: {
      // $
      const len = Number(line);
      if (len === -1) return { value: null, next: after };
      if (!Number.isInteger(len) || len < 0 || len > MAX_BULK) throw new Error('Redis bulk string too large');
      if (buf.length < after + len + 2) return undefined;
      return { value: buf.toString('utf8', after, after + len), next: after + len + 2 };
    }
    case 0x2a: {
      // *
      const count = Number(line);
      if (count === -1) return { value: null, next: after };
      if (!Number.isInteger(count) || count < 0 || count > 16) throw new Error('unexpected Redis array');
      const items: RESPValue[] = [];
      let pos = after;
      for (let i = 0; i < count; i++) {
        const item = parseValue(buf, pos);
        if (item === undefined) return undefined;
        items.push(item.value);
        pos = item.next;
      }
      return { value: items, next: pos };
    }
    default:
      throw new Error('malformed Redis reply');
  }
}
