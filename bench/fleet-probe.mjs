// Bench-only preload for bench/fleet.mjs (node --expose-gc --import bench/fleet-probe.mjs …):
// every 10 s, a full GC, then the process' memory as one JSON line in $LEAKSCOPE_PROBE_OUT.
import { appendFileSync } from 'node:fs';

const out = process.env.LEAKSCOPE_PROBE_OUT;
const t0 = Date.now();
if (out && typeof globalThis.gc === 'function') {
  setInterval(() => {
    globalThis.gc();
    const m = process.memoryUsage();
    appendFileSync(out, JSON.stringify({ t: Date.now() - t0, heapUsed: m.heapUsed, rss: m.rss, external: m.external }) + '\n');
  }, 10000).unref();
}
