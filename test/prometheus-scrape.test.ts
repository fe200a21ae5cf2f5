/**
 * The real Prometheus server (Debian's `prometheus`) scrapes three Node services with the agent
 * every second and evaluates the shipped rules (prometheus/leakscope-rules.yml) with every duration
 * scaled by 1/240 (an hour is 15 s). Checks through Prometheus' HTTP API: every agent is `up`, and
 * the sustained-growth rule selects the leaking service and never the other two.
 * Skips with a message when `prometheus` is not installed.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { SKIP_NO_PROMETHEUS, type Service, freePort, hasPrometheus, killChildren, repoRoot, scaleDurations, sleep, startService } from './helpers/prom-tools.js';

const SCALE = 1 / 240;
const program = join(repoRoot, 'test/programs/prom-service.mjs');
const tmp = mkdtempSync(join(tmpdir(), 'leakscope-prom-'));
let prom: ChildProcess | undefined;
after(() => {
  if (prom && prom.exitCode === null) prom.kill('SIGKILL');
  killChildren();
  rmSync(tmp, { recursive: true, force: true });
});

interface Vector {
  metric: Record<string, string>;
  value: [number, string];
}

async function query(base: string, q: string): Promise<Vector[]> {
  const r = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(q)}`, { signal: AbortSignal.timeout(10_000) });
  const body = (await r.json()) as { status: string; data?: { resultType: string; result: Vector[] }; error?: string };
  assert.equal(body.status, 'success', `${q}: ${body.error}`);
  return body.data!.result;
}

async function startPrometheus(config: string): Promise<{ base: string; log: () => string }> {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const p = spawn('prometheus', [`--config.file=${config}`, `--storage.tsdb.path=${join(tmp, `data${attempt}`)}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    p.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    const base = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && p.exitCode === null) {
      try {
        const r = await fetch(`${base}/-/ready`, { signal: AbortSignal.timeout(1000) });
        if (r.status === 200) {
          prom = p;
          return { base, log: () => log };
        }
      } catch {
        // not listening yet
      }
      await sleep(200);
    }
    p.kill('SIGKILL');
    // another process took the port between freePort() and Prometheus' bind: try another
    if (attempt >= 2 || !/address already in use/.test(log)) throw new Error(`prometheus did not start: ${log.slice(-2000)}`);
  }
}

test('real Prometheus scrapes three agents; the growth rule selects only the leaking one', { timeout: 120_000 }, async (t) => {
  if (!hasPrometheus()) return t.skip(SKIP_NO_PROMETHEUS);
  const services: Service[] = await Promise.all([
    startService({ program, env: { LEAK_KB: '64' } }),
    startService({ program }),
    startService({ program }),
  ]);
  const target = (s: Service) => new URL(s.agent).host;
  const leaker = target(services[0]!);
  // Durations scaled by 1/240; V8's garbage collection is not: between two major GCs (tens of
  // seconds apart in these small services) the heap left after minor GCs drifts up by a few MB,
  // which at this scale is "an hour". The least growth that counts is raised from 1 MiB to 8 MiB
  // per window to stay above that drift; the leaking service keeps about 19 MiB per window.
  const shipped = readFileSync(join(repoRoot, 'prometheus/leakscope-rules.yml'), 'utf8');
  const least = 'offset 1h) > 1048576';
  assert.equal(shipped.split(least).length - 1, 2, 'the heap and RSS growth rules each have a least growth of 1 MiB an hour');
  const rules = scaleDurations(shipped.replaceAll(least, 'offset 1h) > 8388608'), SCALE);
  writeFileSync(join(tmp, 'rules.yml'), rules);
  const config = join(tmp, 'prometheus.yml');
  writeFileSync(
    config,
    [
      'global:',
      '  scrape_interval: 1s',
      '  scrape_timeout: 900ms',
      '  evaluation_interval: 1s',
      'rule_files:',
      `  - ${join(tmp, 'rules.yml')}`,
      'scrape_configs:',
      '  - job_name: node',
      '    metrics_path: /debug/pprof/metrics',
      '    static_configs:',
      `      - targets: [${services.map((s) => `'${target(s)}'`).join(', ')}]`,
      '',
    ].join('\n'),
  );
  const { base, log } = await startPrometheus(config);

  const seen = new Map<string, Set<string>>();
  const note = (what: string, v: Vector[]) => {
    const s = seen.get(what) ?? new Set<string>();
    for (const x of v) s.add(x.metric.instance!);
    seen.set(what, s);
  };
  let ups: Vector[] = [];
  let firing: Vector[] = [];
  const deadline = Date.now() + 75_000;
  while (Date.now() < deadline) {
    await sleep(1000);
    ups = await query(base, 'up{job="node"}');
    note('growth', await query(base, 'leakscope:heap_growth_bytes:1h'));
    const alerts = await query(base, 'ALERTS{alertname="LeakscopeHeapGrowing"}');
    note('alert', alerts);
    firing = alerts.filter((a) => a.metric.alertstate === 'firing');
    if (firing.length > 0 && ups.length === 3) break;
  }
  const targets = await (await fetch(`${base}/api/v1/targets`)).json();
  assert.equal(ups.length, 3, `up series: ${JSON.stringify(ups)}\n${JSON.stringify(targets).slice(0, 2000)}\n${log()}`);
  for (const u of ups) assert.equal(u.value[1], '1', `${u.metric.instance} is not up: ${JSON.stringify(targets).slice(0, 2000)}`);
  assert.deepEqual(
    firing.map((a) => a.metric.instance),
    [leaker],
    `LeakscopeHeapGrowing fires for the leaking service ${leaker} only; seen: ${JSON.stringify([...seen].map(([k, v]) => [k, [...v]]))}`,
  );
  assert.deepEqual([...(seen.get('growth') ?? [])], [leaker], 'the growth recording rule never selected a service that does not leak');
  assert.deepEqual([...(seen.get('alert') ?? [])], [leaker], 'no alert, even pending, for a service that does not leak');
  assert.equal(firing[0]!.metric.severity, 'warning');
  assert.equal(firing[0]!.metric.runtime, 'node');
});
