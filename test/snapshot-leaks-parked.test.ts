/**
 * Parked async functions (issue 14, item 9 and the misattributed groups of the accuracy suite): a
 * call awaiting a promise that never settles is kept alive as a `Generator` (V8's suspended async
 * function) behind the promise's reaction — `(module scope) → indexReady → Promise → (anonymous
 * function) → Generator`. Without async hooks the snapshot still says which function it runs
 * (its internal `function` edge) and the source says where it waits: the group is named by the
 * function and placed at its `await indexReady` line. On every installed Node version.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { cliPath, repoRoot } from './helpers/paths.js';
import { nodeBinaries, runNode } from './helpers/snapshot-node.js';
import { awaitLine } from '../src/core/heap/source-names.js';

const program = path.join(repoRoot, 'test', 'programs', 'snapshot-parked.mjs');
let dir = '';
before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'leakscope-snapshot-parked-'));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

const lineOf = (text: string) => readFileSync(program, 'utf8').split('\n').findIndex((l) => l.includes(text)) + 1;

test('awaitLine: the first `await name` inside the function that starts at the line', () => {
  const src = ['async function a() {', '  await ready;', '}', 'async function b(x) {', '  if (x) { await other; }', '  await this.ready;', '  await ready;', '}', 'await ready;'].join('\n');
  assert.equal(awaitLine(src, 1, 'ready'), 2);
  assert.equal(awaitLine(src, 4, 'ready'), 6, 'a member counts: await this.ready');
  assert.equal(awaitLine(src, 4, 'other'), 5);
  assert.equal(awaitLine(src, 1, 'other'), 0, 'not in this function');
  assert.equal(awaitLine(src, 4, 'read'), 0, 'whole names only');
  assert.equal(awaitLine(src, 99, 'ready'), 0);
});

test('parked async functions: one group, named by the function, at its await line', async (t) => {
  const { present, missing } = nodeBinaries();
  for (const m of missing) t.diagnostic(`not installed, skipped: ${m}`);
  for (const bin of present.filter((b) => !b.label.includes('18'))) {
    await t.test(bin.label, () => {
      const out = path.join(dir, bin.label.replace(/\W+/g, '_'));
      mkdirSync(out);
      runNode(bin.path, [program, out, '300'], 60_000);
      const r = spawnSync(process.execPath, [cliPath, 'snapshot', 'leaks', '--json', ...['s1', 's2', 's3'].map((s) => path.join(out, `${s}.heapsnapshot`))], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(r.status, 0, r.stderr);
      const groups = (JSON.parse(r.stdout) as { groups: { name: string; className: string; status: string; count: number; retainerPath: string[]; location: string | null }[] }).groups;
      const ctx = JSON.stringify(groups, null, 1);
      const parked = groups.filter((g) => g.retainerPath.includes('indexReady'));
      assert.equal(parked.length, 1, ctx);
      const p = parked[0]!;
      assert.equal(p.status, 'leak', ctx);
      assert.ok(p.count >= 300, ctx);
      assert.equal(p.location, `${program}:${lineOf('// PARKED')}`, ctx);
      assert.match(p.name, /^refreshSuggestions\(\) suspended/, ctx);
      // the settled calls are gone: nothing else grows
      assert.equal(groups.filter((g) => g.status === 'leak').length, 1, ctx);
    });
  }
});
