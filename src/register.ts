/**
 * `node --import leakscope/register app.js`: starts the agent with settings from the environment
 * (LEAKSCOPE_ADDR, LEAKSCOPE_TOKEN, LEAKSCOPE_HEAP_INTERVAL, LEAKSCOPE_CPU_INTERVAL,
 * LEAKSCOPE_ASYNC_STACKS, LEAKSCOPE_SOURCE_MAPS, LEAKSCOPE_METRICS; see the README).
 * The application starts at once; the agent comes up beside it and reports its address on stderr.
 * Nothing here can stop the application: every failure becomes one line on stderr.
 */
import { isMainThread } from 'node:worker_threads';
import { optionsFromEnv, startAgent } from './agent/index.js';

if (isMainThread) {
  const env = optionsFromEnv(process.env);
  if (!env.ok) {
    process.stderr.write(`leakscope agent: ${env.reason}; not started (the application keeps running)\n`);
  } else {
    startAgent(env.value)
      .then((agent) => {
        if (agent.url) process.stderr.write(`leakscope agent: listening on ${agent.url}\n`);
      })
      .catch(() => {});
  }
}
