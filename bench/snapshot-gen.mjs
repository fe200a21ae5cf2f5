// Writes a series of three heap snapshots of a synthetic service, for bench/snapshot.mjs.
// Usage: node bench/snapshot-gen.mjs OUTDIR RECORDS [SNAPSHOTS]
// SNAPSHOTS (default 3) snapshots s1, s2, … are written, one after each load phase.
// RECORDS long-lived records make up the bulk of the heap (about 1 MB of snapshot per 1,600
// records); each phase adds RECORDS/10 leaked sessions (with listeners) and churns garbage.
import v8 from 'node:v8';
import path from 'node:path';
import { EventEmitter } from 'node:events';

const outDir = process.argv[2];
const records = Number(process.argv[3] ?? 30000);
const snapshots = Number(process.argv[4] ?? 3);

class Owner {
  constructor(i) {
    this.id = i;
    this.email = `owner${i}@example.com`;
  }
}
class Record {
  constructor(i, owner) {
    this.id = i;
    this.name = `record-${i}`;
    this.tags = [i % 7, i % 11, `t${i % 13}`];
    this.meta = { created: 1700000000000 + i, owner, flags: { a: i % 2 === 0, b: i % 3 === 0 } };
    this.compute = () => this.id * 2;
  }
}
class Session {
  constructor(id) {
    this.id = id;
    this.user = { name: `user-${id}`, roles: ['reader'] };
    this.buffer = new Array(16).fill(id);
  }
}

const owners = Array.from({ length: 1000 }, (_, i) => new Owner(i));
const db = [];
for (let i = 0; i < records; i++) db.push(new Record(i, owners[i % owners.length]));
const index = new Map(db.map((r) => [r.name, r]));

const sessions = new Map(); // leak
const bus = new EventEmitter(); // leak: listeners
bus.setMaxListeners(0);
let next = 0;

function phase() {
  const leaks = Math.max(10, Math.floor(records / 10));
  for (let k = 0; k < leaks; k++) {
    const id = next++;
    const s = new Session(id);
    sessions.set(id, s);
    bus.on('tick', function onTick() { s.last = Date.now(); });
    // churn
    const tmp = { id, rows: db.slice(k % 100, (k % 100) + 10).map((r) => ({ r: r.id, v: `${r.name}-${k}` })) };
    if (tmp.rows.length > 100) console.log(tmp);
  }
}

for (let k = 1; k <= snapshots; k++) {
  phase();
  v8.writeHeapSnapshot(path.join(outDir, `s${k}.heapsnapshot`));
}
if (index.size !== records) throw new Error('unreachable');
