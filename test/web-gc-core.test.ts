/**
 * The GC view's pure parts: the Prometheus text parser (core/gc-prom.ts), the GC numbers from a
 * series of scrapes (core/gc.ts: pauses per interval by kind, share of wall time, restarts, the
 * window's histogram and its quantiles) and the chart layouts (report/gc.ts) — no DOM. The
 * quantiles and the share are checked against Prometheus itself: `promtool test rules` evaluates
 * histogram_quantile and the pause-seconds delta on the same series (skipped without promtool).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parsePromText, promHistograms, promValue } from '../src/core/gc-prom.js';
import { gcData, gcScrape, histogramQuantile, type GcScrape } from '../src/core/gc.js';
import { bucketLabels, gcView } from '../src/report/gc.js';
import { splitMetrics } from '../src/node/metrics-dir.js';

const hasPromtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' }).status === 0;
const SKIP_NO_PROMTOOL = 'promtool not found: the GC numbers are not compared with Prometheus (CI installs Debian\'s prometheus)';
if (!hasPromtool) console.log(`# SKIP web-gc-core.test (promtool part): ${SKIP_NO_PROMTOOL}`);

test('parsePromText: types, help, labels with escapes, +Inf/NaN, timestamps; bad lines counted, not fatal', () => {
  const text = [
    '# HELP nodejs_gc_duration_seconds Garbage collection duration by kind.',
    '# TYPE nodejs_gc_duration_seconds histogram',
    'nodejs_gc_duration_seconds_bucket{le="0.001",kind="minor"} 3',
    'nodejs_gc_duration_seconds_bucket{le="+Inf",kind="minor"} 5',
    'nodejs_gc_duration_seconds_sum{kind="minor"} 0.0125',
    'nodejs_gc_duration_seconds_count{kind="minor"} 5',
    '# TYPE up gauge',
    'up 1 1700000000000',
    'weird{path="a \\"b\\" \\\\ c\\nd",x="1",} NaN',
    '# a plain comment',
    'temperature -Inf',
    'broken{unclosed="x" 1',
    'no_value',
    '1bad 2',
    'x_total 1e3',
    'with_exemplar_bucket{le="1"} 4 # {trace_id="abc"} 0.5',
    '# EOF',
    '',
  ].join('\n');
  const t = parsePromText(text);
  const gc = t.families.get('nodejs_gc_duration_seconds')!;
  assert.equal(gc.type, 'histogram');
  assert.equal(gc.help, 'Garbage collection duration by kind.');
  assert.equal(gc.samples.length, 4, 'the _bucket/_sum/_count samples belong to the histogram');
  assert.equal(promValue(t, 'up'), 1);
  const w = t.families.get('weird')!.samples[0]!;
  assert.deepEqual(w.labels, { path: 'a "b" \\ c\nd', x: '1' });
  assert.ok(Number.isNaN(w.value));
  assert.equal(promValue(t, 'temperature'), -Infinity);
  assert.equal(promValue(t, 'x_total'), 1000);
  assert.equal(promValue(t, 'with_exemplar_bucket', { le: '1' }), 4, 'an OpenMetrics exemplar is left aside');
  assert.equal(t.badLines, 3);
  assert.equal(t.firstBad, 'broken{unclosed="x" 1');
  const h = promHistograms(t, 'nodejs_gc_duration_seconds', 'kind').get('minor')!;
  assert.deepEqual(h, { le: [0.001, Infinity], buckets: [3, 5], sum: 0.0125, count: 5 });
  // garbage in, nothing out (and no throw)
  const g = parsePromText('\u0000\u0001 not at all {{{\n'.repeat(1000));
  assert.equal(g.families.size, 0);
  assert.equal(g.badLines, 1000);
});

/** One scrape's text: the agent's GC histogram (prom-client's bucket bounds) and heap spaces. */
const LE = ['0.0001', '0.0005', '0.001', '0.005', '0.01', '0.05', '0.1', '0.5', '1', '5', '+Inf'];
function scrapeText(o: { start: number; kinds: Record<string, { buckets: number[]; sum: number }>; old: number; young: number }): string {
  const lines = ['# TYPE process_start_time_seconds gauge', `process_start_time_seconds ${o.start}`, '# TYPE nodejs_gc_duration_seconds histogram'];
  for (const [k, h] of Object.entries(o.kinds)) {
    LE.forEach((le, j) => lines.push(`nodejs_gc_duration_seconds_bucket{le="${le}",kind="${k}"} ${h.buckets[j]}`));
    lines.push(`nodejs_gc_duration_seconds_sum{kind="${k}"} ${h.sum}`, `nodejs_gc_duration_seconds_count{kind="${k}"} ${h.buckets[LE.length - 1]}`);
  }
  lines.push('# TYPE nodejs_heap_space_size_used_bytes gauge', `nodejs_heap_space_size_used_bytes{space="old"} ${o.old}`, `nodejs_heap_space_size_used_bytes{space="new"} ${o.young}`, `nodejs_heap_space_size_used_bytes{space="code_large_object"} 0`);
  lines.push('# TYPE nodejs_heap_size_used_bytes gauge', `nodejs_heap_size_used_bytes ${o.old + o.young}`);
  return lines.join('\n') + '\n';
}
/** cumulative buckets from per-bucket counts */
const cum = (xs: number[]) => xs.map((_, j) => xs.slice(0, j + 1).reduce((a, b) => a + b, 0));

