// An express service labelled with leakscope/labels, for test/agent-labels.test.ts:
//   node --import leakscope/register agent-labels.mjs
// Prints `SERVICE_PORT=<n>` once listening.
//   /api/leak    keeps one interval per request, forever (the leak)
//   /api/steady  keeps one timeout per request, but only the two newest (a bounded pool)
//   /api/nested  labels a part of its work with a tenant, nested under the route
//   /api/labels  the labels current in the handler (JSON null when no window records)
import express from 'express';
import { currentLabels, labelsMiddleware, withLabels } from 'leakscope/labels';

const leaked = [];
const pool = [];
function leakHandler(_req, res) {
  leaked.push(setInterval(function leakedTick() {}, 600_000));
  res.json({ leaked: leaked.length });
}
function steadyHandler(_req, res) {
  pool.push(setTimeout(function pooledTimeout() {}, 600_000));
  while (pool.length > 2) clearTimeout(pool.shift());
  res.json({ pooled: pool.length });
}
function nestedHandler(_req, res) {
  withLabels({ tenant: 'acme' }, function tenantWork() {
    leaked.push(setInterval(function tenantTick() {}, 600_000));
  });
  res.json({ ok: true });
}
const app = express();
app.use(labelsMiddleware({ labels: (req) => ({ route: req.path }) }));
app.get('/api/leak', leakHandler);
app.get('/api/steady', steadyHandler);
app.get('/api/nested', nestedHandler);
app.get('/api/labels', (_req, res) => res.json(currentLabels() ?? null));
const server = app.listen(0, '127.0.0.1', () => process.stdout.write(`SERVICE_PORT=${server.address().port}\n`));
process.on('SIGTERM', () => process.exit(0));
