/**
 * A TCP proxy in front of a Redis that a test controls command by command:
 * it forwards every connection, can hold one connection's replies from the
 * first command matching a pattern on (until `release()`), and tells when a
 * command matching a pattern passes. For races that need one Redis reply to come late.
 */
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';

interface Watch {
  pattern: RegExp;
  seen(): void;
}

export interface RedisGate {
  url: string;
  /**
   * Lets the command matching `pattern` run, and holds that connection's replies
   * from then on, its reply included (until `release()`); resolves once the command went to Redis.
   */
  holdReplyTo(pattern: RegExp): Promise<void>;
  /** Lets the held replies go on. */
  release(): void;
  /** Resolves when a command matching `pattern` goes to Redis on any connection. */
  sees(pattern: RegExp): Promise<void>;
  close(): Promise<void>;
}

export async function redisGate(target: URL): Promise<RedisGate> {
  const sockets = new Set<Socket>();
  let holdReply: Watch | undefined;
  /** The connection whose replies are held, and the replies kept. */
  let heldReplies: { client: Socket; chunks: Buffer[] } | undefined;
  const watches: Watch[] = [];
  const server = createServer((client) => {
    const upstream = connect(Number(target.port || 6379), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('close', () => (s === client ? upstream : client).destroy());
      s.on('error', () => s.destroy());
    }
    let replies: { client: Socket; chunks: Buffer[] } | undefined;
    upstream.on('data', (chunk: Buffer) => {
      if (replies !== undefined && heldReplies === replies) replies.chunks.push(chunk);
      else client.write(chunk);
    });
    client.on('data', (chunk: Buffer) => {
      // RESP commands are plain text apart from their payloads: a chunk's text finds the command names and keys.
      const text = chunk.toString('latin1');
      for (const watch of watches.splice(0)) {
        if (watch.pattern.test(text)) watch.seen();
        else watches.push(watch);
      }
      // From here on the connection's replies wait (any to earlier commands still on their way too).
      if (replies === undefined && holdReply !== undefined && holdReply.pattern.test(text)) {
        replies = { client, chunks: [] };
        heldReplies = replies;
        holdReply.seen();
        holdReply = undefined;
      }
      upstream.write(chunk);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `redis://127.0.0.1:${(server.address() as AddressInfo).port}`,
    holdReplyTo(pattern) {
      return new Promise((resolve) => {
        holdReply = { pattern, seen: resolve };
      });
    },
    release() {
      const replies = heldReplies;
      heldReplies = undefined;
      if (replies !== undefined) for (const chunk of replies.chunks.splice(0)) replies.client.write(chunk);
    },
    sees(pattern) {
      return new Promise((resolve) => watches.push({ pattern, seen: resolve }));
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
