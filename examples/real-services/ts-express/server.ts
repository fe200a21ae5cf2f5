/**
 * The TypeScript account service (routes in app.ts), with leakscope's agent on its own port.
 *
 *   npm run build
 *   PORT=8080 AGENT_PORT=6060 node dist/examples/real-services/ts-express/server.js
 *
 * PORT / AGENT_PORT 0 (the default) pick free ports. When ready it prints one JSON line on stdout:
 *   {"ready":true,"url":"http://127.0.0.1:…/","agent":"http://127.0.0.1:…/debug/pprof/"}
 * LEAKSCOPE_TOKEN protects the agent; LEAKSCOPE_HEAP_INTERVAL sets its sampling interval. The agent
 * maps frames through the .js.map files tsc writes, so reports name app.ts lines.
 */
import type { AddressInfo } from 'node:net';
import { startAgent } from '../../../src/agent/index.js';
import { createApp, pool } from './app.js';

async function main(): Promise<void> {
  const agent = await startAgent({
    host: '127.0.0.1',
    port: Number(process.env.AGENT_PORT ?? 0),
    token: process.env.LEAKSCOPE_TOKEN || undefined,
    heapInterval: process.env.LEAKSCOPE_HEAP_INTERVAL ? Number(process.env.LEAKSCOPE_HEAP_INTERVAL) : undefined,
  });
  if (!agent.active) {
    process.stderr.write(`ts-express service: agent did not start: ${agent.error}\n`);
    process.exit(1);
  }
  const app = createApp();
  const server = app.listen(Number(process.env.PORT ?? 0), '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const addr = server.address() as AddressInfo;
  // the pool reports a transient error now and then; each one reaches every leaked listener
  setInterval(() => pool.emit('error', new Error('connection reset')), 60_000).unref();
  process.stdout.write(JSON.stringify({ ready: true, url: `http://127.0.0.1:${addr.port}/`, agent: agent.url }) + '\n');
  const stop = () => {
    server.close();
    server.closeAllConnections();
    void agent.close().then(() => process.exit(0));
    setTimeout(() => process.exit(0), 3000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((e: unknown) => {
  process.stderr.write(`ts-express service: ${(e as Error).message}\n`);
  process.exit(1);
});
