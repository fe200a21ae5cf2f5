/** The flame layout (report/flame.ts), without a DOM: exact on a small profile, equal to top's numbers on real ones. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type Profile, SampleTableBuilder } from '../src/core/profile.js';
import { subtractBase } from '../src/core/algebra.js';
import { loadProfile } from '../src/node/source.js';
import { prepareReport, type ReportOptions } from '../src/report/prepare.js';
import { topReport } from '../src/report/top.js';
import { flameLayout, type FlameLayout } from '../src/report/flame.js';
import { makeProfile } from './helpers/profiles.js';
import { fixturesDir, hasFixtures, SKIP_NO_FIXTURES } from './helpers/paths.js';

/** A tiny profile: stacks given root-first as "a;b;c". */
function tiny(stacks: [string, number][]): Profile {
  const names = [...new Set(stacks.flatMap(([s]) => s.split(';')))];
  const functions = names.map((name, i) => ({ id: i + 1, name, systemName: name, filename: `${name}.go`, startLine: 1 }));
  const locations = names.map((_, i) => ({ id: i + 1, mapping: -1, address: 0n, lines: [{ fn: i, line: 10 + i, column: 0 }], isFolded: false }));
  const b = new SampleTableBuilder(1);
  for (const [s, v] of stacks) {
    for (const f of s.split(';').reverse()) b.pushLocation(names.indexOf(f));
    b.setValue(0, v);
    b.endSample();
  }
  return {
    sampleTypes: [{ type: 'inuse_space', unit: 'bytes' }], samples: b.build(), mappings: [], locations, functions, strings: [''],
    dropFrames: '', keepFrames: '', timeNanos: 0n, durationNanos: 0n, periodType: undefined, period: 0, comments: [],
    defaultSampleType: '', docUrl: '',
  };
}

/** "depth name start+width self" per frame, in layout order: a stable text dump. */
function dump(l: FlameLayout): string[] {
  return l.start.map((s, i) => {
    const n = l.name[i]! === -2 ? 'root' : l.name[i]! === -1 ? `(${l.merged[i]} merged)` : l.names[l.name[i]!]!;
    return `${l.depth[i]} ${n} ${s}+${l.width[i]} self=${l.self[i]}`;
  });
}

test('flame layout of a small profile: merged stacks, root on top, widest child first, recursion kept', () => {
  const p = tiny([['main;a;b', 10], ['main;a', 3], ['main;c', 5], ['main;a;b', 2], ['main;a;a', 1]]);
  const l = flameLayout(prepareReport(p, {}), { minFraction: 0 });
  assert.deepEqual(dump(l), [
    '0 root 0+21 self=0',
    '1 main 0+21 self=0',
    '2 a 0+16 self=3',
    '2 c 16+5 self=5',
    '3 b 0+12 self=12',
    '3 a 12+1 self=1',
  ]);
  assert.deepEqual(l.parent, [-1, 0, 1, 1, 2, 2]);
  assert.equal(l.files[l.name[2]!], 'a.go:11');
  assert.equal(l.total, 21);
  assert.equal(l.maxDepth, 3);
});

test('frames narrower than the threshold become one merged frame, and their subtrees go', () => {
  const p = tiny([['main;big;x', 100], ['main;s1;y', 1], ['main;s2', 1], ['main;s3', 1]]);
  const l = flameLayout(prepareReport(p, {}), { minFraction: 0.02 }); // 2% of 103: 2.06
  assert.deepEqual(dump(l), [
    '0 root 0+103 self=0',
    '1 main 0+103 self=0',
    '2 big 0+100 self=0',
    '2 (3 merged) 100+3 self=3',
    '3 x 0+100 self=100',
  ]);
});

test('focus and hide go through the same preparation as top', () => {
  const p = tiny([['main;a;x', 10], ['main;b;x', 5], ['main;c', 1]]);
  const l = flameLayout(prepareReport(p, { focus: '^a$' }), { minFraction: 0 });
  assert.deepEqual(dump(l), ['0 root 0+10 self=0', '1 main 0+10 self=0', '2 a 0+10 self=0', '3 x 0+10 self=10']);
  assert.equal(l.total, 16, 'percentages stay of the whole profile, as top');
  const h = flameLayout(prepareReport(p, { hide: '^x$' }), { minFraction: 0 });
  assert.deepEqual(dump(h).slice(2), ['2 a 0+10 self=10', '2 b 10+5 self=5', '2 c 15+1 self=1']);
});

