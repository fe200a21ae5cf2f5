import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import fc from 'fast-check';
import { analyzeLeaks, segmentObservations, type Observation } from '../src/core/leak/analyze.js';
import { summarizeProfile, isInternalFrame, isGoInternal } from '../src/core/leak/summary.js';
import { loadRun } from '../src/node/run-dir.js';
import { leakReportJson } from '../src/report/watch.js';
import { curves, prng, synthProfile, type SynthSite } from '../bench/leak-synth.js';
import { fixturesDir, hasFixtures, SKIP_NO_FIXTURES } from './helpers/paths.js';

const leakysvc = join(fixturesDir, 'go', 'leakysvc', 'profiles');

test('leakysvc fixture series: createSession, the cache path and the blocked goroutines; never handleChurn', async (t) => {
  if (!hasFixtures) return t.skip(SKIP_NO_FIXTURES);
  const run = await loadRun([leakysvc]);
  assert.equal(run.observations.filter((o) => o.kind === 'heap').length, 5, 'heap.N only (allocs.N skipped)');
  assert.equal(run.observations.filter((o) => o.kind === 'goroutine').length, 5);
  const a = analyzeLeaks(run.observations);
  const names = a.suspects.map((s) => `${s.profile}:${s.name}`);
  assert.ok(names.includes('heap:main.createSession'), names.join(', '));
  assert.ok(names.includes('heap:main.renderProduct') || names.includes('heap:main.(*Cache).Get'), names.join(', '));
  assert.ok(names.includes('goroutine:main.notifyUpstream.func1'), names.join(', '));
  assert.ok(!names.some((n) => n.includes('handleChurn')), names.join(', '));
  assert.ok(!names.some((n) => n.startsWith('goroutine:runtime.')), 'goroutines are named by their user frame, not runtime.gopark');
  const cs = a.suspects.find((s) => s.name === 'main.createSession')!;
  assert.equal(cs.file, 'example.com/leakysvc/main.go');
  assert.equal(cs.line, 36);
  assert.equal(cs.unit, 'bytes');
  assert.equal(cs.stack[0], 'main.createSession example.com/leakysvc/main.go:36');
  assert.ok(cs.stack.some((f) => f.startsWith('main.handleRequest ')));
  const g = a.suspects.find((s) => s.profile === 'goroutine')!;
  assert.equal(g.line, 77);
  assert.equal(g.unit, 'count');
  assert.equal(g.firstValue, 5000);
  assert.equal(g.lastValue, 25000);
  // the goroutine leak is every goroutine: it ranks first
  assert.equal(a.suspects[0]!.profile, 'goroutine');
  const j = leakReportJson(a, { target: leakysvc, samples: 5, durationMs: 0, gaps: 0 });
  for (const s of j.suspects) {
    for (const k of ['profile', 'name', 'file', 'line', 'stack', 'growthPerMinute', 'unit', 'confidence']) assert.ok(k in s, `suspect lacks ${k}`);
    assert.ok(s.confidence > 0.95 && s.confidence <= 1);
  }
});

test('leakysvc: fewer than five samples give no verdict', async (t) => {
  if (!hasFixtures) return t.skip(SKIP_NO_FIXTURES);
  const run = await loadRun([1, 2, 3, 4].map((i) => join(leakysvc, `heap.${i}.pb.gz`)));
  const a = analyzeLeaks(run.observations);
  assert.equal(a.suspects.length, 0);
  assert.equal(analyzeLeaks(run.observations, { minSamples: 4 }).suspects.some((s) => s.name === 'main.createSession'), true);
});

test('frames: Go runtime and standard library, Node internals and V8 builtins are not user frames', () => {
  assert.equal(isGoInternal('runtime.gopark'), true);
  assert.equal(isGoInternal('fmt.Sprintf'), true);
  assert.equal(isGoInternal('compress/gzip.(*Writer).Write'), true);
  assert.equal(isGoInternal('main.createSession'), false);
  assert.equal(isGoInternal('github.com/x/y.(*T).M'), false);
  assert.equal(isInternalFrame('runtime.systemstack', 'runtime/asm_amd64.s'), true);
  assert.equal(isInternalFrame('emit', 'node:events'), true);
  assert.equal(isInternalFrame('padEnd', ''), true);
  assert.equal(isInternalFrame('(garbage collector)', ''), true);
  assert.equal(isInternalFrame('createSession', '/srv/app/leaks.ts'), false);
  assert.equal(isInternalFrame('(anonymous)', '/srv/app/leaks.ts'), false);
});

