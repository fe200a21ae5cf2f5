/**
 * Parked async functions (issue 14, item 9 and the misattributed groups of the accuracy suite): a
 * call awaiting a promise that never settles is kept alive as a `Generator` (V8's suspended async
 * function) behind the promise's reaction — `(module scope) → indexReady → Promise → (anonymous
 * function) → Generator`. Without async hooks the snapshot still says which function it runs
 * (its internal `function` edge) and the source says where it waits: the group is named by the
 * function and placed at its `await indexReady` line. On every installed Node version.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { repoRoot } from './helpers/paths.js';
import { fileTempDir, lineContaining, snapshotLeaksOnEachNode } from './helpers/snapshot-node.js';
import { awaitLine } from '../src/core/heap/source-names.js';

const program = path.join(repoRoot, 'test', 'programs', 'snapshot-parked.mjs');
const dir = fileTempDir('leakscope-snapshot-parked-');

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
  await snapshotLeaksOnEachNode<{ name: string; className: string; status: string; count: number; retainerPath: string[]; location: string | null }>(t, dir(), program, ['300'], (groups) => {
    const ctx = JSON.stringify(groups, null, 1);
    const parked = groups.filter((g) => g.retainerPath.includes('indexReady'));
    assert.equal(parked.length, 1, ctx);
    const p = parked[0]!;
    assert.equal(p.status, 'leak', ctx);
    assert.ok(p.count >= 300, ctx);
    assert.equal(p.location, `${program}:${lineContaining(program, '// PARKED')}`, ctx);
    assert.match(p.name, /^refreshSuggestions\(\) suspended/, ctx);
    // the settled calls are gone: nothing else grows
    assert.equal(groups.filter((g) => g.status === 'leak').length, 1, ctx);
  });
});
