/**
 * `node --import leakscope/register app.js`: starts the agent with settings from the environment
 * (LEAKSCOPE_ADDR, LEAKSCOPE_TOKEN, LEAKSCOPE_ALLOWED_HOSTS, LEAKSCOPE_HEAP_INTERVAL,
 * LEAKSCOPE_CPU_INTERVAL, LEAKSCOPE_ASYNC_STACKS, LEAKSCOPE_SOURCE_MAPS, LEAKSCOPE_METRICS,
 * LEAKSCOPE_START; see
 * the README). The application starts at once; the agent comes up beside it and reports its address
 * on stderr. Nothing here can stop the application: every failure becomes one line on stderr.
 *
 * Under `node:cluster` every process runs this (workers inherit the flags): the primary listens on
 * the configured port and worker N on port + N (its `cluster.worker.id`), so each process that
 * serves traffic has an agent of its own. Port 0 gives every process a free port.
 */
import cluster from 'node:cluster';
import { Server } from 'node:net';
import { isMainThread } from 'node:worker_threads';
import { optionsFromEnv, startAgent } from './agent/index.js';

function begin(): void {
  const env = optionsFromEnv(process.env);
  if (!env.ok) {
    process.stderr.write(`leakscope agent: ${env.reason}; not started (the application keeps running)\n`);
    return;
  }
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

/**
 * LEAKSCOPE_START=listen[:PORT] (set by `leakscope soak` beside NODE_OPTIONS="--import …"): the
 * agent starts only in the process that listens — on TCP port PORT, or on any TCP port — or that forks
 * node:cluster workers. Every node process of a command such as `npm start` or `npx tsx server.ts`
 * loads this file, and the wrappers (npm, npx, tsx's parent, a build step) must not take the
 * agent's port before the service does. Until then nothing runs but a wrapper around
 * `net.Server.prototype.listen`, removed at the first match.
 */
function deferUntilListen(port: number | undefined): void {
  const proto = Server.prototype;
  const original = proto.listen;
  let done = false;
  const go = () => {
    if (done) return;
    done = true;
    if (proto.listen === patched) proto.listen = original;
    begin();
  };
  function patched(this: Server, ...args: unknown[]): Server {
    this.once('listening', () => {
      const a = this.address();
      if (a !== null && typeof a === 'object' && (port === undefined || a.port === port)) go();
    });
    return (original as (...a: unknown[]) => Server).apply(this, args);
  }
  proto.listen = patched as typeof proto.listen;
  if (cluster.isPrimary) cluster.once('fork', go);
}

if (isMainThread) {
  const when = process.env.LEAKSCOPE_START?.trim() ?? '';
  const m = /^listen(?::(\d{1,5}))?$/.exec(when);
  if (when === '' || when === 'now') begin();
  else if (m) deferUntilListen(m[1] !== undefined ? Number(m[1]) : undefined);
  else process.stderr.write(`leakscope agent: LEAKSCOPE_START must be "now", "listen" or "listen:PORT", got "${when}"; not started (the application keeps running)\n`);
}
