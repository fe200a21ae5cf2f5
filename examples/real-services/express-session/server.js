// A small shop API on express 4, written the way such services usually are — with three leaks taken
// from real bug reports and four things that look like leaks but are not. The answer key is
// answers.json next to this file; keep its line numbers in step when editing.
//
//   PORT=8080 AGENT_PORT=6060 node examples/real-services/express-session/server.js
//
// PORT / AGENT_PORT 0 (the default) pick free ports. When ready it prints one JSON line on stdout:
//   {"ready":true,"url":"http://127.0.0.1:…/","agent":"http://127.0.0.1:…/debug/pprof/"}
// LEAKSCOPE_TOKEN protects the agent; LEAKSCOPE_HEAP_INTERVAL sets its sampling interval.
import express from 'express';
import session from 'express-session';
import { LRUCache } from 'lru-cache';
import { EventEmitter } from 'node:events';
import http from 'node:http';
import { startAgent } from 'leakscope/agent';

const app = express();

// LEAK (express-session #3 / the MemoryStore warning): the default MemoryStore "is not designed for
// a production environment. It will leak memory". Clients without a cookie jar (load balancers'
// health checks, scripts, mobile apps that drop cookies) each get a new session that is never
// pruned, since a cookie without maxAge never expires.
app.use(session({ secret: 'keyboard cat', resave: false, saveUninitialized: true, name: 'shop.sid' }));

app.use((req, res, next) => {
  req.session.lastPath = req.path;
  req.session.visits = (req.session.visits ?? 0) + 1;
  next();
});

// NOT A LEAK: a product cache bounded by lru-cache's `max`. It fills for a while (ids come from a
// large catalogue) and then evicts the least recently used product for each new one.
const productCache = new LRUCache({ max: 1500 });

function renderProduct(id) {
  return {
    id,
    title: `Product ${id}`,
    description: `A fine product with the number ${id}. `.repeat(20),
    price: Math.round(Math.random() * 10000) / 100,
  };
}

app.get('/api/products/:id', (req, res) => {
  let product = productCache.get(req.params.id);
  if (!product) {
    product = renderProduct(req.params.id);
    productCache.set(req.params.id, product);
  }
  req.session.lastViewed = { id: product.id, title: product.title, price: product.price };
  res.json(product);
});

// LEAK: an audit trail meant to be flushed in batches; the flush only runs when an audit sink is
// configured, which it never is in this deployment, so the pending entries pile up. Each entry is a
// closure that captures the whole request (and through it the socket, the session, the store).
const pendingAudit = [];
let auditSink = null;

function flushAudit() {
  if (!auditSink) return;
  for (const write of pendingAudit.splice(0)) auditSink(write());
}
setInterval(flushAudit, 1000).unref();

app.post('/api/orders/:id', express.json(), (req, res) => {
  const items = (req.body?.items ?? []).map((item) => ({ sku: String(item.sku), qty: Number(item.qty), price: Number(item.price), total: Number(item.qty) * Number(item.price) }));
  const order = { id: req.params.id, items, placedAt: new Date().toISOString() };
  pendingAudit.push(() => `${req.method} ${req.originalUrl} ${JSON.stringify(order)} session=${req.sessionID}`);
  res.status(201).json(order);
});

// LEAK: the message-broker connection lives as long as the process; each request that wants to be
// told about a reconnect subscribes, and nobody unsubscribes. (The usual "fix" for
// MaxListenersExceededWarning — raising the limit — only hides it.)
const broker = new EventEmitter();
broker.setMaxListeners(0);

app.get('/api/notifications/:user', (req, res) => {
  const subscription = { user: req.params.user, channels: ['orders', 'stock', 'price'], since: Date.now(), note: `watching ${req.params.user} `.repeat(64) };
  broker.on('reconnect', () => {
    subscription.since = Date.now();
  });
  res.json({ subscribed: subscription.channels });
});

// NOT A LEAK: requests in flight, each removed when its response closes.
const inflight = new Map();
let requestSeq = 0;

app.get('/api/search', (req, res) => {
  const id = ++requestSeq;
  inflight.set(id, { query: String(req.query.q ?? ''), started: Date.now(), req });
  res.on('close', () => inflight.delete(id));
  // NOT A LEAK: a per-request deadline, cleared when the response finishes.
  const deadline = setTimeout(() => {
    if (!res.headersSent) res.status(504).json({ error: 'search timed out' });
  }, 10_000);
  res.on('finish', () => clearTimeout(deadline));
  const q = String(req.query.q ?? '');
  setImmediate(() => res.json({ query: q, results: [q.toUpperCase(), q.split('').reverse().join('')], inflight: inflight.size }));
});

// NOT A LEAK: calls to the pricing upstream go through a keep-alive agent (a bounded pool of
// sockets reused across requests).
const upstreamAgent = new http.Agent({ keepAlive: true, maxSockets: 8 });
let upstreamPort = 0;

app.get('/api/rates', (req, res) => {
  http
    .get({ host: '127.0.0.1', port: upstreamPort, path: `/rates?currency=${encodeURIComponent(String(req.query.currency ?? 'EUR'))}`, agent: upstreamAgent }, (up) => {
      let body = '';
      up.setEncoding('utf8');
      up.on('data', (d) => (body += d));
      up.on('end', () => res.type('json').send(body));
    })
    .on('error', (e) => res.status(502).json({ error: e.message }));
});

app.get('/', (req, res) => {
  res.type('text').send('shop API: GET /api/products/:id, POST /api/orders/:id, GET /api/notifications/:user, GET /api/search?q=, GET /api/rates\n');
});

// The pricing upstream, in the same process for the example.
const upstream = http.createServer((req, res) => {
  const currency = new URL(req.url ?? '/', 'http://upstream').searchParams.get('currency') ?? 'EUR';
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ currency, rate: 1 + Math.random() / 10, at: Date.now() }));
});

async function main() {
  const agent = await startAgent({
    host: '127.0.0.1',
    port: Number(process.env.AGENT_PORT ?? 0),
    token: process.env.LEAKSCOPE_TOKEN || undefined,
    heapInterval: process.env.LEAKSCOPE_HEAP_INTERVAL ? Number(process.env.LEAKSCOPE_HEAP_INTERVAL) : undefined,
  });
  if (!agent.active) {
    process.stderr.write(`express-session service: agent did not start: ${agent.error}\n`);
    process.exit(1);
  }
  await new Promise((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  upstreamPort = upstream.address().port;
  const server = app.listen(Number(process.env.PORT ?? 0), '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  setInterval(() => broker.emit('reconnect'), 30_000).unref();
  process.stdout.write(JSON.stringify({ ready: true, url: `http://127.0.0.1:${server.address().port}/`, agent: agent.url }) + '\n');
  const stop = () => {
    server.close();
    server.closeAllConnections();
    upstream.close();
    upstreamAgent.destroy();
    void agent.close().then(() => process.exit(0));
    setTimeout(() => process.exit(0), 3000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((e) => {
  process.stderr.write(`express-session service: ${e.message}\n`);
  process.exit(1);
});
