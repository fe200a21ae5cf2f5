// A service with a large live heap (200k objects, about 40 MB) and a 10 ms heartbeat that records
// the longest gap between its ticks, for the test that the async census does not pause the host.
// Start with the agent: node --import <repo>/dist/src/register.js test/programs/agent-bigheap.mjs
// Prints `SERVICE_PORT=<n>` once listening. GET /gap answers the longest gap since the previous
// /gap (in ms) and starts a new window.
import { createServer } from 'node:http';

const live = [];
for (let i = 0; i < 200_000; i++) live.push({ id: i, name: `object ${i}`, pad: new Array(16).fill(i), next: null });
for (let i = 1; i < live.length; i++) live[i - 1].next = live[i];

// Some leaked intervals for the census to find.
for (let i = 0; i < 25; i++) setInterval(function bigHeapPoller() {}, 60_000);

let last = performance.now();
let maxGap = 0;
setInterval(function heartbeat() {
  const now = performance.now();
  if (now - last > maxGap) maxGap = now - last;
  last = now;
}, 10);

const server = createServer((req, res) => {
  if (req.url === '/gap') {
    const g = maxGap;
    maxGap = 0;
    res.end(`${g.toFixed(1)} ${live.length}\n`);
    return;
  }
  res.end('ok\n');
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`SERVICE_PORT=${server.address().port}\n`));
process.on('SIGTERM', () => process.exit(0));
