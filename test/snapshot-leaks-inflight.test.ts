/**
 * A leak's path does not run through what a request in flight holds (issue 14, item 4, seen in two
 * clean-clone CI runs of the express-session service): while requests are in flight, the shortest
 * path from the root to express-session's MemoryStore runs through one of them — `inflight → Map →
 * Object → req → IncomingMessage → sessionStore`, or a pending deadline timer's `res` — and it named
 * the in-flight map's `set` as the place the sessions are stored. The path shown must be the owner's:
 * the middleware's closure in the app's stack. On every installed Node version.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { repoRoot } from './helpers/paths.js';
import { fileTempDir, lineContaining, snapshotLeaksOnEachNode } from './helpers/snapshot-node.js';

const program = path.join(repoRoot, 'test', 'programs', 'snapshot-inflight.mjs');
const dir = fileTempDir('leakscope-snapshot-inflight-');

interface Group {
  status: string;
  count: number;
  retainerPath: string[];
  location: string | null;
  owner: { retainerPath: string[] } | null;
}

test('a session store reached through requests in flight: the path runs through the middleware that owns it', async (t) => {
  await snapshotLeaksOnEachNode<Group>(t, dir(), program, ['300'], (groups) => {
    const ctx = JSON.stringify(groups, null, 1);
    const leaks = groups.filter((g) => g.status === 'leak');
    assert.equal(leaks.length, 1, ctx);
    const g = leaks[0]!;
    assert.ok(g.count >= 600, ctx);
    assert.equal(g.location, `${program}:${lineContaining(program, '// SESSION')}`, ctx);
    for (const p of [g.retainerPath, g.owner?.retainerPath ?? []]) {
      assert.deepEqual(p.slice(0, 3), ['(module scope)', 'app', 'Object'], ctx);
      assert.ok(p.includes('session()') && p.includes('store') && p.includes('sessions'), ctx);
      for (const transient of ['inflight', 'IncomingMessage', 'ServerResponse', 'Timeout', 'timerListMap', 'Immediate']) assert.ok(!p.includes(transient), `${transient} in ${p.join(' → ')}`);
    }
  });
});
