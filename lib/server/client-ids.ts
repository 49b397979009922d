/**
 * clientIds: 144 random bits from the OS CSPRNG, URL-safe — the clientId is
 * the session's only credential. Random bytes are drawn 256 ids at a time:
 * one system call per 256 handshakes instead of one each.
 */
import { randomBytes } from 'node:crypto';

const BYTES = 18;
const BATCH = 256;

export class ClientIds {
  private pool = Buffer.alloc(0);
  private offset = 0;

  next(): string {
    if (this.offset + BYTES > this.pool.length) {
      this.pool = randomBytes(BYTES * BATCH);
      this.offset = 0;
    }
    const id = this.pool.toString('base64url', this.offset, this.offset + BYTES);
    // Used bytes are wiped so the pool never holds an id already handed out.
    this.pool.fill(0, this.offset, this.offset + BYTES);
    this.offset += BYTES;
    return id;
  }
}
