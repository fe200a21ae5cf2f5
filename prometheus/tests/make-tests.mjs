#!/usr/bin/env node
// Writes the promtool unit tests for ../leakscope-rules.yml: synthetic Node and Go services in six
// scenarios (a steady leak, a service near its limits, a burst, a warming cache, a daily cycle, a
// restart), sampled every 5 minutes, and the alerts each one must raise, or not, at the times
// listed. Run it after changing a scenario: `node prometheus/tests/make-tests.mjs`; the
// node:test file test/prometheus-rules.test.ts checks that the YAML files are what it writes.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
/** where the YAML goes: this directory, or the directory given as the first argument */
const outDir = process.argv[2] ?? here;
const MiB = 1048576;
const STEP_MIN = 5;
const NO_LIMIT = '9223372036854775807';

const NODE = { job: 'api', instance: 'api-1:6060' };
const GO = { job: 'billing', instance: 'billing-1:6060' };
const NATIVE = { job: 'images', instance: 'images-1:6060' };

const sel = (name, l, extra = '') => `${name}{job="${l.job}",instance="${l.instance}"${extra}}`;
/** deterministic noise in [0, 1) */
const noise = (i, seed) => {
  const x = Math.sin((i + 1) * 12.9898 + seed * 78.233) * 43758.5453;
  return x - Math.floor(x);
};

/**
 * One service over `hours`: `heap(t)`, `rss(t)`, `tasks(t)` are floors (t in hours); samples
 * alternate floor and floor + churn (garbage between collections). `gc(t)` is the share of time in
 * GC; `slow(t)` the share of event-loop delay samples at 200 ms; `start(t)` the process start time.
 */
function service(l, runtime, hours, m) {
  const n = (hours * 60) / STEP_MIN + 1;
  const ts = Array.from({ length: n }, (_, i) => (i * STEP_MIN) / 60);
  const start = m.start ?? (() => 0);
  const series = [];
  const put = (name, f) => series.push({ series: name, values: ts.map((t, i) => f(t, i)).map(fmt).join(' ') });
  const churn = (i, size) => (i % 2) * size;
  put(sel('process_start_time_seconds', l), (t) => start(t));
  put(sel('process_resident_memory_bytes', l), (t, i) => Math.round(m.rss(t) * MiB + churn(i, 8 * MiB)));
  // cumulative GC seconds, reset when the process restarts
  let gcSum = 0;
  let lastStart = start(0);
  const gcSeries = ts.map((t) => {
    if (start(t) !== lastStart) {
      lastStart = start(t);
      gcSum = 0;
    }
    const v = gcSum;
    gcSum += (m.gc?.(t) ?? 0.03) * STEP_MIN * 60;
    return v;
  });
  if (runtime === 'node') {
    put(sel('nodejs_heap_size_used_bytes', l), (t, i) => Math.round(m.heap(t) * MiB + churn(i, 8 * MiB)));
    put(sel('nodejs_heap_size_limit_bytes', l), () => (m.heapLimit ?? 2048) * MiB);
    if (m.memLimit) put(sel('nodejs_memory_limit_bytes', l), () => m.memLimit * MiB);
    put(sel('nodejs_active_resources_total', l), (t, i) => Math.round(m.tasks(t)) + churn(i, 5));
    put(sel('nodejs_gc_duration_seconds_sum', l, ',kind="major"'), (_t, i) => gcSeries[i]);
    // event-loop delay histogram: 25,000 samples per step; the slow share at 200 ms, one in 200 at 20 ms
    const buckets = ['0.001', '0.005', '0.025', '0.1', '0.25', '+Inf'];
    const counts = new Map(buckets.map((b) => [b, 0]));
    const rows = new Map(buckets.map((b) => [b, []]));
    let count = 0;
    let sum = 0;
    const counted = [];
    const summed = [];
    lastStart = start(0);
    for (const t of ts) {
      if (start(t) !== lastStart) {
        lastStart = start(t);
        for (const b of buckets) counts.set(b, 0);
        count = 0;
        sum = 0;
      }
      for (const b of buckets) rows.get(b).push(counts.get(b));
      counted.push(count);
      summed.push(sum);
      const total = 25000;
      const slow = Math.round(total * (m.slow?.(t) ?? 0));
      const mid = Math.round(total / 200);
      const fast = total - slow - mid;
      counts.set('0.001', counts.get('0.001') + fast);
      counts.set('0.005', counts.get('0.005') + fast);
      counts.set('0.025', counts.get('0.025') + fast + mid);
      counts.set('0.1', counts.get('0.1') + fast + mid);
      counts.set('0.25', counts.get('0.25') + total);
      counts.set('+Inf', counts.get('+Inf') + total);
      count += total;
      sum += fast * 0.0004 + mid * 0.02 + slow * 0.2;
    }
    for (const b of buckets) series.push({ series: sel('nodejs_eventloop_delay_seconds_bucket', l, `,le="${b}"`), values: rows.get(b).map(fmt).join(' ') });
    series.push({ series: sel('nodejs_eventloop_delay_seconds_count', l), values: counted.map(fmt).join(' ') });
    series.push({ series: sel('nodejs_eventloop_delay_seconds_sum', l), values: summed.map(fmt).join(' ') });
  } else {
    put(sel('go_memstats_heap_inuse_bytes', l), (t, i) => Math.round(m.heap(t) * MiB + churn(i, 8 * MiB)));
    put(sel('go_gc_gomemlimit_bytes', l), () => (m.memLimit ? String(m.memLimit * MiB) : NO_LIMIT));
    put(sel('go_goroutines', l), (t, i) => Math.round(m.tasks(t)) + churn(i, 5));
    put(sel('go_gc_duration_seconds_sum', l), (_t, i) => gcSeries[i]);
  }
  return series;
}

