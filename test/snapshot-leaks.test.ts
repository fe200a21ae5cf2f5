/**
 * The leak finder on real snapshots: a child process with four planted leaks (a Map of request
 * contexts never pruned, listeners added to a shared emitter and never removed, intervals never
 * cleared, waiters parked in a Map and never resolved) plus churn that dies and one-time objects
 * writes three snapshots. Every planted leak must come out as its own group with the right path
 * and source location, and nothing else may. Run with every installed Node version.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { cliPath } from './helpers/paths.js';
import { leakyProgram, nodeBinaries, runNode } from './helpers/snapshot-node.js';
import { loadHeapSnapshot, loadIdHorizon } from '../src/node/snapshot-source.js';
import { hasId, idHorizon, presence, sortedIds } from '../src/core/heap/ids.js';

const PER_PHASE = 150;
let dir = '';

before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'leakscope-snapshot-leaks-'));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** the 1-based line of the `// LEAK:<name>` marker in the program */
function markerLine(name: string): number {
  const lines = readFileSync(leakyProgram, 'utf8').split('\n');
  const i = lines.findIndex((l) => l.includes(`// LEAK:${name}`));
  assert.ok(i >= 0, `marker ${name}`);
  return i + 1;
}

/** the 1-based line of the first line containing `text` */
function lineWith(text: string): number {
  const i = readFileSync(leakyProgram, 'utf8').split('\n').findIndex((l) => l.includes(text));
  assert.ok(i >= 0, text);
  return i + 1;
}

interface Group {
  className: string;
  status: string;
  count: number;
  retainedSize: number;
  growth: number[];
  retainerPath: string[];
  location: string | null;
  representativeId: number;
}

