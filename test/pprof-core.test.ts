/** The pprof engine's pure pieces: Go number formatting, the algebra, the CLI's pprof spellings. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { goFixed, goG, percentage, scaledLabel } from '../src/core/units.js';
import { filterByName, mergeProfiles, removeMatching, scaleProfile, simplifyFunc, subtractBase, totals } from '../src/core/algebra.js';
import { type Profile, SampleTableBuilder } from '../src/core/profile.js';
import { normalizeArgv } from '../src/cli/args.js';
import { reportFlagSpec } from '../src/cli/report-flags.js';
import { prepareReport } from '../src/report/prepare.js';
import { topReport } from '../src/report/top.js';

test('Go %.2f: ties round to even, everything else like toFixed', () => {
  assert.equal(goFixed(1.125, 2), '1.12');
  assert.equal(goFixed(1.375, 2), '1.38');
  assert.equal(goFixed(-1.125, 2), '-1.12');
  assert.equal(goFixed(0.005, 2), '0.01'); // 0.005 is slightly above the tie as a double
  assert.equal(goFixed(999.999, 2), '1000.00');
  fc.assert(
    fc.property(fc.double({ min: -1e12, max: 1e12, noNaN: true }), (x) => {
      const tie = Number.isInteger(x * 200) && (x * 200) % 2 !== 0 && (x * 200) / 200 === x;
      fc.pre(!tie);
      assert.equal(goFixed(x, 2), (Object.is(x, -0) ? '-' : '') + x.toFixed(2).replace(/^-(0\.00)$/, '-$1'));
    }),
    { numRuns: 3000 },
  );
});

test('Go %.2g as pprof uses it for small percentages', () => {
  assert.equal(goG(0.017, 2), '0.017');
  assert.equal(goG(0.4, 2), '0.4');
  assert.equal(goG(0.00006, 2), '6e-05');
  assert.equal(goG(0.125, 2), '0.12');
  assert.equal(goG(0.996, 2), '1');
  assert.equal(percentage(4, 6637125), '6e-05%');
  assert.equal(percentage(0, 10), '    0%');
  assert.equal(percentage(99.96, 100), '  100%');
  assert.equal(percentage(-50, 100), '50.00%');
});

test('scaled labels pick pprof units', () => {
  assert.equal(scaledLabel(33786.87 * 1024, 'bytes', 'minimum'), '32.99MB');
  assert.equal(scaledLabel(1536, 'bytes', 'kB'), '1.50kB');
  assert.equal(scaledLabel(240.36e9, 'nanoseconds', 'auto'), '240.36s');
  assert.equal(scaledLabel(7200e9, 'nanoseconds', 'auto'), '2hrs');
  assert.equal(scaledLabel(0, 'bytes', 'MB'), '0');
  assert.equal(scaledLabel(12, 'count', 'minimum'), '12');
});

test('removeMatching and simplifyFunc follow pprof', () => {
  assert.equal(removeMatching('a<b<c>>::f(int)', '<', '>'), 'a::f(int)');
  assert.equal(removeMatching('unbalanced>(', '<', '>'), 'unbalanced>(');
  assert.equal(simplifyFunc('std::foo(int)'), 'std::foo');
  assert.equal(simplifyFunc('(anonymous namespace)::f(int)'), '(anonymous namespace)::f');
});

/** A tiny profile: functions a..e, stacks given root-first as strings like "a;b;c". */
function tiny(stacks: [string, number][], types = [{ type: 'inuse_space', unit: 'bytes' }]): Profile {
  const names = [...new Set(stacks.flatMap(([s]) => s.split(';')))];
  const functions = names.map((name, i) => ({ id: i + 1, name, systemName: name, filename: `${name}.go`, startLine: 1 }));
  const locations = names.map((_, i) => ({ id: i + 1, mapping: -1, address: 0n, lines: [{ fn: i, line: 10 + i, column: 0 }], isFolded: false }));
  const b = new SampleTableBuilder(types.length);
  for (const [s, v] of stacks) {
    for (const f of s.split(';').reverse()) b.pushLocation(names.indexOf(f));
    types.forEach((_, t) => b.setValue(t, v));
    b.endSample();
  }
  return {
    sampleTypes: types, samples: b.build(), mappings: [], locations, functions, strings: [''], dropFrames: '', keepFrames: '',
    timeNanos: 0n, durationNanos: 0n, periodType: undefined, period: 0, comments: [], defaultSampleType: '', docUrl: '',
  };
}

function rows(p: Profile, o = {}) {
  const opts = { nodeCount: 0, nodeFraction: 0, ...o };
  return Object.fromEntries(topReport(prepareReport(p, opts), opts).rows.map((r) => [r.name, [r.flat, r.cum]]));
}

test('flat goes to the leaf, cum counts a function once per stack (recursion)', () => {
  const p = tiny([['main;a;a;a', 10], ['main;b', 5]]);
  assert.deepEqual(rows(p), { a: [10, 10], b: [5, 5], main: [0, 15] });
});

test('focus/ignore keep or drop whole samples; hide/show drop frames; show_from cuts callers', () => {
  const p = tiny([['main;a;x', 10], ['main;b;x', 5], ['main;c', 1]]);
  assert.deepEqual(rows(p, { focus: '^a$' }), { x: [10, 10], a: [0, 10], main: [0, 10] });
  assert.deepEqual(rows(p, { ignore: '^a$' }), { b: [0, 5], x: [5, 5], c: [1, 1], main: [0, 6] });
  assert.deepEqual(rows(p, { hide: '^x$' }), { a: [10, 10], b: [5, 5], c: [1, 1], main: [0, 16] });
  assert.deepEqual(rows(p, { show: '^(a|b)$' }), { a: [10, 10], b: [5, 5] });
  assert.deepEqual(rows(p, { showFrom: '^a$' }), { x: [10, 10], a: [0, 10] });
  // file names match too
  assert.deepEqual(rows(p, { focus: 'c\\.go' }), { c: [1, 1], main: [0, 1] });
  const { matched } = filterByName(p, { focus: /nomatch/ });
  assert.equal(matched.focus, false);
});

test('merge sums identical stacks; -diff_base totals come from the base', () => {
  const a = tiny([['main;a', 10], ['main;b', 5]]);
  const b = tiny([['main;a', 4], ['main;c', 2]]);
  const m = mergeProfiles([a, b]);
  assert.deepEqual(totals(m), [21]);
  assert.equal(m.samples.count, 3);
  const d = subtractBase(a, b, { diff: true });
  const prep = prepareReport(d, { nodeCount: 0, nodeFraction: 0 });
  assert.equal(prep.total, 6);
  assert.deepEqual(rows(d), { a: [6, 6], b: [5, 5], c: [-2, -2], main: [0, 9] });
  assert.deepEqual(totals(scaleProfile(a, 0.5)), [7]); // 5 + 2 (truncation toward zero, like Go)
});

test('pprof spellings are accepted on the command line', () => {
  assert.deepEqual(normalizeArgv(['-sample_index=alloc_space', '-lines', '-diff_base', 'a.pb', '-nodecount=5', 'b.pb'], reportFlagSpec), [
    '--sample-index=alloc_space', '--granularity', 'lines', '--diff-base', 'a.pb', '--nodecount=5', 'b.pb',
  ]);
  assert.deepEqual(normalizeArgv(['-inuse_objects', '-nodefraction=0', '-show_from=x', '-cum'], reportFlagSpec), [
    '--sample-index', 'inuse_objects', '--node-fraction=0', '--show-from=x', '--cum',
  ]);
});