function fmt(v) {
  if (typeof v === 'string') return v;
  return Number.isInteger(v) ? String(v) : v.toFixed(3);
}

const hm = (h) => {
  const mins = Math.round(h * 60);
  return mins % 60 === 0 ? `${mins / 60}h` : mins > 60 ? `${Math.floor(mins / 60)}h${mins % 60}m` : `${mins}m`;
};

const ALERTS = ['LeakscopeHeapGrowing', 'LeakscopeMemoryGrowing', 'LeakscopeHeapLimitSoon', 'LeakscopeMemoryLimitSoon', 'LeakscopeTasksGrowing', 'LeakscopeGCTimeHigh', 'LeakscopeEventLoopDelayed', 'LeakscopeMemoryAnomaly'];

const SUMMARY = {
  LeakscopeHeapGrowing: (l, v) => `${l.instance} (${l.runtime}): the heap left after GC grew ${v}B in the last hour, at a steady pace`,
  LeakscopeMemoryGrowing: (l, v) => `${l.instance}: resident memory grew ${v}B in the last hour while the heap did not: memory outside the heap (buffers, native code, threads)`,
  LeakscopeHeapLimitSoon: (l, v) => `${l.instance} (${l.runtime}): out of heap in ${v} hours at the last hour's pace (V8 heap limit)`,
  LeakscopeMemoryLimitSoon: (l, v) => `${l.instance}: out of memory in ${v} hours at the last hour's pace (container memory limit)`,
  LeakscopeTasksGrowing: (l, v) => `${l.instance} (${l.runtime}): ${v} more goroutines / async resources than an hour ago, at a steady pace`,
  LeakscopeGCTimeHigh: (l, v) => `${l.instance} (${l.runtime}): garbage collection takes ${v} of the time`,
  LeakscopeEventLoopDelayed: (l, v) => `${l.instance}: event-loop delay p99 is ${v} over 10 minutes`,
  LeakscopeMemoryAnomaly: (l, v) => `${l.instance}: ${l.signal} at ${v} is more than 3 standard deviations above its trailing hour`,
};
const RUNBOOK = {
  LeakscopeHeapGrowing: (l) => `leakscope watch http://${l.instance}/debug/pprof --duration 10m (Node agent: add --profiles heap,async --snapshots) names the allocation sites that keep growing`,
  LeakscopeMemoryGrowing: (l) => `leakscope watch http://${l.instance}/debug/pprof --duration 10m --snapshots, and compare the agent's nodejs_external_memory_bytes and nodejs_array_buffers_bytes`,
  LeakscopeHeapLimitSoon: (l) => `leakscope watch http://${l.instance}/debug/pprof --profiles heap,async --snapshots --duration 10m now; restart or scale out before the limit`,
  LeakscopeMemoryLimitSoon: (l) => `leakscope watch http://${l.instance}/debug/pprof --duration 10m now; restart or scale out before the limit`,
  LeakscopeTasksGrowing: (l) => `leakscope watch http://${l.instance}/debug/pprof --profiles goroutine --duration 10m (Node agent: --profiles async) names the code that starts them`,
  LeakscopeGCTimeHigh: (l) => `leakscope top http://${l.instance}/debug/pprof/heap shows what holds the heap; leakscope watch finds what grows`,
  LeakscopeEventLoopDelayed: (l) => `leakscope top 'http://${l.instance}/debug/pprof/profile?seconds=30' shows the busy code; curl http://${l.instance}/debug/pprof/stack while it is stuck`,
  LeakscopeMemoryAnomaly: (l) => `leakscope watch http://${l.instance}/debug/pprof --duration 10m tells a leak from a burst; leakscope diff of two heap profiles shows what came with the jump`,
};
const SEVERITY = { LeakscopeHeapLimitSoon: 'critical', LeakscopeMemoryLimitSoon: 'critical', LeakscopeMemoryAnomaly: 'info' };

