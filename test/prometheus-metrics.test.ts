/**
 * The agent's `metrics` endpoint as Prometheus reads it: a live agent's answer passes
 * `promtool check metrics` except for prom-client's own three `_total` gauges (kept: dashboards
 * query them by name), and the series leakscope's rules use are there with the right types.
 * Runs on Node 20, 22 and 24 (the Metrics class runs in the host's main thread).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import { NODE22, NODE24, SKIP_NO_PROMTOOL, fetchText, hasPromtool, killChildren, runPromtool, sleep, startService } from './helpers/prom-tools.js';

after(killChildren);

/** prom-client's default gauges whose names end in `_total`: promtool flags them, dashboards rely on them */
const PROM_CLIENT_TOTAL_GAUGES = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

interface Family {
  type: string;
  samples: { name: string; labels: string; value: number }[];
}

function parse(text: string): Map<string, Family> {
  const fams = new Map<string, Family>();
  for (const line of text.split('\n')) {
    const t = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (t) {
      fams.set(t[1]!, { type: t[2]!, samples: [] });
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    assert.ok(m, `not a sample line: ${line}`);
    const base = [...fams.keys()].filter((f) => m[1] === f || m[1]!.startsWith(`${f}_`)).sort((a, b) => b.length - a.length)[0];
    assert.ok(base, `sample without a TYPE line: ${line}`);
    fams.get(base)!.samples.push({ name: m[1]!, labels: m[2] ?? '', value: Number(m[3]) });
  }
  return fams;
}

function bucket(f: Family, le: string): number {
  const s = f.samples.find((x) => x.name.endsWith('_bucket') && x.labels === `{le="${le}"}`);
  assert.ok(s, `no bucket le=${le}`);
  return s.value;
}

async function check(node: string | undefined): Promise<void> {
  const svc = await startService({ node });
  const base = `http://127.0.0.1:${svc.port}`;
  // the first scrape starts the collectors; then garbage, a blocked loop of 300 ms, a second scrape
  assert.equal((await fetchText(`${svc.agent}metrics`)).status, 200);
  for (let i = 0; i < 20; i++) await fetchText(`${base}/json`);
  await fetchText(`${base}/leak?n=20`);
  await fetchText(`${base}/block?ms=300`);
  await sleep(1500);
  const r = await fetchText(`${svc.agent}metrics`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);

  const fams = parse(r.text);
  // prom-client's default names stay
  for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_heap_space_size_used_bytes', 'nodejs_eventloop_lag_p99_seconds', 'nodejs_active_resources', ...PROM_CLIENT_TOTAL_GAUGES]) {
    assert.ok(fams.has(name), `missing ${name}`);
  }
  assert.equal(fams.get('process_cpu_seconds_total')!.type, 'counter');
  // GC pauses by kind, every kind present from the start
  const gc = fams.get('nodejs_gc_duration_seconds');
  assert.equal(gc?.type, 'histogram');
  for (const kind of ['major', 'minor', 'incremental', 'weakcb']) {
    assert.ok(gc.samples.some((s) => s.name === 'nodejs_gc_duration_seconds_count' && s.labels === `{kind="${kind}"}`), `no GC series for kind ${kind}`);
  }
  const gcCount = gc.samples.filter((s) => s.name.endsWith('_count')).reduce((a, s) => a + s.value, 0);
  assert.ok(gcCount > 0, 'garbage was collected and counted');
  // event-loop delay histogram: about 100 samples a second, and the 300 ms block is one of them
  const d = fams.get('nodejs_eventloop_delay_seconds');
  assert.equal(d?.type, 'histogram');
  const total = bucket(d, '+Inf');
  assert.ok(total >= 50, `delay samples: ${total}`);
  assert.ok(bucket(d, '0.1') < total, 'the 300 ms block is above the 0.1 s bucket');
  assert.ok(bucket(d, '0.25') < total && bucket(d, '0.5') === total, `the 300 ms block lies between 0.25 and 0.5 s: ${bucket(d, '0.25')} ${bucket(d, '0.5')} ${total}`);
  let prev = 0;
  for (const s of d.samples.filter((x) => x.name.endsWith('_bucket'))) {
    assert.ok(s.value >= prev, 'cumulative buckets');
    prev = s.value;
  }
  const sum = d.samples.find((s) => s.name === 'nodejs_eventloop_delay_seconds_sum')!.value;
  assert.ok(sum >= 0.28 && sum < 3, `delay sum ${sum}`);
  const limit = fams.get('nodejs_heap_size_limit_bytes');
  assert.equal(limit?.type, 'gauge');
  assert.ok(limit.samples[0]!.value > 1e8);

  if (!hasPromtool()) return;
  // the filter below lets through only prom-client's three names: promtool does flag others
  const bad = runPromtool(['check', 'metrics'], '# HELP leakscope_x_total x\n# TYPE leakscope_x_total gauge\nleakscope_x_total 1\n');
  assert.match(bad.stdout + bad.stderr, /leakscope_x_total non-counter metrics should not have "_total" suffix/);
  const p = runPromtool(['check', 'metrics'], r.text);
  const problems = (p.stdout + p.stderr).split('\n').filter((l) => l.trim() !== '');
  const unexpected = problems.filter((l) => !PROM_CLIENT_TOTAL_GAUGES.some((n) => l.startsWith(`${n} non-counter metrics should not have "_total" suffix`)));
  assert.deepEqual(unexpected, [], `promtool check metrics:\n${problems.join('\n')}`);
  svc.proc.kill('SIGKILL');
}

describe('metrics endpoint follows Prometheus conventions', () => {
  test('Node 20: promtool check metrics; histograms of GC pauses by kind and event-loop delay', async (t) => {
    if (!hasPromtool()) t.diagnostic(SKIP_NO_PROMTOOL);
    await check(undefined);
  });
  test('Node 22', { skip: existsSync(NODE22) ? false : 'node22 binary not installed' }, async () => check(NODE22));
  test('Node 24', { skip: existsSync(NODE24) ? false : 'node24 binary not installed' }, async () => check(NODE24));
});
