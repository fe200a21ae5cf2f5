// A session store that leaks (a session per request, never pruned), held the way express-session
// holds it — deep in the app's middleware stack, in a closure — and, while requests are in flight,
// also by each request (`req.sessionStore`, as express-session sets it) kept in a map of requests
// in flight and by a pending deadline timer's closure over the response. Three heap snapshots are
// written while requests are in flight. The shortest path from the root to the store runs through
// one of those requests; the owner is the middleware's closure.
// Usage: node snapshot-inflight.mjs OUTDIR [requestsPerPhase]
import http from 'node:http';
import v8 from 'node:v8';
import path from 'node:path';

const outDir = process.argv[2];
const perPhase = Number(process.argv[3] ?? 300);

function sessionMiddleware() {
  const store = { sessions: Object.create(null) };
  let seq = 0;
  return function session(req) {
    req.sessionStore = store;
    store.sessions[`sid-${seq++}`] = { cookie: { path: '/', httpOnly: true }, visits: [`visit ${seq} `.repeat(8)] }; // SESSION
  };
}
// layers of wrappers, as a framework's router and its middleware composition add them
const wrap = (fn) => function layer(req, res) {
  return fn(req, res);
};
const app = { settings: {}, router: { stack: [{ name: 'session', handle: wrap(wrap(wrap(sessionMiddleware()))) }] } };

const inflight = new Map(); // NOT A LEAK: each removed when its response is sent
let held = []; // answers of requests kept in flight until after a snapshot
let seq = 0;

const server = http.createServer((req, res) => {
  for (const layer of app.router.stack) layer.handle(req, res);
  const id = seq++;
  inflight.set(id, { started: Date.now(), req });
  const deadline = setTimeout(() => res.end('late'), 60_000); // NOT A LEAK: cleared when answered
  const answer = () => {
    clearTimeout(deadline);
    inflight.delete(id);
    res.end('ok');
  };
  if (req.url.startsWith('/hold')) held.push(answer);
  else setImmediate(answer);
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const port = server.address().port;
const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
const get = (p) => new Promise((resolve) => http.get({ host: '127.0.0.1', port, path: p, agent }, (res) => res.resume().on('end', resolve)));

for (let k = 1; k <= 3; k++) {
  for (let i = 0; i < perPhase; i += 4) await Promise.all([0, 1, 2, 3].map((j) => get(`/api?n=${i + j}`)));
  // four requests in flight while the snapshot is written
  const pending = [0, 1, 2, 3].map((j) => get(`/hold?n=${j}`));
  while (held.length < 4) await new Promise((r) => setTimeout(r, 5));
  v8.writeHeapSnapshot(path.join(outDir, `s${k}.heapsnapshot`));
  for (const a of held.splice(0)) a();
  await Promise.all(pending);
}
process.exit(0);