/** An expected firing alert: `labels` beyond alertname/severity, and the value as the summary prints it. */
function expect(alertname, labels, value) {
  return {
    exp_labels: { alertname, severity: SEVERITY[alertname] ?? 'warning', ...labels },
    exp_annotations: { summary: SUMMARY[alertname](labels, value), runbook: RUNBOOK[alertname](labels) },
  };
}

/** alert_rule_test entries: at each time, every alert of ALERTS with exactly the expected ones firing. */
function checks(times, firing = () => []) {
  const out = [];
  for (const t of times) {
    const want = firing(t);
    for (const a of ALERTS) {
      out.push({ eval_time: hm(t), alertname: a, exp_alerts: want.filter((e) => e.exp_labels.alertname === a) });
    }
  }
  return out;
}

const range = (from, to, step) => Array.from({ length: Math.floor((to - from) / step) + 1 }, (_, i) => from + i * step);

function write(file, name, series, alertTests, evaluationInterval = '1m') {
  const doc = {
    rule_files: ['../leakscope-rules.yml'],
    evaluation_interval: evaluationInterval,
    // promtool evaluates groups in a random order unless told: the alerts read the recording rules
    // of the same instant, so recording first (without this the tests were flaky, 1 run in 20)
    group_eval_order: ['leakscope-recording', 'leakscope-alerts'],
    tests: [{ name, interval: `${STEP_MIN}m`, input_series: series, alert_rule_test: alertTests }],
  };
  const header = `# Generated by make-tests.mjs (do not edit by hand): ${name}\n`;
  writeFileSync(join(outDir, file), header + toYaml(doc));
}

/** Just enough YAML for these documents (maps, lists, strings, numbers). */
function toYaml(v, indent = '') {
  if (Array.isArray(v)) {
    if (v.length === 0) return ' []\n';
    return `\n${v.map((x) => `${indent}- ${toYaml(x, `${indent}  `).replace(/^\n\s*/, '')}`).join('')}`;
  }
  if (v !== null && typeof v === 'object') {
    const keys = Object.keys(v);
    if (keys.length === 0) return ' {}\n';
    return `\n${keys.map((k) => `${indent}${k}:${toYaml(v[k], `${indent}  `)}`).join('')}`;
  }
  if (typeof v === 'number') return ` ${v}\n`;
  return ` ${JSON.stringify(String(v))}\n`;
}

