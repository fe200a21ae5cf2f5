// A host service with a heap of about HEAP_MB megabytes of small objects (default 40), for the
// agent-under-load tests and bench/agent-storm.mjs. Prints `SERVICE_PORT=<n>` once listening.
//   /json            a small JSON answer (allocates per request, keeps nothing)
//   /status          {rss, hwm} in bytes from /proc/self/status (VmRSS, VmHWM), and memoryUsage()
//   /write-snapshot  v8.writeHeapSnapshot to a temp file, then deletes it: the in-process reference
import { readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeHeapSnapshot } from 'node:v8';

const HEAP_MB = Number(process.env.HEAP_MB ?? 40);
const kept = [];
// about 100 bytes per entry: an object, a short string, a small array
for (let i = 0; i < HEAP_MB * 10_000; i++) kept.push({ id: i, name: `item-${i}`, tags: [i & 7, i & 15] });

function status() {
  const s = readFileSync('/proc/self/status', 'utf8');
  const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? 0) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM'), ...process.memoryUsage(), kept: kept.length };
}

let seq = 0;
const server = createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  if (url.pathname === '/status') {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(status()));
    return;
  }
  if (url.pathname === '/write-snapshot') {
    const file = join(tmpdir(), `heap-host-${process.pid}-${++seq}.heapsnapshot`);
    const t0 = Date.now();
    writeHeapSnapshot(file);
    const bytes = statSync(file).size;
    rmSync(file, { force: true });
    res.end(JSON.stringify({ bytes, ms: Date.now() - t0 }));
    return;
  }
  const items = [];
  for (let i = 0; i < 20; i++) items.push({ id: `${++seq}-${i}`, name: `item ${i}`, price: i * 1.5 });
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ ok: true, items }));
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`SERVICE_PORT=${server.address().port}\n`));
process.on('SIGTERM', () => process.exit(0));
