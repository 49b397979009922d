// @ts-check
// `npm run example:cluster`: the chat demo on every core with node:cluster.
// The workers share one port; Redis (REDIS_URL) makes them one Bayeux
// server, so no sticky sessions are needed: any worker serves any request.
import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';

if (!process.env.REDIS_URL) {
  console.error('example:cluster needs Redis: REDIS_URL=redis://127.0.0.1:6379 npm run example:cluster');
  process.exit(1);
}

if (cluster.isPrimary) {
  const workers = Number(process.env.WORKERS ?? availableParallelism());
  console.log(`starting ${workers} workers on one port, joined through ${process.env.REDIS_URL}`);
  for (let i = 0; i < workers; i++) cluster.fork();
  cluster.on('exit', (worker, code, signal) => {
    if (signal !== 'SIGINT' && signal !== 'SIGTERM' && code !== 0) {
      console.error(`worker ${worker.process.pid} died (${signal ?? code}); starting another`);
      cluster.fork();
    }
  });
  for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM'])) {
    process.once(signal, () => {
      for (const worker of Object.values(cluster.workers ?? {})) worker?.kill(signal);
    });
  }
} else {
  await import('./server.js');
}
