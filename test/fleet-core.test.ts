import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseFileSd } from '../src/formats/file-sd.js';
import { analyzeFleet, type FleetTargetInput } from '../src/core/fleet.js';
import { analyzeLeaks, type Observation } from '../src/core/leak/analyze.js';
import type { ProfileSummary, SiteInfo } from '../src/core/leak/summary.js';
import { renderFleetText, renderFleetMarkdown, fleetReportJson, renderFleetLive } from '../src/report/fleet.js';
import { targetFromAddress, withPort } from '../src/cli/fleet.js';
import { LeakscopeError } from '../src/core/errors.js';

test('file_sd: JSON and the YAML people write for it read the same', () => {
  const json = '[{"targets": ["10.0.0.1:6060", "10.0.0.2:6060"], "labels": {"job": "api", "env": "prod"}}, {"targets": ["w1:9000"]}]';
  const yaml = `# api instances
---
- targets:
    - 10.0.0.1:6060
    - '10.0.0.2:6060'   # the second
  labels:
    job: api
    env: "prod"
- targets: [w1:9000]
`;
  const flow = `- {targets: ["10.0.0.1:6060", 10.0.0.2:6060], labels: {job: api, env: prod}}
- targets:
  - w1:9000
  labels: {}
`;
  const want = [
    { targets: ['10.0.0.1:6060', '10.0.0.2:6060'], labels: { job: 'api', env: 'prod' } },
    { targets: ['w1:9000'], labels: {} },
  ];
  assert.deepEqual(parseFileSd(json, 'a.json'), want);
  assert.deepEqual(parseFileSd(yaml, 'a.yml'), want);
  assert.deepEqual(parseFileSd(flow, 'b.yml'), want);
  // a YAML flow list that is not JSON (unquoted strings)
  assert.deepEqual(parseFileSd('[{targets: [h:1], labels: {job: x}}]', 'c.yml'), [{ targets: ['h:1'], labels: { job: 'x' } }]);
});

test('file_sd: every fault is one E_USAGE line naming the file and, for YAML, the line', () => {
  const bad: [string, RegExp][] = [
    ['', /empty target file/],
    ['{"targets": ["a:1"]}', /is a list of \{targets, labels\} groups, got a map/],
    ['[{"targets": "a:1"}]', /group 1: "targets" must be a list/],
    ['[{"targets": ["a:1"], "lables": {}}]', /unknown key "lables"/],
    ['[{"targets": ["a:1"], "labels": {"bad-name": "x"}}]', /"bad-name" is not a valid label name/],
    ['[{"targets": [1]}]', /every target must be a host:port string, got number 1/],
    ['[{"targets": ["a:1"],}', /not valid JSON/],
    ['- targets:\n    - a:1\n   labels: {}\n', /f:3: unexpected indentation|f:3/],
    ['- targets: [a:1\n', /f:1: a flow list "\[" is not closed/],
    ['- targets: &x [a:1]\n', /anchors and aliases are not supported/],
    ['- targets:\n\t- a:1\n', /f:2: tabs are not allowed/],
    ['- targets: ["a:1]\n', /unterminated quoted string|not closed/],
    ['- targets: [a:1]\n  targets: [b:2]\n', /duplicate key "targets"/],
    ['just text\n', /expected "key: value"/],
    ['- targets: [a:1]\n---\n- targets: [b:1]\n', /only one YAML document/],
  ];
  for (const [text, re] of bad) {
    assert.throws(
      () => parseFileSd(text, 'f'),
      (e: unknown) => e instanceof LeakscopeError && e.code === 'E_USAGE' && re.test(e.message) && !e.message.includes('\n'),
      `${JSON.stringify(text)} → ${re}`,
    );
  }
});

test('targets: host:port, URLs, __scheme__; a bad address says why', () => {
  assert.deepEqual(targetFromAddress('10.0.0.1:6060', { job: 'api', __meta_x: 'y' }, ''), {
    id: '10.0.0.1:6060',
    url: 'http://10.0.0.1:6060/debug/pprof',
    job: 'api',
    labels: { job: 'api', instance: '10.0.0.1:6060' },
  });
  assert.equal(targetFromAddress('h:443', { __scheme__: 'https' }, '').url, 'https://h/debug/pprof');
  assert.equal(targetFromAddress('http://h:1/app/debug/pprof/', {}, 'j').url, 'http://h:1/app/debug/pprof');
  assert.equal(targetFromAddress('http://h:1/app/debug/pprof/', {}, 'j').job, 'j');
  assert.throws(() => targetFromAddress('h', {}, ''), /"h" has no port/);
  // --pprof-port: the pprof endpoints beside the scrape port; the id stays the instance
  assert.equal(withPort(targetFromAddress('10.0.0.1:9100', {}, '').url, 6060), 'http://10.0.0.1:6060/debug/pprof');
  assert.throws(() => targetFromAddress('http://[::1', {}, ''), /is not a host:port or URL/);
});