// --- 1. A steady leak: the heap floor +20 MiB an hour (Node and Go), tasks growing, and a Node
// service whose resident memory grows outside the heap.
{
  const leak = { heap: (t) => 100 + 20 * t, rss: (t) => 180 + 20 * t, memLimit: 1024 };
  const series = [
    ...service(NODE, 'node', 4, { ...leak, tasks: (t) => 50 + 200 * t }),
    ...service(GO, 'go', 4, { heap: (t) => 60 + 20 * t, rss: (t) => 90 + 20 * t, tasks: (t) => 40 + 300 * t }),
    ...service(NATIVE, 'node', 4, { heap: () => 100, rss: (t) => 200 + 30 * t, tasks: () => 50 }),
  ];
  const node = { ...NODE, runtime: 'node' };
  const go = { ...GO, runtime: 'go' };
  write('leak.yml', 'a steady leak: heap, goroutines, async resources, memory outside the heap', series,
    checks([0.5, 1, 1.25, 1.5, 2.5, 3.5, 4], (t) => t < 1.5 ? [] : [
      expect('LeakscopeHeapGrowing', node, '20Mi'),
      expect('LeakscopeHeapGrowing', go, '20Mi'),
      expect('LeakscopeTasksGrowing', node, '200'),
      expect('LeakscopeTasksGrowing', go, '300'),
      expect('LeakscopeMemoryGrowing', { ...NATIVE }, '30Mi'),
    ]));
}

// --- 2. Near the limits: a Node heap 40 MiB/h from 300 MiB toward its 512 MiB V8 limit (GC time
// and event-loop delay climb with it), a Go service 50 MiB/h toward GOMEMLIMIT=600 MiB.
{
  const series = [
    ...service(NODE, 'node', 4.5, {
      heap: (t) => 300 + 40 * t,
      rss: (t) => 380 + 40 * t,
      heapLimit: 512,
      tasks: () => 80,
      gc: (t) => 0.05 + 0.1 * t,
      slow: (t) => (t >= 2 ? 0.03 : 0),
    }),
    ...service(GO, 'go', 4.5, { heap: (t) => 200 + 50 * t, rss: (t) => 230 + 50 * t, memLimit: 600, tasks: () => 40 }),
  ];
  const node = { ...NODE, runtime: 'node' };
  const go = { ...GO, runtime: 'go' };
  write('near-limit.yml', 'near the limits: V8 heap limit, GOMEMLIMIT, GC time, event-loop delay', series, [
    ...checks([1], () => []),
    ...checks([3], () => [
      expect('LeakscopeHeapGrowing', node, '40Mi'),
      expect('LeakscopeHeapGrowing', go, '50Mi'),
      // (512 MiB − a floor of about 416 MiB) / 40 MiB an hour; the floor and the rates lag by 5–10 min
      expect('LeakscopeHeapLimitSoon', node, '2.4'),
      // GC share 0.05 + 0.1 t, its 10-minute rate read a few minutes back: 0.05 + 0.1 × 2.875
      expect('LeakscopeGCTimeHigh', node, '33.75%'),
      expect('LeakscopeEventLoopDelayed', { ...NODE }, '200ms'),
    ]),
    ...checks([4.5], () => [
      expect('LeakscopeHeapGrowing', node, '40Mi'),
      expect('LeakscopeHeapGrowing', go, '50Mi'),
      expect('LeakscopeHeapLimitSoon', node, '1.0'),
      // (600 MiB − an RSS floor of about 447 MiB) / 50 MiB an hour
      expect('LeakscopeMemoryLimitSoon', { ...GO }, '3.1'),
      expect('LeakscopeGCTimeHigh', node, '48.75%'),
      expect('LeakscopeEventLoopDelayed', { ...NODE }, '200ms'),
    ]),
  ]);
}