interface Plan {
  fn: string;
  curve: (u: number) => number;
}

function run(plans: Plan[], n: number, opts: { seed: number; noise: number; intervalMs?: number; kind?: 'heap' | 'goroutine'; t0?: number }): Observation[] {
  const r = prng(opts.seed);
  const out: Observation[] = [];
  const interval = opts.intervalMs ?? 10_000;
  const t0 = opts.t0 ?? 1.8e12;
  for (let i = 0; i < n; i++) {
    const u = n === 1 ? 0 : i / (n - 1);
    const sites: SynthSite[] = plans.map((p) => ({ fn: p.fn, value: Math.max(0, p.curve(u) * (1 + (r() - 0.5) * opts.noise)) }));
    const timeMs = t0 + i * interval;
    const kind = opts.kind ?? 'heap';
    out.push({ kind, timeMs, summary: summarizeProfile(synthProfile({ kind, sites, timeMs }), kind) });
  }
  return out;
}

test('synthetic runs: leaks are flagged; a warming cache, churn, a step and a spike are not', () => {
  const MB = 1 << 20;
  fc.assert(
    fc.property(
      fc.integer({ min: 6, max: 40 }),
      fc.double({ min: 4, max: 200, noNaN: true }),
      fc.double({ min: 0, max: 0.04, noNaN: true }),
      fc.integer({ min: 1, max: 1 << 30 }),
      (n, leakMB, noise, seed) => {
        const r = prng(seed ^ 0x5bd1e995);
        const plans: Plan[] = [
          { fn: 'main.leakySessions', curve: curves.leak(2 * MB, leakMB * MB) },
          { fn: 'main.slowLeak', curve: curves.leak(20 * MB, Math.max(4, leakMB / 3) * MB) },
          { fn: 'main.warmCache', curve: curves.plateau(leakMB * MB, 0.2 + r() * 0.2) },
          { fn: 'main.churn', curve: curves.churn(8 * MB, r) },
          { fn: 'main.lazyInit', curve: curves.step(1 * MB, leakMB * MB, 0.3 + r() * 0.5) },
          { fn: 'main.spiky', curve: curves.spike(3 * MB, leakMB * MB, r(), n) },
          { fn: 'main.steady', curve: () => 50 * MB },
        ];
        const a = analyzeLeaks(run(plans, n, { seed, noise }));
        const names = a.suspects.map((s) => s.name).sort();
        assert.deepEqual(names, ['main.leakySessions', 'main.slowLeak'], `n=${n} leak=${leakMB.toFixed(1)}MB noise=${noise.toFixed(3)}: ${names.join(', ')}`);
        const s = a.suspects.find((x) => x.name === 'main.leakySessions')!;
        // growth per minute: the planted growth over the run's span
        const planted = (leakMB * MB) / (((n - 1) * 10_000) / 60_000);
        assert.ok(Math.abs(s.growthPerMinute - planted) / planted < 0.15, `growth ${s.growthPerMinute} vs planted ${planted}`);
      },
    ),
    { seed: 17, numRuns: 60 },
  );
});

test('goroutine runs: a blocked-goroutine leak is flagged by its user frame; a steady pool is not', () => {
  const a = analyzeLeaks(
    run(
      [
        { fn: 'main.notify.func1', curve: curves.leak(10, 400) },
        { fn: 'main.worker', curve: () => 16 },
      ],
      8,
      { seed: 3, noise: 0, kind: 'goroutine' },
    ),
  );
  assert.deepEqual(
    a.suspects.map((s) => [s.profile, s.name, s.unit]),
    [['goroutine', 'main.notify.func1', 'count']],
  );
});

