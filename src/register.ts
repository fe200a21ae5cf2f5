/**
 * `node --import leakscope/register app.js`: starts the agent with settings from the environment
 * (LEAKSCOPE_ADDR, LEAKSCOPE_TOKEN, LEAKSCOPE_ALLOWED_HOSTS, LEAKSCOPE_HEAP_INTERVAL,
 * LEAKSCOPE_CPU_INTERVAL, LEAKSCOPE_ASYNC_STACKS, LEAKSCOPE_SOURCE_MAPS, LEAKSCOPE_METRICS; see
 * the README). The application starts at once; the agent comes up beside it and reports its address
 * on stderr. Nothing here can stop the application: every failure becomes one line on stderr.
 *
 * Under `node:cluster` every process runs this (workers inherit the flags): the primary listens on
 * the configured port and worker N on port + N (its `cluster.worker.id`), so each process that
 * serves traffic has an agent of its own. Port 0 gives every process a free port.
 */
import cluster from 'node:cluster';
import { isMainThread } from 'node:worker_threads';
import { optionsFromEnv, startAgent } from './agent/index.js';

if (isMainThread) {
  const env = optionsFromEnv(process.env);
  if (!env.ok) {
    process.stderr.write(`leakscope agent: ${env.reason}; not started (the application keeps running)\n`);
  } else {
    const options = env.value;
    const workerId = cluster.isWorker ? cluster.worker?.id : undefined;
    let where = '';
    if (workerId !== undefined) {
      const base = options.port ?? 6060;
      if (base !== 0) options.port = base + workerId;
      where = ` (cluster worker ${workerId}, pid ${process.pid})`;
    }
    startAgent(options)
      .then((agent) => {
        if (agent.url) process.stderr.write(`leakscope agent: listening on ${agent.url}${where}\n`);
      })
      .catch(() => {});
  }
}
