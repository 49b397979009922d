// @ts-check
// Login sessions in Redis when the demo runs as several processes (npm run
// example:cluster): a login made on one worker must hold on all of them. A
// few lines over the ioredis client the project already uses (connect-redis
// now speaks only node-redis).
import session from 'express-session';
import { Redis } from 'ioredis';

export class RedisSessionStore extends session.Store {
  /** @param {string} url @param {string} prefix */
  constructor(url, prefix) {
    super();
    this.redis = new Redis(url);
    this.redis.on('error', (err) => console.error(`session store: ${err.message}`));
    this.prefix = prefix;
  }

  /** @param {import('express-session').SessionData} data */
  ttl(data) {
    const maxAge = data.cookie?.maxAge;
    return typeof maxAge === 'number' && maxAge > 0 ? Math.ceil(maxAge / 1000) : 86400;
  }

  /** @param {string} sid @param {(err: unknown, data?: import('express-session').SessionData | null) => void} done */
  get(sid, done) {
    this.redis.get(this.prefix + sid).then((json) => done(null, json === null ? null : JSON.parse(json)), done);
  }

  /** @param {string} sid @param {import('express-session').SessionData} data @param {(err?: unknown) => void} [done] */
  set(sid, data, done) {
    this.redis.set(this.prefix + sid, JSON.stringify(data), 'EX', this.ttl(data)).then(() => done?.(), done);
  }

  /** @override @param {string} sid @param {import('express-session').SessionData} data @param {(err?: unknown) => void} [done] */
  touch(sid, data, done) {
    this.redis.expire(this.prefix + sid, this.ttl(data)).then(() => done?.(), done);
  }

  /** @param {string} sid @param {(err?: unknown) => void} [done] */
  destroy(sid, done) {
    this.redis.del(this.prefix + sid).then(() => done?.(), done);
  }

  close() {
    this.redis.disconnect();
  }
}
