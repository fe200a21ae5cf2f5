// An express application with the leakscope agent's handler mounted at /debug/pprof (no listener
// of the agent's own) and a heap of about HEAP_MB megabytes, for test/agent-load.test.ts:
//   node agent-express-mounted.mjs <agent module path>
// Prints `APP_PORT=<n>` once listening.
//   /json      a small JSON answer
//   /buffered  bytes the application's sockets hold unsent (their writableLength, summed)
import express from 'express';

const { startAgent } = await import(process.argv[2]);
const agent = await startAgent({ listen: false });
if (!agent.active) throw new Error(agent.error);

const kept = [];
for (let i = 0; i < Number(process.env.HEAP_MB ?? 4) * 10_000; i++) kept.push({ id: i, name: `item-${i}`, tags: [i & 7, i & 15] });

const sockets = new Set();
const app = express();
app.get('/json', (_req, res) => res.json({ ok: true, kept: kept.length }));
app.get('/buffered', (_req, res) => {
  let bytes = 0;
  for (const s of sockets) bytes += s.writableLength;
  res.json({ bytes, sockets: sockets.size });
});
app.use('/debug/pprof', agent.handler);
const server = app.listen(0, '127.0.0.1', () => process.stdout.write(`APP_PORT=${server.address().port}\n`));
server.on('connection', (s) => {
  sockets.add(s);
  s.on('close', () => sockets.delete(s));
});
process.on('SIGTERM', () => process.exit(0));
