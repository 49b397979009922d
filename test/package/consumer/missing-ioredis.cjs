// The same from CommonJS.
const { bayeux, redisEngine } = require('express-bayeux');

const redis = bayeux({ engine: redisEngine(), logger: false });
redis.ready.then(
  () => console.log('opened'),
  async (err) => {
    await redis.close();
    console.log(`${err.name} ${err.code}: ${err.message}`);
  },
);
