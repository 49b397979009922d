// @ts-check
// The engine the example runs on: memory by default, Redis when REDIS_URL is set.
import * as bayeux from 'express-bayeux';

/** @returns {Promise<import('express-bayeux').Engine | undefined>} */
export async function engineFromEnv() {
  const url = process.env.REDIS_URL;
  if (!url) return undefined;
  const { redisEngine } = /** @type {{ redisEngine?: (o: { url: string, namespace?: string }) => import('express-bayeux').Engine }} */ (
    bayeux
  );
  if (redisEngine === undefined) throw new Error('REDIS_URL is set but this build of express-bayeux has no Redis engine');
  return redisEngine({ url, namespace: process.env.BAYEUX_NAMESPACE ?? 'chat-demo' });
}
