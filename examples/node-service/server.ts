/**
 * The leaky example service: an HTTP server whose single route runs the request pipeline of
 * leaks.ts, with leakscope's agent serving /debug/pprof on its own port.
 *
 *   PORT=8080 AGENT_PORT=6060 node dist/examples/node-service/server.js
 *
 * PORT / AGENT_PORT 0 (the default) pick free ports. When ready it prints one JSON line on stdout:
 *   {"ready":true,"url":"http://127.0.0.1:…/","agent":"http://127.0.0.1:…/debug/pprof/"}
 * LEAKSCOPE_TOKEN protects the agent; LEAKSCOPE_HEAP_INTERVAL sets its sampling interval
 * (default here 131072 bytes: finer than the agent's default, fine for a demo).
 * LEAKS=off runs only the steps that are not leaks (a clean build); DELAY_MS=N delays every answer
 * of DELAY_PATH (default /api) by N ms (a slower build, for the regression gate). Started with
 * `node --import leakscope/register` (as `leakscope soak` does), it uses that agent.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getAgent, startAgent, type Agent } from '../../src/agent/index.js';
import { NOT_LEAKS, pipeline, publishPrice, type RequestContext } from './leaks.js';

const steps = process.env.LEAKS === 'off' ? pipeline.filter((s) => (NOT_LEAKS as readonly string[]).includes(s.name)) : pipeline;
const delayMs = Number(process.env.DELAY_MS ?? 0);
const delayPath = process.env.DELAY_PATH ?? '/api';

let seq = 0;

function handle(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.pathname !== '/api') {
    res.writeHead(url.pathname === '/' ? 200 : 404, { 'content-type': 'text/plain' });
    res.end(url.pathname === '/' ? 'leaky example service: GET /api?user=u42&product=p7\n' : 'not found\n');
    return;
  }
  const id = ++seq;
  const num = (v: string | null, dflt: number) => {
    const n = Number(v?.replace(/^\D+/, ''));
    return Number.isFinite(n) && v ? n : dflt;
  };
  const ctx: RequestContext = {
    id,
    userId: num(url.searchParams.get('user'), id % 1000),
    productId: num(url.searchParams.get('product'), id),
    body: {},
  };
  for (const step of steps) step(ctx);
  const text = JSON.stringify(ctx.body);
  const send = () => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };
  if (delayMs > 0 && url.pathname === delayPath) setTimeout(send, delayMs);
  else send();
}

/** the agent of `--import leakscope/register`, once it is up (it starts beside the application) */
async function injectedAgent(): Promise<Agent | undefined> {
  if (!process.execArgv.some((a) => /leakscope\/register$|[\\/]register\.js$/.test(a))) return undefined;
  for (let i = 0; i < 100 && !getAgent(); i++) await new Promise((r) => setTimeout(r, 50));
  return getAgent();
}

async function main(): Promise<void> {
  const port = Number(process.env.PORT ?? 0);
  const agentPort = Number(process.env.AGENT_PORT ?? 0);
  const agent = (await injectedAgent()) ?? await startAgent({
    host: '127.0.0.1',
    port: agentPort,
    token: process.env.LEAKSCOPE_TOKEN || undefined,
    heapInterval: Number(process.env.LEAKSCOPE_HEAP_INTERVAL ?? 131072),
  });
  if (!agent.active) {
    process.stderr.write(`example service: agent did not start: ${agent.error}\n`);
    process.exit(1);
  }
  const server = createServer(handle);
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const addr = server.address() as AddressInfo;
  const prices = setInterval(() => publishPrice(Math.random()), 5000);
  prices.unref();
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
  process.stderr.write(`example service: ${(e as Error).message}\n`);
  process.exit(1);
});