// --- 3. A burst: flat floors with noise, then +60 MiB (heap and RSS) and +100 tasks at 2h30.
{
  const jump = (t) => (t >= 2.5 ? 1 : 0);
  const series = [
    ...service(NODE, 'node', 4, {
      heap: (t) => 100 + noise(Math.round(t * 12), 1) + 60 * jump(t),
      rss: (t) => 180 + noise(Math.round(t * 12), 2) + 60 * jump(t),
      tasks: (t) => 60 + Math.round(3 * noise(Math.round(t * 12), 3)) + 100 * jump(t),
    }),
  ];
  write('burst.yml', 'a burst: the 3σ anomaly rule fires, the growth rules do not', series, [
    ...checks([1.5, 2.5, 3.25, 4]),
    // the values are the floors after the jump: 160 MiB + noise, 240 MiB + noise, 160 tasks
    ...checks([2.75], () => [
      expect('LeakscopeMemoryAnomaly', { ...NODE, runtime: 'node', signal: 'heap' }, '160.4Mi'),
      expect('LeakscopeMemoryAnomaly', { ...NODE, signal: 'rss' }, '240.4Mi'),
      expect('LeakscopeMemoryAnomaly', { ...NODE, runtime: 'node', signal: 'tasks' }, '160'),
    ]),
    ...checks([2.833], () => [
      expect('LeakscopeMemoryAnomaly', { ...NODE, runtime: 'node', signal: 'heap' }, '160.1Mi'),
      expect('LeakscopeMemoryAnomaly', { ...NODE, signal: 'rss' }, '240.4Mi'),
      expect('LeakscopeMemoryAnomaly', { ...NODE, runtime: 'node', signal: 'tasks' }, '160'),
    ]),
  ]);
}

// --- 4. A warming cache: the process starts and its cache (and a connection pool) fill up over
// about an hour (time constant 15 min), with busy GC and a slow event loop for the first 10 min.
{
  const warm = (t) => 1 - Math.exp(-t / 0.25);
  const early = (t) => t < 1 / 6;
  const series = [
    ...service(NODE, 'node', 6, { heap: (t) => 100 + 150 * warm(t), rss: (t) => 180 + 150 * warm(t), tasks: (t) => 50 + 300 * warm(t), gc: (t) => (early(t) ? 0.3 : 0.03), slow: (t) => (early(t) ? 0.05 : 0) }),
    ...service(GO, 'go', 6, { heap: (t) => 60 + 150 * warm(t), rss: (t) => 90 + 150 * warm(t), tasks: (t) => 40 + 300 * warm(t), gc: (t) => (early(t) ? 0.3 : 0.03) }),
  ];
  write('warming-cache.yml', 'a warming cache after start: quiet', series, checks(range(0.25, 6, 0.25)));
}

// --- 5. A daily cycle: floors follow traffic (±40%) over three days; quiet from the second day on.
{
  const day = (t) => Math.sin((2 * Math.PI * t) / 24);
  const series = [
    ...service(NODE, 'node', 72, { heap: (t) => 300 + 120 * day(t), rss: (t) => 380 + 120 * day(t), tasks: (t) => 200 + 80 * day(t), gc: (t) => 0.05 + 0.03 * day(t), slow: () => 0 }),
    ...service(GO, 'go', 72, { heap: (t) => 200 + 80 * day(t), rss: (t) => 230 + 80 * day(t), tasks: (t) => 300 + 120 * day(t), gc: (t) => 0.04 + 0.02 * day(t) }),
  ];
  // rules evaluated every 5 minutes here (three days of 1-minute evaluations take promtool a minute)
  write('daily-cycle.yml', 'a daily traffic cycle: quiet once a day of history is there', series, checks(range(25, 72, 1)), '5m');
}

// --- 6. A restart at 3h: the floors drop and warm up again, counters reset.
{
  const start = (t) => (t >= 3 ? 10800 : 0);
  const since = (t) => (t >= 3 ? t - 3 : t + 10);
  const back = (t) => 1 - 0.6 * Math.exp(-since(t) / (1 / 6));
  const early = (t) => since(t) < 1 / 6;
  const series = [
    ...service(NODE, 'node', 6, { start, heap: (t) => 150 * back(t), rss: (t) => 80 + 150 * back(t), tasks: (t) => 120 * back(t), gc: (t) => (early(t) ? 0.3 : 0.03), slow: (t) => (early(t) ? 0.05 : 0) }),
    ...service(GO, 'go', 6, { start, heap: (t) => 100 * back(t), rss: (t) => 40 + 100 * back(t), tasks: (t) => 200 * back(t), gc: (t) => (early(t) ? 0.3 : 0.03) }),
  ];
  write('restart.yml', 'a restart: quiet', series, checks(range(2, 6, 0.25)));
}