/** Σ self per name = top's flat; Σ width over each name's outermost frames = top's cum. */
function perName(l: FlameLayout): Map<string, [number, number]> {
  const m = new Map<string, [number, number]>();
  for (let i = 0; i < l.start.length; i++) {
    const ni = l.name[i]!;
    if (ni < 0) continue;
    const e = m.get(l.names[ni]!) ?? [0, 0];
    e[0] += l.self[i]!;
    let outer = true;
    for (let a = l.parent[i]!; a >= 0; a = l.parent[a]!) if (l.name[a] === ni) outer = false;
    if (outer) e[1] += l.width[i]!;
    m.set(l.names[ni]!, e);
  }
  return m;
}

const leaky = join(fixturesDir, 'go', 'leakysvc', 'profiles');

test('on real Go heap profiles the layout agrees with top --json (flat, cum and the total)', { skip: hasFixtures ? false : SKIP_NO_FIXTURES }, async () => {
  const p = await loadProfile(join(leaky, 'heap.5.pb.gz'));
  for (const sampleIndex of ['inuse_space', 'alloc_objects']) {
    for (const granularity of ['functions', 'lines'] as const) {
      const o: ReportOptions = { sampleIndex, granularity, nodeCount: 0, nodeFraction: 0 };
      const prep = prepareReport(p, o);
      const top = topReport(prep, o);
      const l = flameLayout(prep, { minFraction: 0 });
      assert.equal(l.width[0], top.total, `${sampleIndex} ${granularity}: root = total`);
      const m = perName(l);
      assert.equal(m.size, top.rows.length);
      for (const r of top.rows) assert.deepEqual(m.get(r.printable), [r.flat, r.cum], `${sampleIndex} ${granularity} ${r.printable}`);
    }
  }
});

test('the default threshold keeps a big profile\'s layout small and the sums exact', () => {
  const p = makeProfile({ samples: 40000, functions: 3000, stacks: 8000, depth: [10, 40], seed: 3 });
  const prep = prepareReport(p, { sampleIndex: 'inuse_space' });
  const full = flameLayout(prep, { minFraction: 0 });
  const l = flameLayout(prep, {});
  assert.ok(l.start.length * 4 < full.start.length, `${l.start.length} frames of ${full.start.length}`);
  assert.ok(l.start.length < 10000, `${l.start.length} frames`);
  assert.equal(l.width[0], full.width[0]);
  let selfSum = 0;
  for (let i = 0; i < l.start.length; i++) {
    selfSum += l.self[i]!;
    if (l.merged[i] === 0 && i > 0) assert.ok(l.width[i]! >= l.minWidth);
    assert.ok(l.self[i]! >= -1e-6, 'children fit in their parent');
    const par = l.parent[i]!;
    if (par >= 0) assert.ok(l.start[i]! >= l.start[par]! && l.start[i]! + l.width[i]! <= l.start[par]! + l.width[par]! + 1e-6);
  }
  assert.equal(selfSum, l.width[0]);
});

test('a diff layout carries the base and new values per frame', { skip: hasFixtures ? false : SKIP_NO_FIXTURES }, async () => {
  const [a, b] = await Promise.all([loadProfile(join(leaky, 'heap.1.pb.gz')), loadProfile(join(leaky, 'heap.5.pb.gz'))]);
  const d = subtractBase(b, a, { diff: true });
  const o: ReportOptions = { sampleIndex: 'inuse_space', nodeCount: 0, nodeFraction: 0 };
  const prep = prepareReport(d, o);
  const l = flameLayout(prep, { minFraction: 0 });
  const ta = topReport(prepareReport(a, o), o).total;
  const tb = topReport(prepareReport(b, o), o).total;
  assert.equal(l.baseTotal, ta);
  assert.equal(l.newTotal, tb);
  assert.equal(l.total, ta, 'percentages of the base, as pprof -diff_base');
  for (let i = 0; i < l.start.length; i++) assert.equal(l.base![i]! + l.next![i]!, l.width[i]);
  // the net value per name is top's diff number
  const top = topReport(prep, o);
  const net = new Map<string, number>();
  for (let i = 0; i < l.start.length; i++) {
    const ni = l.name[i]!;
    if (ni < 0) continue;
    let childNet = 0;
    for (let j = 0; j < l.start.length; j++) if (l.parent[j] === i) childNet += l.next![j]! - l.base![j]!;
    net.set(l.names[ni]!, (net.get(l.names[ni]!) ?? 0) + (l.next![i]! - l.base![i]!) - childNet);
  }
  for (const r of top.rows) assert.equal(net.get(r.printable) ?? 0, r.flat, r.printable);
  const grew = l.names.indexOf('main.createSession');
  const i = l.name.indexOf(grew);
  assert.ok(l.next![i]! > l.base![i]!, 'the leaking session map grew');
  assert.ok(existsSync(leaky));
});
