// An ordinary express 4 service with express-session, lru-cache and a hand-written LRU, written
// the way services are written, for the `snapshot leaks` regression tests (issue 14). It loads
// itself over HTTP (cookie-less clients, as health checks and bots are) and writes heap snapshots
// from the process after a warm-up and after each load phase.
//
// Usage: node snapshot-real-express.mjs OUTDIR [requestsPerPhase] [snapshots] [decline]
// decline: each phase after the first has that share fewer requests than the one before (0.15:
// 200, 170, 144…), as when the load on a service drops between snapshots
// [tiny]: that many small module-level arrays that gain two records per phase whatever the load
// (a heap has many small groups that grow at their own pace)
//
// Planted leaks (lines marked LEAK:<name>):
//  - sessions:  express-session's default MemoryStore, a session per cookie-less request, never pruned
//  - audit:     closures capturing `req` pushed to a module-level array that is never drained
//  - reconnect: a 'reconnect' listener added to a long-lived emitter per request, never removed
//  - requests:  request records stored in a module-level Map by request id, never deleted
// Look-alikes that are not leaks (lines marked CACHE:<name>):
//  - products:  an lru-cache with `max`, still filling during the run
//  - profiles:  a hand-written LRU, full before the first snapshot, that replaces its entries
//  - currencies: an unbounded Map over a bounded set of currency codes, warming: of the price
//               requests, 60% ask a new code in the warm-up, then 40%, 22%, 24%, 20%… (the
//               accuracy suite's fastify run on Node 22: "+164, +74, +82", a plateau whose noise
//               breaks a strict slow-down). Only with four snapshots or more: two rises cannot
//               tell a cache still warming from a leak, and the three-snapshot tests pin other rules
import v8 from 'node:v8';
import path from 'node:path';
import http from 'node:http';
import { EventEmitter } from 'node:events';
import express from 'express';
import session from 'express-session';
import { LRUCache } from 'lru-cache';

const outDir = process.argv[2];
const perPhase = Number(process.argv[3] ?? 200);
const snapshots = Math.max(3, Number(process.argv[4] ?? 3));
const decline = Number(process.argv[5] ?? 0);
// each its own global (own holder, own group)
const tiny = Number(process.argv[6] ?? 0);
for (let i = 0; i < tiny; i++) globalThis[`tinyStore${i}`] = [];
const feedTiny = () => {
  for (let i = 0; i < tiny; i++) {
    const a = globalThis[`tinyStore${i}`];
    a.push({ i, at: a.length }, { i, at: a.length + 1 });
  }
};

const app = express();
app.use(session({ secret: 'keyboard cat', resave: false, saveUninitialized: true })); // LEAK:sessions

/** a hand-written LRU: a Map in insertion order, the oldest entry dropped past `max` */
class ProfileCache {
  constructor(max) {
    this.max = max;
    this.entries = new Map();
  }
  get(key) {
    const v = this.entries.get(key);
    if (v !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, v);
    }
    return v;
  }
  set(key, value) {
    this.entries.delete(key);
    this.entries.set(key, value); // CACHE:profiles
    if (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value);
  }
}

const products = new LRUCache({ max: 5000 }); // CACHE:products
const profiles = new ProfileCache(300);
const upstream = new EventEmitter();
upstream.setMaxListeners(0);
const pendingAudit = []; // drained by a job that was never scheduled
const requests = new Map();
let reconnects = 0;

function recordRequest(req) {
  const record = { method: req.method, url: req.originalUrl, at: Date.now(), agent: req.headers['user-agent'] ?? '' };
  requests.set(`${req.method} ${req.originalUrl} ${requests.size}`, record); // LEAK:requests
}

app.use((req, res, next) => {
  recordRequest(req);
  pendingAudit.push(() => `${req.method} ${req.originalUrl} ${req.session.id}`); // LEAK:audit
  next();
});

app.get('/products/:id', (req, res) => {
  const id = req.params.id;
  let p = products.get(id);
  if (!p) {
    p = { id, name: `product ${id}`, price: Number(id) % 97, tags: ['a', 'b', `t${id}`] };
    products.set(id, p);
  }
  res.json(p);
});

app.get('/profile/:user', (req, res) => {
  const user = req.params.user;
  let profile = profiles.get(user);
  if (!profile || Math.random() < 0.5) {
    profile = { user, name: `user ${user}`, loadedAt: Date.now(), roles: ['reader'] };
    profiles.set(user, profile);
  }
  res.json(profile);
});

const currencyFormats = new Map();
app.get('/price/:code', (req, res) => {
  const code = req.params.code;
  let fmt = currencyFormats.get(code);
  if (!fmt) {
    fmt = { code, pattern: `#,##0.00 ${code}`, rules: `rounding rules for ${code}; `.repeat(4) };
    currencyFormats.set(code, fmt); // CACHE:currencies
  }
  res.json({ price: 1.5, format: fmt.pattern });
});

app.get('/stream', (req, res) => {
  upstream.on('reconnect', () => { // LEAK:reconnect
    reconnects++;
  });
  res.json({ ok: true, listeners: upstream.listenerCount('reconnect') });
});

const server = http.createServer(app);
// writing a snapshot pauses the process for seconds: keep idle keep-alive sockets open past that
server.keepAliveTimeout = 120_000;
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const port = server.address().port;
const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

function get(p, retries = 2) {
  return new Promise((resolve, reject) => {
    const r = http.get({ host: '127.0.0.1', port, path: p, agent }, (res) => {
      res.resume();
      res.on('end', resolve);
    });
    // a reused keep-alive socket the server closed meanwhile: ask again on a fresh one
    r.on('error', (e) => (retries > 0 && e.code === 'ECONNRESET' ? get(p, retries - 1).then(resolve, reject) : reject(e)));
  });
}

let nextProduct = 0;
let nextCode = 0;
/** n requests in groups of four, plus one price request per group: a new currency code for
 *  `newShare` of them, spread evenly, else one already asked */
async function phase(n, newShare) {
  for (let i = 0, j = 0; i < n; i += 4, j++) {
    const fresh = Math.floor((j + 1) * newShare) > Math.floor(j * newShare) || nextCode === 0;
    const code = fresh ? nextCode++ : j % nextCode;
    await Promise.all([
      get(`/products/${nextProduct++}`),
      get(`/profile/${Math.floor(Math.random() * 300)}`),
      get(`/profile/${Math.floor(Math.random() * 300)}`),
      get('/stream'),
      ...(snapshots >= 4 ? [get(`/price/C${code}`)] : []),
    ]);
  }
}

const NEW_CODES = [0.4, 0.22, 0.24];
await phase(4 * perPhase, 0.6); // warm-up: the hand-written LRU is full before S1
v8.writeHeapSnapshot(path.join(outDir, 's1.heapsnapshot'));
for (let k = 2; k <= snapshots; k++) {
  await phase(4 * Math.round((perPhase * (1 - decline) ** (k - 2)) / 4), NEW_CODES[k - 2] ?? 0.2);
  feedTiny();
  v8.writeHeapSnapshot(path.join(outDir, `s${k}.heapsnapshot`));
}
agent.destroy();
server.close();
process.exit(0);
