// Async functions parked on a promise that never settles (a readiness promise whose loader failed,
// as in the accuracy suite's fastify service), plus a promise that settles (churn), and three
// heap snapshots with a phase of calls between them.
// Usage: node snapshot-parked.mjs OUTDIR [callsPerPhase]
import v8 from 'node:v8';
import path from 'node:path';

const outDir = process.argv[2];
const perPhase = Number(process.argv[3] ?? 300);

let indexReady = new Promise(() => {}); // the loader failed: never settles
let settled = Promise.resolve(1);

async function refreshSuggestions(query) {
  const context = { query, history: `${query} `.repeat(20) };
  await settled;
  await indexReady; // PARKED
  return context.history.length;
}

async function quick(n) {
  const x = { n, pad: 'y'.repeat(50) };
  await settled;
  return x.n;
}

let seq = 0;
async function phase(n) {
  for (let i = 0; i < n; i++) {
    refreshSuggestions(`q${seq++}`);
    await quick(i);
  }
  await new Promise((r) => setImmediate(r));
}

await phase(perPhase);
for (let k = 1; k <= 3; k++) {
  v8.writeHeapSnapshot(path.join(outDir, `s${k}.heapsnapshot`));
  if (k < 3) await phase(perPhase);
}
process.exit(0);