// three scrapes a minute apart of one process, then a restarted one
const T0 = 1_700_000_000_000;
const series = [
  { t: T0, start: 1000, minor: cum([0, 2, 3, 1, 0, 0, 0, 0, 0, 0, 0]), minorSum: 0.004, major: cum([0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]), majorSum: 0.008 },
  { t: T0 + 60_000, start: 1000, minor: cum([0, 5, 9, 4, 1, 0, 0, 0, 0, 0, 0]), minorSum: 0.0213, major: cum([0, 0, 0, 0, 2, 1, 0, 0, 0, 0, 0]), majorSum: 0.046 },
  { t: T0 + 120_000, start: 1000, minor: cum([1, 9, 20, 10, 2, 1, 0, 0, 0, 0, 0]), minorSum: 0.0712, major: cum([0, 0, 0, 0, 3, 4, 1, 0, 0, 0, 0]), majorSum: 0.29 },
  { t: T0 + 180_000, start: 1170, minor: cum([0, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0]), minorSum: 0.0011, major: cum([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), majorSum: 0 },
];
const scrapes: GcScrape[] = series.map((s, i) =>
  gcScrape(s.t, parsePromText(scrapeText({ start: s.start, kinds: { minor: { buckets: s.minor, sum: s.minorSum }, major: { buckets: s.major, sum: s.majorSum } }, old: 1e6 * (i + 1), young: 5e5 }))),
);

test('gcData: pauses per interval by kind, share of wall time, a restart counted from zero, the window histogram', () => {
  const d = gcData(scrapes);
  assert.deepEqual(d.kinds, ['major', 'minor']);
  const near = (a: (number | null)[], b: (number | null)[]) => a.forEach((x, i) => (b[i] === null ? assert.equal(x, null) : assert.ok(Math.abs(x! - b[i]!) < 1e-9, `${x} ≈ ${b[i]} at ${i}`)));
  near(d.pauseMs.minor!, [null, 17.3, 49.9, 1.1]);
  near(d.pauseMs.major!, [null, 38, 244, 0]);
  assert.deepEqual(d.pauses.minor, [null, 13, 24, 3]);
  assert.deepEqual(d.pauses.major, [null, 2, 5, 0]);
  assert.deepEqual(d.restarts, [3], 'process_start_time_seconds changed: the counters start again');
  near(d.share, [null, (0.0173 + 0.038) / 60, (0.0499 + 0.244) / 60, 0.0011 / 60]);
  const total = 0.0173 + 0.038 + 0.0499 + 0.244 + 0.0011;
  assert.ok(Math.abs(d.totals.pauseSeconds - total) < 1e-9);
  assert.equal(d.totals.wallSeconds, 180);
  assert.equal(d.histogram.window, 'scrapes');
  // minor's buckets over the window: (2nd − 1st) + (3rd − 2nd) + the restarted process's own
  assert.deepEqual(d.histogram.counts.minor, [1, 7, 17, 9, 2, 1, 0, 0, 0, 0, 0].map((v, j) => v + [0, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0][j]!));
  assert.equal(d.totals.byKind.minor!.count, 40);
  assert.deepEqual(d.spaces, ['old', 'new'], 'empty spaces are left out');
  assert.deepEqual(d.spaceUsed.old, [1e6, 2e6, 3e6, 4e6]);
  assert.deepEqual(d.heapUsed, [1.5e6, 2.5e6, 3.5e6, 4.5e6]);

  // one scrape: what its counters hold, with no wall time (when counting began is unknown)
  const one = gcData([scrapes[0]!]);
  assert.equal(one.histogram.window, 'one-scrape');
  assert.equal(one.totals.byKind.minor!.count, 6);
  assert.equal(one.totals.wallSeconds, 0);
  assert.equal(one.totals.share, null);
  assert.deepEqual(gcData([]).kinds, []);

  // a kind that first appears later counts from zero (prom-client emits a label at its first pause)
  const late = gcData([gcScrape(T0, parsePromText(scrapeText({ start: 1000, kinds: {}, old: 1, young: 1 }))), scrapes[0]!]);
  assert.deepEqual(late.pauses.minor, [null, 6]);
  assert.deepEqual(late.restarts, []);
});

test('gcData: the share is taken over a trailing window of at least 5s (pauses reported a scrape late even out)', () => {
  // a scrape a second; 1.5s of pause counted every other scrape
  const sums = [0, 0, 1.5, 1.5, 3, 3, 4.5];
  const ss = sums.map((sum, i) => gcScrape(T0 + i * 1000, parsePromText(scrapeText({ start: 1000, kinds: { minor: { buckets: cum([0, 0, 0, 0, 0, 0, 0, 0, 0, 2 * i, 0]), sum } }, old: 1, young: 1 }))));
  const d = gcData(ss);
  assert.equal(d.shareWindowMs, 5000);
  // scrape 6: back to scrape 1 (5s): 4.5s of pause in 5s
  assert.ok(Math.abs(d.share[6]! - 0.9) < 1e-12, String(d.share[6]));
  // scrape 2: only 2s back to the first scrape
  assert.ok(Math.abs(d.share[2]! - 0.75) < 1e-12);
  // a window of one interval: the raw alternation
  assert.deepEqual(gcData(ss, { shareWindowMs: 1 }).share, [null, 0, 1.5, 0, 1.5, 0, 1.5]);
});

test('histogramQuantile: Prometheus rules (interpolation, first bucket from 0, +Inf bucket → highest bound, empty → null)', () => {
  const le = [0.001, 0.01, Infinity];
  assert.equal(histogramQuantile(0.5, le, [0, 0, 0]), null);
  assert.ok(Math.abs(histogramQuantile(0.5, le, [4, 8, 8])! - 0.001) < 1e-12);
  assert.ok(Math.abs(histogramQuantile(0.25, le, [4, 8, 8])! - 0.0005) < 1e-12);
  assert.equal(histogramQuantile(0.99, le, [3, 8, 10]), 0.01);
  assert.equal(histogramQuantile(0.5, [Infinity], [3]), null);
});

test('report/gc: chart layouts as data (bucket labels, one series per kind, percent share, spaces), summary line', () => {
  assert.deepEqual(bucketLabels([0.0001, 0.0005, 0.001, 0.05, 1, 5, Infinity]), ['≤100µs', '100µs–500µs', '500µs–1ms', '1ms–50ms', '50ms–1s', '1s–5s', '>5s']);
  const v = gcView(gcData(scrapes), { title: 't', source: 'run', live: false, gaps: [{ timeMs: T0 + 90_000, error: 'refused' }], errors: [], version: 3 });
  assert.deepEqual(v.charts.map((c) => c.id), ['gc-histogram', 'gc-pauses', 'gc-share', 'gc-spaces'], 'no event-loop delay chart without its metrics');
  // with prom-client's event-loop delay gauges: their chart, in ms
  const lag = (t: number, p99: number, max: number) => gcScrape(t, parsePromText(`nodejs_eventloop_lag_p99_seconds ${p99}\nnodejs_eventloop_lag_max_seconds ${max}\nnodejs_eventloop_lag_min_seconds NaN\n`));
  const withLag = gcView(gcData([lag(T0, 0.012, 0.05), lag(T0 + 1000, 0.2, 0.31)]), { title: 't', source: 's', live: true, gaps: [], errors: [], version: 1 });
  const lc = withLag.charts.find((c) => c.id === 'gc-lag')!;
  assert.deepEqual(lc.series.map((x) => [x.label, x.values]), [['p99', [12, 200]], ['max', [50, 310]]]);
  const hist = v.charts[0]!;
  assert.equal(hist.type, 'bars');
  assert.equal(hist.xLabels!.length, 11);
  assert.deepEqual(hist.series.map((s) => s.label), ['major', 'minor']);
  const share = v.charts[2]!;
  assert.ok(Math.abs(share.series[0]!.values[1]! - (100 * (0.0173 + 0.038)) / 60) < 1e-9, 'share in percent');
  assert.deepEqual(share.gaps, [(T0 + 90_000) / 1000]);
  assert.deepEqual(share.restarts, [(T0 + 180_000) / 1000]);
  assert.deepEqual(v.charts[3]!.series.map((s) => s.label), ['heap used (all spaces)', 'old', 'new']);
  assert.equal(v.rows.find((r) => r.kind === 'minor')!.count, 40);
  assert.match(v.summary, /^GC paused 350\.3ms in 47 pauses over 180s: 0\.19% of wall time · 4 scrapes · 1 failed · 1 restart$/);
});

test('splitMetrics: metrics beside profiles; alone it is a usage error', () => {
  assert.deepEqual(splitMetrics('heap,async,metrics'), { profiles: 'heap,async', metrics: true });
  assert.deepEqual(splitMetrics('heap'), { profiles: 'heap', metrics: false });
  assert.deepEqual(splitMetrics(undefined), { profiles: undefined, metrics: false });
  assert.throws(() => splitMetrics('metrics'), /needs a profile to watch beside it/);
});

test('the quantiles and the share agree with Prometheus (promtool test rules on the same series)', { skip: hasPromtool ? false : SKIP_NO_PROMTOOL }, () => {
  // the first three scrapes (one process), a minute apart, as Prometheus series
  const three = scrapes.slice(0, 3);
  const d = gcData(three);
  const input: string[] = [];
  for (const kind of ['minor', 'major'] as const) {
    LE.forEach((le, j) => input.push(`      - series: 'nodejs_gc_duration_seconds_bucket{kind="${kind}",le="${le}"}'\n        values: '${series.slice(0, 3).map((s) => s[kind][j]).join(' ')}'`));
    input.push(`      - series: 'nodejs_gc_duration_seconds_sum{kind="${kind}"}'\n        values: '${series.slice(0, 3).map((s) => s[`${kind}Sum`]).join(' ')}'`);
  }
  const exp = (expr: string, labels: string, value: number) => `      - expr: '${expr}'\n        eval_time: 2m\n        exp_samples:\n          - labels: '${labels}'\n            value: ${value}`;
  const tests: string[] = [];
  for (const kind of ['minor', 'major']) {
    for (const [q, v] of [[0.5, d.totals.byKind[kind]!.p50], [0.99, d.totals.byKind[kind]!.p99]] as const) {
      tests.push(exp(`histogram_quantile(${q}, nodejs_gc_duration_seconds_bucket{kind="${kind}"} - nodejs_gc_duration_seconds_bucket{kind="${kind}"} offset 2m)`, `{kind="${kind}"}`, v!));
    }
  }
  // the share: equal but for the order of float additions (1 when within 1e-12 of ours)
  tests.push(exp(`abs(sum(nodejs_gc_duration_seconds_sum - nodejs_gc_duration_seconds_sum offset 2m) / 120 - ${d.totals.share!}) < bool 1e-12`, '{}', 1));
  const yaml = `evaluation_interval: 1m\ntests:\n  - interval: 1m\n    input_series:\n${input.join('\n')}\n    promql_expr_test:\n${tests.join('\n')}\n`;
  const dir = mkdtempSync(join(tmpdir(), 'leakscope-gc-promtool-'));
  try {
    writeFileSync(join(dir, 'gc.yml'), yaml);
    const r = spawnSync('promtool', ['test', 'rules', join(dir, 'gc.yml')], { encoding: 'utf8' });
    assert.equal(r.status, 0, `promtool disagrees:\n${r.stdout}\n${r.stderr}\n${yaml}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
