// Run from a project without ioredis: the memory engine works, the Redis engine says what to install.
import { bayeux, redisEngine } from 'express-bayeux';

const memory = bayeux({ logger: false });
await memory.ready;
await memory.close();
const redis = bayeux({ engine: redisEngine(), logger: false });
const outcome = await redis.ready.then(
  () => 'opened',
  (err) => `${err.name} ${err.code}: ${err.message}`,
);
await redis.close();
console.log(outcome);
