// An ordinary express 4 service with leaks modeled on real bug reports, for `watch`'s attribution
// tests (test/watch-attribution.test.ts). Start with the agent:
//   node --import <repo>/dist/src/register.js test/programs/watch-express.mjs
// Prints one JSON line {"ready":true,"url":…} once listening (PORT=0: any free port); the agent
// (LEAKSCOPE_ADDR=127.0.0.1:0) reports its own address on stderr.
//
// Planted leaks (the answer key is in the test):
//   - express-session's default MemoryStore: a session per cookie-less request, never pruned
//     (saved from the handler's res.json → MemoryStore.set in node_modules);
//   - prom-client label cardinality: the raw URL (with its query) as a label value, observed in
//     the user's `observeLatency` (the histogram grows inside node_modules/prom-client);
//   - an audit trail kept in a module-level array (`recordAudit`, plain user code);
//   - parked promises: every /api request waits for a "reload" that never comes (`waitForReload`).
// Look-alikes that are not leaks: an lru-cache bounded by `max` (full within seconds), a map of
// in-flight requests cleaned on 'close', per-request garbage.
import express from 'express';
import session from 'express-session';
import client from 'prom-client';
import { LRUCache } from 'lru-cache';

const app = express();
const registry = new client.Registry();
const latency = new client.Histogram({
  name: 'http_request_seconds',
  help: 'request latency',
  labelNames: ['method', 'route'],
  buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1],
  registers: [registry],
});

const audit = [];
function recordAudit(req) {
  audit.push({ url: req.originalUrl, agent: String(req.headers['user-agent']), at: new Date().toISOString(), trail: 'x'.repeat(200) });
}

function observeLatency(req, res, started) {
  latency.observe({ method: req.method, route: req.originalUrl }, (Date.now() - started) / 1000);
}

const products = new LRUCache({ max: 300 });
function lookupProduct(id) {
  let p = products.get(id);
  if (!p) {
    p = { id, name: `product ${id}`, description: 'd'.repeat(300), tags: ['a', 'b', 'c'] };
    products.set(id, p);
  }
  return p;
}

const reloadWaiters = [];
async function waitForReload(id) {
  await new Promise((resolve) => reloadWaiters.push(resolve));
  return id;
}

const inflight = new Map();
let nextId = 0;

app.use(session({ secret: 'not-a-secret', resave: false, saveUninitialized: true }));
app.use((req, res, next) => {
  const started = Date.now();
  const id = nextId++;
  inflight.set(id, { url: req.originalUrl, started });
  res.on('close', () => inflight.delete(id));
  res.on('finish', () => observeLatency(req, res, started));
  next();
});

app.get('/api', (req, res) => {
  recordAudit(req);
  waitForReload(req.originalUrl).then((id) => console.log('reloaded', id));
  const product = lookupProduct(Number(req.query.product ?? 0) % 1000);
  const junk = [];
  for (let i = 0; i < 20; i++) junk.push({ i, s: String(i).repeat(10) });
  req.session.visit = { first: req.originalUrl, agent: String(req.headers['user-agent']), at: Date.now(), note: 'n'.repeat(160) };
  res.json({ product: product.name, n: junk.length });
});

app.get('/metrics', async (req, res) => {
  res.type('text/plain').send(await registry.metrics());
});

const server = app.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  console.log(JSON.stringify({ ready: true, url: `http://127.0.0.1:${server.address().port}` }));
});