// --- ranking and grouping on analyses of synthetic series (the real analysis, synthetic profiles)

const catalog = new Map<string, SiteInfo>();
function site(name: string): SiteInfo {
  const key = `f\u0000${name}`;
  let s = catalog.get(key);
  if (!s) {
    s = { key, fnKey: key, level: 'function', name, file: 'app.js', line: 10, stack: [], origin: 'user' };
    catalog.set(key, s);
  }
  return s;
}

/** A heap series: `base` plus, per site, `rate` bytes per minute, one sample a minute. */
function series(rates: Record<string, number>, n = 12, base = 50e6): Observation[] {
  const obs: Observation[] = [];
  for (let i = 0; i < n; i++) {
    const values = new Map<string, number>();
    let total = base;
    values.set(site('steady').key, base);
    for (const [name, rate] of Object.entries(rates)) {
      const v = rate * i + 1000;
      values.set(site(name).key, v);
      total += v;
    }
    const summary: ProfileSummary = { kind: 'heap', unit: 'bytes', total, objectsTotal: NaN, cumulative: NaN, profileTimeMs: NaN, values, objects: undefined, sites: catalog, runtime: 'node' };
    obs.push({ kind: 'heap', timeMs: 1_700_000_000_000 + i * 60000, summary });
  }
  return obs;
}

function target(id: string, job: string, rates: Record<string, number> | undefined, extra: Partial<FleetTargetInput> = {}): FleetTargetInput {
  const analysis = rates ? analyzeLeaks(series(rates)) : undefined;
  return { id, url: `http://${id}/debug/pprof`, job, labels: { job, instance: id }, ...(analysis ? { analysis } : {}), samples: rates ? 12 : 0, gaps: rates ? 0 : 12, ...extra };
}

