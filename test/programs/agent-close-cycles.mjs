// Starts an agent, serves a heap profile through the host's own server, closes the agent: N times
// in one process. Prints CYCLES_DONE when every cycle finished. A close() that tears the worker
// down while the main thread is still deleting its inspector session aborts the process (this
// happened in about 1 close in 100 before the 'bye' handshake; see src/agent/index.ts).
import { writeSync } from 'node:fs';
import { createServer, get as httpGet } from 'node:http';

const { startAgent } = await import(process.argv[2]);
const cycles = Number(process.argv[3] ?? 50);
const fetchBody = (url) =>
  new Promise((resolve, reject) => {
    httpGet(url, (res) => {
      const parts = [];
      res.on('data', (d) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode, bytes: Buffer.concat(parts).length }));
    }).on('error', reject);
  });
// something on the heap for the sampler to report
const ballast = Array.from({ length: 100_000 }, (_, i) => ({ i, label: `entry ${i}` }));
for (let c = 0; c < cycles; c++) {
  const agent = await startAgent({ listen: false });
  if (!agent.active) throw new Error(`cycle ${c}: ${agent.error}`);
  const server = createServer((req, res) => agent.handler(req, res));
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const heap = await fetchBody(`http://127.0.0.1:${server.address().port}/debug/pprof/heap`);
  if (heap.status !== 200 || heap.bytes === 0) throw new Error(`cycle ${c}: heap answered ${heap.status}`);
  await agent.close();
  await new Promise((r) => server.close(r));
}
writeSync(1, `CYCLES_DONE ${cycles} ${ballast.length > 0}\n`);
