/**
 * The shipped Prometheus rules (prometheus/leakscope-rules.yml): `promtool check rules` passes,
 * and `promtool test rules` passes on the unit tests in prometheus/tests/, which show every alert
 * firing on a synthetic leak and quiet on a warming cache, a daily cycle and a restart. The test
 * YAML is what prometheus/tests/make-tests.mjs writes (checked here, so the two cannot drift).
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { SKIP_NO_PROMTOOL, hasPromtool, repoRoot, runPromtool } from './helpers/prom-tools.js';

const dir = join(repoRoot, 'prometheus');
const rulesFile = join(dir, 'leakscope-rules.yml');
const testsDir = join(dir, 'tests');
const tmp = mkdtempSync(join(tmpdir(), 'leakscope-rules-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const testFiles = readdirSync(testsDir).filter((f) => f.endsWith('.yml')).sort();

function alertsOf(text: string): { name: string; body: string }[] {
  const parts = text.split(/\n\s+- alert: /).slice(1);
  return parts.map((p) => ({ name: p.split('\n')[0]!.trim(), body: p }));
}

describe('prometheus/leakscope-rules.yml', () => {
  test('every alert has a severity, a summary and a runbook line naming a leakscope command', () => {
    const alerts = alertsOf(readFileSync(rulesFile, 'utf8'));
    assert.ok(alerts.length >= 8, `alerts: ${alerts.map((a) => a.name).join(', ')}`);
    for (const a of alerts) {
      assert.match(a.body, /\n\s+severity: (critical|warning|info)\n/, `${a.name}: severity`);
      assert.match(a.body, /\n\s+summary: '.+'\n/, `${a.name}: summary`);
      assert.match(a.body, /\n\s+runbook: '.*leakscope (watch|top|snapshot|diff) .+'/, `${a.name}: runbook`);
    }
  });

  test('the unit-test YAML is what make-tests.mjs writes', () => {
    const r = spawnSync(process.execPath, [join(testsDir, 'make-tests.mjs'), tmp], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const made = readdirSync(tmp).filter((f) => f.endsWith('.yml')).sort();
    assert.deepEqual(made, testFiles);
    for (const f of made) assert.equal(readFileSync(join(tmp, f), 'utf8'), readFileSync(join(testsDir, f), 'utf8'), `${f} differs from make-tests.mjs' output: run node prometheus/tests/make-tests.mjs`);
  });

  test('every alert fires in some scenario and each scenario checks every alert', () => {
    const names = alertsOf(readFileSync(rulesFile, 'utf8')).map((a) => a.name);
    const fired = new Set<string>();
    for (const f of testFiles) {
      const text = readFileSync(join(testsDir, f), 'utf8');
      for (const n of names) assert.ok(text.includes(`alertname: "${n}"`), `${f} does not check ${n}`);
      for (const m of text.matchAll(/alertname: "(\w+)"\n\s+severity/g)) fired.add(m[1]!);
    }
    assert.deepEqual([...fired].sort(), [...names].sort(), 'alerts expected to fire somewhere');
  });

  test("README's prometheus.yml passes promtool check config", (t) => {
    if (!hasPromtool()) return t.skip(SKIP_NO_PROMTOOL);
    const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
    const at = readme.indexOf('### Prometheus: metrics and alerts on leaks');
    assert.ok(at >= 0, 'README has the Prometheus section');
    const block = /```yaml\n([\s\S]*?)```/.exec(readme.slice(at));
    assert.ok(block, 'the section has a yaml block');
    // the paths it names, pointed at this repository's rules and a token file
    const token = join(tmp, 'leakscope-token');
    writeFileSync(token, 'secret\n');
    const config = block[1]!.replace('/etc/prometheus/leakscope-rules.yml', rulesFile).replace('/etc/prometheus/leakscope-token', token);
    assert.notEqual(config, block[1]);
    const file = join(tmp, 'prometheus.yml');
    writeFileSync(file, config);
    const r = runPromtool(['check', 'config', file]);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /SUCCESS: \d+ rules found/);
  });

  test('promtool check rules', (t) => {
    if (!hasPromtool()) return t.skip(SKIP_NO_PROMTOOL);
    const r = runPromtool(['check', 'rules', rulesFile]);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /SUCCESS: \d+ rules found/);
  });

  test('promtool test rules: leak, near the limits and a burst fire; warming cache, daily cycle, restart stay quiet', async (t) => {
    if (!hasPromtool()) return t.skip(SKIP_NO_PROMTOOL);
    // one promtool per file, two at a time (the daily cycle alone is three days of samples)
    const results: { file: string; code: number; out: string }[] = [];
    const queue = [...testFiles];
    const worker = async () => {
      for (let f = queue.shift(); f; f = queue.shift()) {
        const file = f;
        results.push(
          await new Promise((resolve) => {
            execFile('nice', ['promtool', 'test', 'rules', file], { cwd: testsDir, timeout: 120_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
              resolve({ file, code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr });
            });
          }),
        );
      }
    };
    await Promise.all([worker(), worker()]);
    for (const r of results) assert.equal(r.code, 0, `promtool test rules ${r.file}:\n${r.out.slice(0, 4000)}`);
    assert.equal(results.length, testFiles.length);
  });
});