function cli(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cliPath, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/**
 * The leak finder decides "existed at Sk" from Sk's id horizon (its newest JavaScript object id and
 * its few native ids) instead of the set of all Sk's ids. On real snapshots both must agree for
 * every object of the last snapshot.
 */
async function horizonsMatchIdSets(files: string[]): Promise<void> {
  const raws = [];
  for (const f of files) raws.push(await loadHeapSnapshot(f, { idsOnly: f !== files.at(-1) }));
  const last = raws.at(-1)!;
  const earlier = raws.slice(0, -1);
  const horizons = earlier.map(idHorizon);
  // the horizon-only reader gives the same as a full read of the ids
  for (let k = 0; k < earlier.length; k++) {
    const lean = await loadIdHorizon(files[k]!);
    assert.equal(lean.maxJsId, horizons[k]!.maxJsId);
    assert.deepEqual([...lean.nativeIds], [...horizons[k]!.nativeIds]);
  }
  const bits = presence(last, horizons);
  const sets = earlier.map(sortedIds);
  let differ = 0;
  for (let v = 0; v < last.nodeCount; v++) {
    let want = 0;
    sets.forEach((set, k) => {
      if (hasId(set, last.nodeId[v]!)) want |= 1 << k;
    });
    if (want !== bits[v]) differ++;
  }
  assert.equal(differ, 0, `${differ} of ${last.nodeCount} objects placed differently by id horizons and by id sets`);
}

test('every planted leak is one group with its path and location, and nothing else is', async (t) => {
  const { present, missing } = nodeBinaries();
  for (const m of missing) t.diagnostic(`not installed, skipped: ${m}`);
  for (const bin of present) {
    await t.test(bin.label, async () => {
      const out = path.join(dir, bin.label.replace(/\W+/g, '_'));
      mkdirSync(out);
      runNode(bin.path, [leakyProgram, out, String(PER_PHASE)]);
      const r = cli(['snapshot', 'leaks', '--json', ...['s1', 's2', 's3'].map((s) => path.join(out, `${s}.heapsnapshot`))]);
      assert.equal(r.code, 0, r.stderr);
      const { groups: all } = JSON.parse(r.stdout) as { groups: Group[] };
      // what is called a leak; a possible cache (Node 18: the last request's header arrays on
      // keep-alive sockets, none older than S1) is reported apart and is not a leak claim
      const groups = all.filter((g) => g.status === 'leak');
      for (const g of all) if (g.status !== 'leak') t.diagnostic(`possible cache: ${g.className} ${g.growth.join(' → ')}`);
      const names = groups.map((g) => g.className).sort();
      assert.deepEqual(names, ['RequestContext', 'Timeout', 'onConfig()', 'settle()'], JSON.stringify(all, null, 1));
      const by = new Map(groups.map((g) => [g.className, g]));
      const at = (marker: string): string => `${leakyProgram}:${markerLine(marker)}`;
      for (const g of groups) {
        assert.equal(g.count, PER_PHASE, `${g.className} count`);
        assert.deepEqual(g.growth, [PER_PHASE, 2 * PER_PHASE, 3 * PER_PHASE], `${g.className} growth`);
        assert.ok(g.retainedSize > 0);
      }
      assert.deepEqual(by.get('RequestContext')!.retainerPath, ['(module scope)', 'contexts', 'Map', 'RequestContext']);
      // an object group is placed where its container is filled (issue 14 item 8)
      assert.equal(by.get('RequestContext')!.location, `${leakyProgram}:${lineWith('contexts.set(')}`);
      assert.deepEqual(by.get('settle()')!.retainerPath, ['(module scope)', 'waiters', 'Map', 'settle()']);
      assert.equal(by.get('settle()')!.location, at('waiters'));
      assert.deepEqual(by.get('onConfig()')!.retainerPath, ['(module scope)', 'bus', 'EventEmitter', '_events', 'Object', 'config', 'Array', '[]', 'onConfig()']);
      assert.equal(by.get('onConfig()')!.location, at('listeners'));
      // Node's timer list for the interval's duration:
      // …(module scope) → timerListMap → Object → [3600000] → TimersList → _idleNext|_idlePrev → Timeout
      const tp = by.get('Timeout')!.retainerPath;
      assert.deepEqual(tp.slice(-6, -1), ['timerListMap', 'Object', '[3600000]', 'TimersList', tp.at(-2)]);
      assert.match(tp.at(-2)!, /^_idle(Next|Prev)$/);
      assert.equal(tp.at(-1), 'Timeout');
      assert.equal(by.get('Timeout')!.location, at('intervals'));
      await horizonsMatchIdSets(['s1', 's2', 's3'].map((s) => path.join(out, `${s}.heapsnapshot`)));
      if (bin.path !== process.execPath) return;
      // out of order: refused, not analysed
      const swapped = cli(['snapshot', 'leaks', ...['s2', 's1', 's3'].map((s) => path.join(out, `${s}.heapsnapshot`))]);
      assert.equal(swapped.code, 2);
      assert.match(swapped.stderr, /^leakscope snapshot: snapshot leaks: .*s1\.heapsnapshot has older objects than .*s2\.heapsnapshot \(newest object id \d+ < \d+\): give the snapshots of one process, oldest first\n$/);
      // the text report says the same
      const text = cli(['snapshot', 'leaks', ...['s1', 's2', 's3'].map((s) => path.join(out, `${s}.heapsnapshot`))]);
      assert.equal(text.code, 0);
      assert.match(text.stdout, /^4 leak group\(s\) across 3 snapshots:/);
      assert.match(text.stdout, /path:\s+\(module scope\) → contexts → Map → RequestContext/);
    });
  }
});

test('with four snapshots the same four groups keep growing', () => {
  const out = path.join(dir, 'four');
  mkdirSync(out);
  runNode(process.execPath, [leakyProgram, out, '40', '4']);
  const r = cli(['snapshot', 'leaks', '--json', ...['s1', 's2', 's3', 's4'].map((s) => path.join(out, `${s}.heapsnapshot`))]);
  assert.equal(r.code, 0, r.stderr);
  const { snapshots, groups } = JSON.parse(r.stdout) as { snapshots: number; groups: Group[] };
  assert.equal(snapshots, 4);
  assert.deepEqual(groups.map((g) => g.className).sort(), ['RequestContext', 'Timeout', 'onConfig()', 'settle()']);
  // born between S1 and S2, alive in S3 and S4: one phase's worth; counts over four snapshots
  for (const g of groups) {
    assert.equal(g.count, 40);
    assert.deepEqual(g.growth, [40, 80, 120, 160]);
  }
});
