// The agent mounted in a host's own server, then closed and started again, in one process.
// Prints a marker after each step; the test reads them (see test/agent.test.ts).
import { writeSync } from 'node:fs';
import { createServer, get as httpGet } from 'node:http';
import { gunzipSync } from 'node:zlib';

const agentModule = process.argv[2];
const { startAgent } = await import(agentModule);
const mark = (m) => writeSync(1, `${m}\n`);
const get = (url) =>
  new Promise((resolve, reject) => {
    httpGet(url, (res) => {
      const chunks = [];
      res.on('data', (d) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks) }));
    }).on('error', reject);
  });

const agent = await startAgent({ listen: false });
if (!agent.active) throw new Error(agent.error);
const kept = Array.from({ length: 200_000 }, (_, i) => ({ i, s: `item ${i}` }));
const server = createServer((req, res) => {
  if (req.url?.startsWith('/debug/pprof')) agent.handler(req, res);
  else res.end('app\n');
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${server.address().port}`;
if ((await get(`${base}/`)).body.toString() !== 'app\n') throw new Error('host route');
const index = await get(`${base}/debug/pprof/`);
if (index.status !== 200 || !/href="heap\?debug=1"/.test(index.body.toString())) throw new Error('index');
const heap = await get(`${base}/debug/pprof/heap`);
if (heap.status !== 200 || gunzipSync(heap.body).length === 0 || kept.length === 0) throw new Error('heap');
if ((await get(`${base}/debug/pprof/profile?seconds=abc`)).status !== 400) throw new Error('400');
mark('SERVED');
const second = await startAgent({ listen: false });
if (second.active || !/already running/.test(second.error ?? '')) throw new Error('second agent');
mark('SECOND_REFUSED');
await agent.close();
server.close();
mark('CLOSED');
const after = await get(`${base}/debug/pprof/heap`).catch(() => ({ status: 0 }));
if (after.status === 200) throw new Error('served after close');
const again = await startAgent({ listen: false });
if (!again.active) throw new Error(`restart: ${again.error}`);
await again.close();
mark('RESTARTED');
