// A catalogue API on fastify 5 with Prometheus metrics (prom-client), written the way such services
// usually are — with three leaks taken from real bug reports and four things that look like leaks
// but are not. The answer key is answers.json next to this file; keep its line numbers in step.
//
//   PORT=8080 AGENT_PORT=6060 node examples/real-services/fastify-metrics/server.js
//
// PORT / AGENT_PORT 0 (the default) pick free ports. When ready it prints one JSON line on stdout:
//   {"ready":true,"url":"http://127.0.0.1:…/","agent":"http://127.0.0.1:…/debug/pprof/"}
// LEAKSCOPE_TOKEN protects the agent; LEAKSCOPE_HEAP_INTERVAL sets its sampling interval.
import Fastify from 'fastify';
import client from 'prom-client';
import http from 'node:http';
import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { startAgent } from 'leakscope/agent';

const app = Fastify({ logger: false });

// LEAK (prom-client label cardinality, e.g. siimon/prom-client#102, fastify-metrics issues): the
// route label is the raw URL, ids and query strings included, so every distinct URL makes a new
// label set with its own buckets, kept by the registry forever. The fix is
// request.routeOptions.url ('/api/users/:id').
const register = new client.Registry();
const httpDuration = new client.Histogram({
  name: 'http_request_duration_seconds',
  help: 'request duration by route',
  labelNames: ['method', 'route', 'status'],
  buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
  registers: [register],
});

app.addHook('onResponse', async (request, reply) => {
  httpDuration.observe({ method: request.method, route: request.url, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
});

app.get('/metrics', async (request, reply) => {
  reply.type(register.contentType);
  return register.metrics();
});

// NOT A LEAK: a hand-written LRU (a Map in recency order) that replaces its oldest entry once full.
class LruCache {
  constructor(limit) {
    this.limit = limit;
    this.map = new Map();
  }
  get(key) {
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }
  set(key, value) {
    this.map.delete(key);
    this.map.set(key, value);
    if (this.map.size > this.limit) this.map.delete(this.map.keys().next().value);
  }
}
const profiles = new LruCache(1200);

app.get('/api/users/:id', async (request) => {
  let profile = profiles.get(request.params.id);
  if (!profile) {
    profile = { id: request.params.id, name: `user ${request.params.id}`, bio: `Bio of user ${request.params.id}. `.repeat(25) };
    profiles.set(request.params.id, profile);
  }
  return profile;
});

// LEAK: "follow a job" starts a poller per request and nothing ever stops it (a setInterval in a
// request handler, a classic of Node issue trackers). Each timer keeps its job state alive.
app.get('/api/jobs/:id/follow', async (request) => {
  const job = { id: request.params.id, checks: 0, log: [`following ${request.params.id} `.repeat(80)] };
  setInterval(() => {
    job.checks++;
  }, 3_600_000);
  return { following: job.id };
});

// LEAK: suggestions are refreshed in the background once the search index is loaded, but the
// loader's failure path never settles `indexReady`, so every refresh parks forever on the await,
// holding its query and user.
let markIndexReady;
let searchIndexError = null;
const indexReady = new Promise((resolve) => {
  markIndexReady = resolve;
});
async function loadIndex() {
  try {
    const index = JSON.parse(await readFile(process.env.SEARCH_INDEX ?? 'search-index.json', 'utf8'));
    markIndexReady(index);
  } catch (e) {
    // logged and forgotten: indexReady stays pending
    searchIndexError = e.message;
  }
}
void loadIndex();

async function refreshSuggestions(query, user) {
  const context = { query, user, history: `${user}:${query} `.repeat(40) };
  await indexReady;
  return context.history.length;
}

app.get('/api/suggest', async (request) => {
  const q = String(request.query.q ?? '');
  refreshSuggestions(q, String(request.query.user ?? 'anonymous')).catch(() => {});
  return { query: q, suggestions: [q + 's', q + 'ing'], index: searchIndexError ? 'unavailable' : 'ok' };
});

// NOT A LEAK: formatting rules per currency, cached without a bound, but there are only so many
// currencies: the cache warms for about a minute under load and then stays the same size.
const currencyFormats = new Map();

app.get('/api/prices/:currency', async (request) => {
  const code = request.params.currency;
  let fmt = currencyFormats.get(code);
  if (!fmt) {
    fmt = { code, pattern: `#,##0.00 ${code}`, rules: `rounding rules for ${code}; `.repeat(30) };
    currencyFormats.set(code, fmt);
  }
  return { price: (Math.random() * 100).toFixed(2), format: fmt.pattern };
});

// NOT A LEAK: an export streamed to the client.
app.get('/api/export', async (request, reply) => {
  const rows = Number(request.query.rows ?? 50);
  async function* csv() {
    yield 'id,name,price\n';
    for (let i = 0; i < rows; i++) yield `${i},item ${i},${(i * 1.5).toFixed(2)}\n`;
  }
  reply.type('text/csv');
  return reply.send(Readable.from(csv()));
});

// NOT A LEAK: quotes fetched from the upstream with Node's fetch (undici's pooled keep-alive
// connections).
let upstreamUrl = '';

app.get('/api/quotes/:symbol', async (request) => {
  const res = await fetch(`${upstreamUrl}/quote/${encodeURIComponent(request.params.symbol)}`);
  return { symbol: request.params.symbol, quote: await res.json() };
});

app.get('/', async () => 'catalogue API: /api/users/:id, /api/jobs/:id/follow, /api/suggest?q=, /api/prices/:currency, /api/export, /api/quotes/:symbol, /metrics\n');

// The quotes upstream, in the same process for the example.
const upstream = http.createServer((req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ path: req.url, bid: Math.random() * 100, ask: Math.random() * 100 + 1 }));
});

async function main() {
  const agent = await startAgent({
    host: '127.0.0.1',
    port: Number(process.env.AGENT_PORT ?? 0),
    token: process.env.LEAKSCOPE_TOKEN || undefined,
    heapInterval: process.env.LEAKSCOPE_HEAP_INTERVAL ? Number(process.env.LEAKSCOPE_HEAP_INTERVAL) : undefined,
  });
  if (!agent.active) {
    process.stderr.write(`fastify-metrics service: agent did not start: ${agent.error}\n`);
    process.exit(1);
  }
  await new Promise((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  upstreamUrl = `http://127.0.0.1:${upstream.address().port}`;
  const address = await app.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' });
  process.stdout.write(JSON.stringify({ ready: true, url: `${address}/`, agent: agent.url }) + '\n');
  const stop = () => {
    void app.close();
    upstream.close();
    upstream.closeAllConnections();
    void agent.close().then(() => process.exit(0));
    setTimeout(() => process.exit(0), 3000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((e) => {
  process.stderr.write(`fastify-metrics service: ${e.message}\n`);
  process.exit(1);
});
