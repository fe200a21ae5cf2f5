/**
 * `snapshot leaks` on snapshots big enough for the two-thread parse (8 MB and more): the CLI,
 * whose reader thread parses the last snapshot's edges, must report exactly what a one-thread
 * parse and analysis in this process find — on every installed Node version the CLI supports.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { cliPath, repoRoot } from './helpers/paths.js';
import { nodeBinaries, runNode } from './helpers/snapshot-node.js';
import { loadHeapSnapshot, loadIdHorizon } from '../src/node/snapshot-source.js';
import { analyzeSnapshot } from '../src/core/heap/analysis.js';
import { findLeaks } from '../src/core/heap/leaks.js';

const SPLIT_AT = 8 << 20; // loadHeapSnapshot's default splitMinBytes

let dir = '';
let files: string[] = [];

before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'leakscope-threads-'));
  // the benchmark's synthetic service: 9,000 long-lived records make each snapshot ≈ 10 MB; every
  // phase leaks sessions in a Map and listeners on an emitter
  runNode(process.execPath, ['--max-old-space-size=2000', path.join(repoRoot, 'bench', 'snapshot-gen.mjs'), dir, '9000', '3'], 120_000);
  files = ['s1', 's2', 's3'].map((s) => path.join(dir, `${s}.heapsnapshot`));
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('snapshot leaks with the reader thread reports what one thread finds, on each Node version', async (t) => {
  const size = statSync(files[2]!).size;
  assert.ok(size >= SPLIT_AT, `the last snapshot (${size} bytes) is big enough to be split`);

  // one thread, in this process
  const raw = await loadHeapSnapshot(files[2]!, { splitMinBytes: Infinity });
  const earlier = [await loadIdHorizon(files[0]!), await loadIdHorizon(files[1]!)];
  const expected = findLeaks(analyzeSnapshot(raw), earlier, { minCount: 2, minShare: 0.01, readSource: (f) => readFileSync(f, 'utf8') });
  const classes = expected.groups.map((g) => g.className).sort();
  assert.deepEqual(classes, ['Session', 'onTick()'], 'the two planted leaks, nothing else');
  const sessions = expected.groups.find((g) => g.className === 'Session')!;
  assert.deepEqual(sessions.retainerPath, ['(module scope)', 'sessions', 'Map', 'Session']);
  assert.equal(sessions.growth.length, 3);
  assert.ok(sessions.growth[1]! > sessions.growth[0]! && sessions.growth[2]! > sessions.growth[1]!, `grows: ${sessions.growth}`);

  const { present } = nodeBinaries();
  for (const bin of present.filter((b) => b.label !== 'node 18')) {
    await t.test(bin.label, () => {
      const r = spawnSync(bin.path, [cliPath, 'snapshot', 'leaks', '--json', '--quiet', ...files], { encoding: 'utf8', timeout: 120_000 });
      assert.equal(r.status, 0, r.stderr);
      const got = JSON.parse(r.stdout) as { snapshots: number; leakedObjects: number; groups: unknown[] };
      assert.equal(got.snapshots, 3);
      assert.equal(got.leakedObjects, expected.leakedObjects);
      assert.deepEqual(got.groups, JSON.parse(JSON.stringify(expected.groups)));
    });
  }
});
