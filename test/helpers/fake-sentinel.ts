/**
 * A Sentinel of the test's own making, speaking just enough of the protocol
 * for ioredis (GET-MASTER-ADDR-BY-NAME, SENTINELS, SUBSCRIBE), so a test
 * decides when the primary's address is answered and when `+switch-master`
 * is announced: the orderings a real Sentinel produces only by chance.
 */
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';

/** Serializes a reply: strings as bulk strings, numbers as integers, arrays nested. */
function resp(value: string | number | readonly (string | number)[]): string {
  if (typeof value === 'number') return `:${value}\r\n`;
  if (typeof value === 'string') return `$${Buffer.byteLength(value)}\r\n${value}\r\n`;
  return `*${value.length}\r\n${value.map((v) => resp(v)).join('')}`;
}

/** Reads the commands (arrays of bulk strings, as clients send them) complete in `buffer`; returns them and what is left. */
function commands(buffer: Buffer): { parsed: string[][]; rest: Buffer } {
  const parsed: string[][] = [];
  /** The line starting at `from` and where the next one starts. */
  const line = (from: number): [string, number] | undefined => {
    const end = buffer.indexOf('\r\n', from);
    return end === -1 ? undefined : [buffer.toString('latin1', from, end), end + 2];
  };
  let at = 0;
  for (;;) {
    const head = line(at);
    if (head === undefined || !head[0].startsWith('*')) break;
    const args: string[] = [];
    let next = head[1];
    for (let i = 0; i < Number(head[0].slice(1)); i++) {
      const size = line(next);
      if (size === undefined) return { parsed, rest: buffer.subarray(at) };
      const length = Number(size[0].slice(1));
      if (buffer.length < size[1] + length + 2) return { parsed, rest: buffer.subarray(at) };
      args.push(buffer.toString('utf8', size[1], size[1] + length));
      next = size[1] + length + 2;
    }
    parsed.push(args);
    at = next;
  }
  return { parsed, rest: buffer.subarray(at) };
}

export class FakeSentinel {
  /** Clients subscribed to `+switch-master` (ioredis's failover detectors). */
  readonly watchers = new Set<Socket>();
  private readonly sockets = new Set<Socket>();
  private held: (() => void)[] | undefined;
  private server: Server | undefined;
  port = 0;

  constructor(
    private readonly name: string,
    /** Where the primary is: what GET-MASTER-ADDR-BY-NAME answers. */
    public primary: { host: string; port: number },
  ) {}

  async start(): Promise<void> {
    this.server = createServer((socket) => this.serve(socket));
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.port = (this.server.address() as { port: number }).port;
  }

  /** From now on, questions for the primary's address wait until `release()`. */
  hold(): void {
    this.held ??= [];
  }

  /** How many questions for the primary's address are waiting. */
  get waiting(): number {
    return this.held?.length ?? 0;
  }

  /** Answers the waiting questions and stops holding. */
  release(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const answer of held) answer();
  }

  /** Announces a failover of the primary to `to` on `+switch-master`, as Sentinels do. */
  switchMaster(to: { host: string; port: number }): void {
    const from = this.primary;
    this.primary = to;
    const payload = `${this.name} ${from.host} ${from.port} ${to.host} ${to.port}`;
    for (const watcher of this.watchers) watcher.write(resp(['message', '+switch-master', payload]));
  }

  async close(): Promise<void> {
    this.release();
    for (const socket of this.sockets) socket.destroy();
    const server = this.server;
    if (server === undefined) return;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private serve(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => {
      this.sockets.delete(socket);
      this.watchers.delete(socket);
    });
    socket.on('error', () => socket.destroy());
    const write = (reply: string): void => {
      if (!socket.destroyed) socket.write(reply);
    };
    let buffer: Buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      const { parsed, rest } = commands(Buffer.concat([buffer, chunk]));
      buffer = rest;
      for (const args of parsed) {
        if (args[0]?.toLowerCase() === 'subscribe' && args[1] === '+switch-master') this.watchers.add(socket);
        const reply = this.answer(args);
        if (typeof reply === 'string') write(reply);
        else if (this.held === undefined) write(reply());
        // Read when answered: a failover announced meanwhile changes the answer, as on a real Sentinel.
        else this.held.push(() => write(reply()));
        if (args[0]?.toLowerCase() === 'quit') socket.end();
      }
    });
  }

  /** The reply to a command; a function for the primary's address, which `hold()` may delay. */
  private answer([command = '', ...args]: string[]): string | (() => string) {
    switch (`${command} ${args[0] ?? ''}`.toLowerCase()) {
      case 'sentinel get-master-addr-by-name':
        return () => (args[1] === this.name ? resp([this.primary.host, String(this.primary.port)]) : '*-1\r\n');
      case 'sentinel sentinels':
        return resp([]);
      case 'subscribe +switch-master':
        return resp(['subscribe', '+switch-master', 1]);
    }
    switch (command.toLowerCase()) {
      case 'ping':
        return '+PONG\r\n';
      case 'quit':
        return '+OK\r\n';
      default:
        return `-ERR unknown command '${command}'\r\n`;
    }
  }
}
