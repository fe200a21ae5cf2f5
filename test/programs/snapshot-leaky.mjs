// A small service with four planted leaks and some churn, for `leakscope snapshot leaks`.
// Usage: node snapshot-leaky.mjs OUTDIR [requestsPerPhase] [snapshots]
// Writes OUTDIR/s1.heapsnapshot, s2.heapsnapshot, … (3 by default) after a warm-up and each load
// phase. Lines marked LEAK:<name> are where each leak is created (the tests look them up).
import v8 from 'node:v8';
import path from 'node:path';
import { EventEmitter } from 'node:events';

const outDir = process.argv[2];
const perPhase = Number(process.argv[3] ?? 200);
const snapshots = Math.max(3, Number(process.argv[4] ?? 3));

class RequestContext {
  constructor(id) { // LEAK:contexts
    this.id = id;
    this.headers = { 'x-request-id': `req-${id}` };
    this.startedAt = Date.now();
  }
}

const contexts = new Map(); // never pruned
const bus = new EventEmitter();
bus.setMaxListeners(0);
const waiters = new Map(); // parked, never resolved
let beats = 0;
let seen = 0;

function handleRequest(i) {
  contexts.set(i, new RequestContext(i));
  bus.on('config', function onConfig(cfg) { seen += cfg ? 1 : 0; }); // LEAK:listeners
  setInterval(function heartbeat() { beats++; }, 3_600_000); // LEAK:intervals
  new Promise((resolve) => {
    const settle = (value) => resolve(value); // LEAK:waiters
    waiters.set(i, settle);
  });
  // churn: garbage that dies with the request
  const scratch = [];
  for (let j = 0; j < 20; j++) scratch.push({ j, payload: `chunk-${i}-${j}`, list: new Array(8).fill(j) });
  const tmp = new Map(scratch.map((s) => [s.j, s]));
  tmp.clear();
  return scratch.length;
}

let next = 0;
function phase(n) {
  for (let k = 0; k < n; k++) handleRequest(next++);
}

phase(perPhase); // warm-up: the leaks exist before S1 already
v8.writeHeapSnapshot(path.join(outDir, 's1.heapsnapshot'));
phase(perPhase);
// one-time objects created between S1 and S2: not leaks
console.error('leaky: phase 1 done');
const oneTimeCache = new Map([['config', { loadedAt: Date.now(), values: [1, 2, 3] }]]);
globalThis.__oneTime = oneTimeCache;
await import('node:zlib');
v8.writeHeapSnapshot(path.join(outDir, 's2.heapsnapshot'));
for (let k = 3; k <= snapshots; k++) {
  phase(perPhase);
  v8.writeHeapSnapshot(path.join(outDir, `s${k}.heapsnapshot`));
}
process.exit(0);
