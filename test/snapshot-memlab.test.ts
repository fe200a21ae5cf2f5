/**
 * Retained sizes against memlab's on real snapshots: per-class retained totals (classes retaining
 * at least 10 kB) agree within 1%. Needs memlab, installed outside the repo (bench:snapshot puts
 * it in /tmp/leakscope-bench/memlab; LEAKSCOPE_MEMLAB_DIR overrides); skipped otherwise.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { repoRoot } from './helpers/paths.js';
import { leakyProgram, runNode } from './helpers/snapshot-node.js';
import { loadHeapSnapshot } from '../src/node/snapshot-source.js';
import { analyzeSnapshot } from '../src/core/heap/analysis.js';
import { summarize } from '../src/core/heap/summary.js';

const memlabDir = process.env.LEAKSCOPE_MEMLAB_DIR ?? '/tmp/leakscope-bench/memlab';
const hasMemlab = existsSync(path.join(memlabDir, 'node_modules', '@memlab', 'heap-analysis'));
const SKIP = `memlab not installed at ${memlabDir} (run npm run bench:snapshot, or set LEAKSCOPE_MEMLAB_DIR): comparison skipped`;
let dir = '';

before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'leakscope-snapshot-memlab-'));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

test('per-class retained totals match memlab within 1%', async (t) => {
  if (!hasMemlab) {
    t.skip(SKIP);
    return;
  }
  runNode(process.execPath, [leakyProgram, dir, '100']);
  const file = path.join(dir, 's3.heapsnapshot');
  const out = runNode(process.execPath, [path.join(repoRoot, 'test', 'programs', 'snapshot-memlab-classes.cjs'), memlabDir, file], 120_000);
  const theirs = JSON.parse(out) as { rootRetained: number; classes: Record<string, number> };
  const ours = summarize(analyzeSnapshot(await loadHeapSnapshot(file)));
  assert.equal(ours.totalSize, theirs.rootRetained, 'the root retains the whole heap in both');
  const big = ours.rows.filter((r) => r.retainedSize >= 10_000);
  assert.ok(big.length > 20, `${big.length} classes compared`);
  const off = big.filter((r) => Math.abs(r.retainedSize - (theirs.classes[r.className] ?? 0)) > 0.01 * Math.max(r.retainedSize, theirs.classes[r.className] ?? 0));
  assert.deepEqual(off.map((r) => `${r.className}: ours ${r.retainedSize}, memlab ${theirs.classes[r.className] ?? 0}`), []);
  t.diagnostic(`${big.length} classes ≥ 10 kB compared with memlab, all within 1%`);
});