test('restarts: time going backwards or cumulative totals dropping start a new segment; the last one is analyzed', () => {
  const MB = 1 << 20;
  const plans = (g: number): Plan[] => [{ fn: 'main.leak', curve: curves.leak(MB, g * MB) }];
  // first process: 8 samples with a leak; restarted process: 6 samples, flat
  const first = run(plans(100), 8, { seed: 1, noise: 0, t0: 1.8e12 });
  const second = run([{ fn: 'main.leak', curve: () => MB }], 6, { seed: 2, noise: 0, t0: 1.8e12 + 9 * 10_000 });
  // the restarted process's cumulative alloc totals start again from small values
  for (const o of second) o.summary.cumulative = 1000 + o.timeMs - 1.8e12;
  const obs = [...first, ...second];
  const segs = segmentObservations(obs);
  assert.equal(segs.length, 2);
  assert.equal(segs[1]!.reason, 'cumulative-drop');
  assert.equal(segs[1]!.from, 8);
  const a = analyzeLeaks(obs);
  assert.equal(a.kinds[0]!.analyzed!.from, 8);
  assert.equal(a.suspects.length, 0, 'the latest segment is flat');
  // time going backwards
  const back = [...run(plans(100), 6, { seed: 1, noise: 0, t0: 2e12 }), ...run(plans(100), 6, { seed: 1, noise: 0, t0: 1.9e12 })];
  for (const o of back) o.summary.cumulative = NaN;
  const segs2 = segmentObservations(back);
  assert.equal(segs2.length, 2);
  assert.equal(segs2[1]!.reason, 'time-reversed');
  // a total drop after a gap
  const gap = [...run(plans(100), 6, { seed: 1, noise: 0 }), ...run([{ fn: 'main.leak', curve: () => MB / 2 }], 6, { seed: 1, noise: 0, t0: 1.8e12 + 120_000 })];
  for (const o of gap) o.summary.cumulative = NaN;
  gap[6]!.gapBefore = true;
  assert.equal(segmentObservations(gap)[1]?.reason, 'total-drop-after-gap');
  // a process start that changed, with no gap and no other sign (a restart faster than a poll)
  const quick = run(plans(100), 12, { seed: 1, noise: 0 });
  for (const [i, o] of quick.entries()) {
    o.summary.cumulative = NaN;
    o.summary.processStartMs = i < 7 ? 1.79e12 : 1.8e12;
  }
  const segs3 = segmentObservations(quick);
  assert.deepEqual(segs3.map((s) => [s.from, s.reason]), [[0, 'start'], [7, 'start-time-changed']]);
  // the same start throughout: one segment
  for (const o of quick) o.summary.processStartMs = 1.79e12;
  assert.equal(segmentObservations(quick).length, 1);
  // a short latest segment: the longest one is analyzed instead
  const short = [...run(plans(100), 8, { seed: 1, noise: 0 }), ...run(plans(100), 2, { seed: 1, noise: 0, t0: 1.7e12 })];
  for (const o of short) o.summary.cumulative = NaN;
  const a2 = analyzeLeaks(short);
  assert.equal(a2.kinds[0]!.analyzed!.from, 0);
  assert.deepEqual(a2.suspects.map((s) => s.name), ['main.leak']);
});

test('first detection: a leak that starts mid-run is detected after it starts', () => {
  const MB = 1 << 20;
  const obs = run([{ fn: 'main.late', curve: (u) => MB + (u < 0.5 ? 0 : (u - 0.5) * 200 * MB) }], 30, { seed: 4, noise: 0.01 });
  const a = analyzeLeaks(obs);
  const s = a.suspects.find((x) => x.name === 'main.late');
  assert.ok(s, 'a leak in the second half is still a leak');
  assert.ok(s.firstDetectedSample > 15, `first detected at ${s.firstDetectedSample}`);
});

test('long runs are thinned: 3,000 samples give the same suspects quickly', () => {
  const MB = 1 << 20;
  const obs = run(
    [
      { fn: 'main.leak', curve: curves.leak(MB, 300 * MB) },
      { fn: 'main.cache', curve: curves.plateau(50 * MB, 0.2) },
      { fn: 'main.steady', curve: () => 20 * MB },
    ],
    3000,
    { seed: 8, noise: 0.01 },
  );
  const t0 = performance.now();
  const a = analyzeLeaks(obs);
  const ms = performance.now() - t0;
  assert.deepEqual(a.suspects.map((s) => s.name), ['main.leak']);
  assert.ok(a.suspects[0]!.firstDetectedSample <= 3000 && a.suspects[0]!.firstDetectedSample >= 5);
  assert.ok(ms < 5000, `${ms} ms`);
});