test('fleet: leaking targets first (confidence, then growth), shared suspects grouped per job, unreachable last', () => {
  const inputs = [
    target('api-3:1', 'api', {}),
    target('api-1:1', 'api', { createSession: 3e6 }),
    target('api-2:1', 'api', { createSession: 2e6 }),
    target('api-4:1', 'api', { createSession: 4e6, cacheFill: 2e6 }),
    target('api-5:1', 'api', undefined, { lastError: 'http://api-5:1/debug/pprof/heap: cannot connect (ECONNREFUSED)' }),
    target('worker-1:1', 'worker', { createSession: 9e6 }),
    target('worker-2:1', 'worker', {}),
  ];
  const a = analyzeFleet(inputs);
  assert.deepEqual(
    a.targets.map((t) => [t.id, t.status]),
    [
      ['worker-1:1', 'leak'],
      ['api-4:1', 'leak'],
      ['api-1:1', 'leak'],
      ['api-2:1', 'leak'],
      ['api-3:1', 'ok'],
      ['worker-2:1', 'ok'],
      ['api-5:1', 'unreachable'],
    ],
  );
  assert.deepEqual(a.counts, { targets: 7, leaking: 4, ok: 2, noVerdict: 0, unreachable: 1 });
  // one finding: createSession in 3 of the 4 api instances that gave a verdict (worker-1's is alone)
  assert.equal(a.findings.length, 1);
  const f = a.findings[0]!;
  assert.equal(f.job, 'api');
  assert.equal(f.name, 'createSession');
  assert.deepEqual(f.members.map((m) => m.id), ['api-1:1', 'api-2:1', 'api-4:1']);
  assert.equal(f.of, 4);
  assert.equal(f.without, 1);
  assert.ok(Math.abs(f.medianGrowthPerMinute - 3e6) < 0.05e6, String(f.medianGrowthPerMinute));

  const meta = { fleetDir: '/runs/fleet', durationMs: 660000, intervalMs: 60000 };
  const text = renderFleetText(a, meta);
  assert.equal(text, `leakscope fleet: 7 targets over 11m00s, every 1m00s, sensitivity normal
  4 leaking, 2 without a leak, 1 unreachable
  fleet directory: /runs/fleet

Findings (the same suspect in several instances of a job):
  1. 3 of 4 api instances: heap createSession at app.js:10  +2.86MB/min (median of 3; 1.91MB to 3.81MB/min)
       api-1:1, api-2:1, api-4:1
       (1 other api instance unreachable or without a verdict)

Targets, most likely leaking first:
1. LEAK  worker-1:1  job=worker  12 samples
         heap 47.68MB → 142.10MB (+9.0%/min)
         heap      createSession at app.js:10  +8.58MB/min, confidence 1.000
2. LEAK  api-4:1  job=api  12 samples
         heap 47.69MB → 110.63MB (+7.2%/min)
         heap      createSession at app.js:10  +3.81MB/min, confidence 1.000
         heap      cacheFill at app.js:10  +1.91MB/min, confidence 1.000
3. LEAK  api-1:1  job=api  12 samples
         heap 47.68MB → 79.16MB (+4.5%/min)
         heap      createSession at app.js:10  +2.86MB/min, confidence 1.000
4. LEAK  api-2:1  job=api  12 samples
         heap 47.68MB → 68.67MB (+3.3%/min)
         heap      createSession at app.js:10  +1.91MB/min, confidence 1.000
5. ok    api-3:1  job=api  12 samples
         heap 47.68MB → 47.68MB
6. ok    worker-2:1  job=worker  12 samples
         heap 47.68MB → 47.68MB
7. DOWN  api-5:1  job=api  0 samples, 12 failed polls
         never answered with a profile: http://api-5:1/debug/pprof/heap: cannot connect (ECONNREFUSED)

Could not be reached (1):
  - api-5:1 (api): http://api-5:1/debug/pprof/heap: cannot connect (ECONNREFUSED)
`);
  assert.equal(renderFleetMarkdown(a, meta), `### leakscope fleet: 4 of 7 targets leaking

4 leaking, 2 without a leak, 1 unreachable; watched for 11m00s. Fleet directory: \`/runs/fleet\`.

| # | job | instances | kind | function | location | growth/min (median) |
|---|---|---|---|---|---|---|
| 1 | api | 3 of 4 | heap | \`createSession\` | \`app.js:10\` | +2.86MB/min |

| rank | status | target | job | samples | heap | top suspect |
|---|---|---|---|---|---|---|
| 1 | LEAK | \`worker-1:1\` | worker | 12 | heap 47.68MB → 142.10MB (+9.0%/min) | \`createSession\` +8.58MB/min |
| 2 | LEAK | \`api-4:1\` | api | 12 | heap 47.69MB → 110.63MB (+7.2%/min) | \`createSession\` +3.81MB/min |
| 3 | LEAK | \`api-1:1\` | api | 12 | heap 47.68MB → 79.16MB (+4.5%/min) | \`createSession\` +2.86MB/min |
| 4 | LEAK | \`api-2:1\` | api | 12 | heap 47.68MB → 68.67MB (+3.3%/min) | \`createSession\` +1.91MB/min |
| 5 | ok | \`api-3:1\` | api | 12 | heap 47.68MB → 47.68MB |  |
| 6 | ok | \`worker-2:1\` | worker | 12 | heap 47.68MB → 47.68MB |  |
| 7 | DOWN | \`api-5:1\` | api | 0 |  | http://api-5:1/debug/pprof/heap: cannot connect (ECONNREFUSED) |
`);
  const j = fleetReportJson(a, meta);
  assert.equal(j.findings[0]!.instances, 3);
  assert.equal(j.targets[0]!.report!.suspects[0]!.name, 'createSession');
  assert.equal(j.targets[6]!.report, null);
  const liveText = renderFleetLive({ fleetDir: '/runs/fleet', elapsedMs: 5000, rows: a.targets.map((target) => ({ target })), findings: a.findings, columns: 120 });
  const rows = liveText.split('\n').filter((l) => /^  (LEAK|ok  |wait|DOWN) /.test(l));
  assert.equal(rows.length, 7, liveText);
  assert.match(rows[0]!, /LEAK worker-1:1 +worker +12 +142\.10MB .* createSession \+8\.58MB\/min/);
  assert.match(rows[6]!, /DOWN api-5:1 .* cannot connect/);
});
