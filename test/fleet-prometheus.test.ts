/**
 * `watch --prometheus URL --job NAME` against a real Prometheus (/usr/bin/prometheus): it scrapes
 * four Node services with the agent (job "node": two leaking, one steady; job "other": one) on a
 * 1 s interval; watch discovers the job's targets from Prometheus' /api/v1/targets, watches them
 * and not the other job's, ranks and groups them, and stops polling the target that leaves the job
 * when Prometheus' configuration is reloaded. Skips with a message without prometheus.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliPath } from './helpers/paths.js';
import { startNode, type Service } from './helpers/fleet-services.js';
import type { FleetJson } from '../src/report/fleet.js';

const hasPrometheus = spawnSync('prometheus', ['--version'], { encoding: 'utf8' }).status === 0;

function startPrometheus(config: string, data: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn('prometheus', [`--config.file=${config}`, `--storage.tsdb.path=${data}`, '--web.listen-address=127.0.0.1:0', '--log.level=info'], { stdio: ['ignore', 'ignore', 'pipe'] });
  return new Promise((resolve, reject) => {
    let log = '';
    const t = setTimeout(() => reject(new Error(`prometheus did not start in 30 s: ${log.slice(-2000)}`)), 30000);
    child.stderr!.on('data', (d) => {
      log += d;
      // the web listener logs its real address once bound (port 0 → a free one)
      const m = /msg="Listening on" address=(127\.0\.0\.1:\d+)/.exec(log);
      if (m) {
        clearTimeout(t);
        resolve({ child, url: `http://${m[1]}` });
      }
    });
    child.on('exit', (c) => {
      clearTimeout(t);
      reject(new Error(`prometheus exited (${c}): ${log.slice(-2000)}`));
    });
  });
}

test('watch --prometheus --job: the job\'s targets from a real Prometheus, watched, ranked and grouped', { timeout: 120000 }, async (t) => {
  if (!hasPrometheus) return t.skip('prometheus is not on the PATH: the Prometheus discovery test is skipped (CI installs it)');
  const work = mkdtempSync(join(tmpdir(), 'leakscope-fleet-prom-'));
  const services: Service[] = [];
  let prom: ChildProcess | undefined;
  try {
    const nodes = await Promise.all([startNode({ LEAK: '1', TICK_MS: '25' }), startNode({ LEAK: '1', TICK_MS: '25' }), startNode({ TICK_MS: '25' }), startNode({ TICK_MS: '25' })]);
    services.push(...nodes);
    const [leak1, leak2, steady, other] = nodes.map((n) => n.addr) as [string, string, string, string];
    const config = join(work, 'prometheus.yml');
    const promConfig = (withSteady: boolean) => `global:
  scrape_interval: 1s
  scrape_timeout: 900ms
scrape_configs:
  - job_name: node
    metrics_path: /debug/pprof/metrics
    static_configs:
      - targets: ['${leak1}', '${leak2}'${withSteady ? `, '${steady}'` : ''}]
        labels: {team: shop}
  - job_name: other
    metrics_path: /debug/pprof/metrics
    static_configs:
      - targets: ['${other}']
`;
    writeFileSync(config, promConfig(true));
    const p = await startPrometheus(config, join(work, 'data'));
    prom = p.child;
    // Prometheus scrapes the agents: wait until the job's three targets are up
    const deadline = Date.now() + 30000;
    for (;;) {
      const r = (await (await fetch(`${p.url}/api/v1/targets?state=active`)).json()) as { data: { activeTargets: { labels: { job: string }; health: string }[] } };
      const up = r.data.activeTargets.filter((x) => x.labels.job === 'node' && x.health === 'up').length;
      if (up === 3) break;
      if (Date.now() > deadline) assert.fail(`Prometheus has ${up} of 3 node targets up after 30 s`);
      await new Promise((res) => setTimeout(res, 500));
    }
    const out = join(work, 'fleet');
    // 12 s in, the steady target leaves the job (config reloaded on SIGHUP): watch stops polling it
    setTimeout(() => {
      writeFileSync(config, promConfig(false));
      prom?.kill('SIGHUP');
    }, 12000).unref();
    const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [cliPath, 'watch', '--prometheus', p.url, '--job', 'node', '--interval', '1s', '--duration', '25s', '--json', '-o', out], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      const timer = setTimeout(() => child.kill('SIGKILL'), 80000);
      child.on('exit', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout) as FleetJson;
    t.diagnostic(j.targets.map((x) => `${x.rank}. ${x.id} ${x.status} ${x.samples}`).join('; '));
    assert.deepEqual(j.targets.map((x) => x.id).sort(), [leak1, leak2, steady].sort(), 'the job\'s targets, not the other job\'s');
    for (const x of j.targets) {
      assert.equal(x.job, 'node');
      assert.equal(x.labels.team, 'shop', 'the target\'s labels come from Prometheus');
      assert.equal(x.url, `http://${x.id}/debug/pprof`);
      if (x.id === steady) {
        assert.equal(x.vanished, true, 'the steady target left the job');
        assert.ok(x.samples >= 8 && x.samples <= 20, `${x.id}: ${x.samples}`);
      } else assert.ok(x.samples >= 18, `${x.id}: ${x.samples}`);
    }
    assert.match(r.stderr, new RegExp(`${steady.replace(/\./g, '\\.')}: left the target list; its \\d+ samples stay in `));
    assert.deepEqual(new Set(j.targets.slice(0, 2).map((x) => x.id)), new Set([leak1, leak2]));
    assert.equal(j.targets[2]!.id, steady);
    assert.equal(j.targets[2]!.status, 'ok');
    const f = j.findings[0]!;
    assert.equal(f.name, 'createSession');
    assert.equal(f.instances, 2);
    assert.equal(f.of, 3);
  } finally {
    prom?.kill('SIGTERM');
    for (const s of services) s.stop();
    await new Promise((res) => setTimeout(res, 300));
    rmSync(work, { recursive: true, force: true });
  }
});
