/**
 * `watch` over 20 local targets for a bounded time: Go example services (8, five under load),
 * Node programs with the agent (8 workers, five leaking; one joins the target file late, one
 * leaves it), one Node service that leaks and restarts, and three that never give a profile (a
 * server that never answers, a web page, a closed port). Checks the ranking, the grouping of
 * the suspects the instances of a job share, the appearing and vanishing targets, and that
 * `analyze FLEET_DIR` gives the same report offline. Without go the Go part is skipped (said).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliPath } from './helpers/paths.js';
import { buildGoService, closedPort, drive, startGo, startHtml, startNode, startSilent, type Service } from './helpers/fleet-services.js';
import type { FleetJson } from '../src/report/fleet.js';

function runCli(args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cliPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}

function yamlGroups(groups: { job: string; targets: string[] }[]): string {
  return groups.map((g) => `- targets:\n${g.targets.map((t) => `    - ${t}`).join('\n')}\n  labels:\n    job: ${g.job}\n    env: test\n`).join('');
}

test('watch --targets: 20 local targets ranked, shared suspects grouped, restarts, late and vanished targets, unreachable ones listed', { timeout: 150000 }, async (t) => {
  const work = mkdtempSync(join(tmpdir(), 'leakscope-fleet-'));
  const services: Service[] = [];
  const closers: (() => void)[] = [];
  let stopping = false;
  try {
    let goBin: string | undefined;
    try {
      goBin = buildGoService();
    } catch (e) {
      assert.fail(String(e));
    }
    if (!goBin) t.diagnostic('go is not on the PATH: the 8 Go targets are left out (the Node, restarting and failing targets still run)');
    // --- the Go job: 8 instances, 5 under load
    const api: string[] = [];
    const apiLeaking: string[] = [];
    if (goBin) {
      const gos = await Promise.all(Array.from({ length: 8 }, () => startGo(goBin!)));
      services.push(...gos);
      gos.forEach((g, i) => {
        api.push(g.addr);
        if (i < 5) {
          apiLeaking.push(g.addr);
          closers.push(drive(g.url, 40));
        }
      });
    }
    // --- the Node job: 8 workers, 5 leaking; worker 8 joins late, worker 7 leaves
    const workers = await Promise.all(Array.from({ length: 8 }, (_, i) => startNode(i < 5 ? { LEAK: '1', TICK_MS: '25' } : { TICK_MS: '25' })));
    services.push(...workers);
    const worker = workers.map((w) => w.addr);
    const workerLeaking = worker.slice(0, 5);
    // --- one service that leaks and restarts (on the same port) 10 s in
    let batch = await startNode({ LEAK: '1', TICK_MS: '20', EXIT_AFTER: '10000' });
    const batchAddr = batch.addr;
    const batchPort = Number(batchAddr.split(':')[1]);
    let restarted = false;
    // back within 0.3 s, often between two polls: the process start the agent writes into each
    // profile is what tells this restart (a heap sampler has no cumulative counter)
    batch.child.on('exit', () => {
      if (stopping) return;
      setTimeout(() => {
        if (stopping) return;
        void startNode({ LEAK: '1', TICK_MS: '20' }, batchPort).then((b) => {
          restarted = true;
          batch = b;
          services.push(b);
        });
      }, 300);
    });
    services.push(batch);
    // --- three that never give a profile
    const silent = await startSilent();
    const html = await startHtml();
    const closed = await closedPort();
    closers.push(silent.close, html.close);

    const file = join(work, 'targets.yml');
    const groups = (late: boolean, gone: boolean) => [
      ...(api.length > 0 ? [{ job: 'api', targets: api }] : []),
      { job: 'worker', targets: worker.filter((w, i) => (late || i !== 7) && (!gone || i !== 6)) },
      { job: 'batch', targets: [batchAddr] },
      { job: 'edge', targets: [silent.addr, html.addr, closed] },
    ];
    writeFileSync(file, yamlGroups(groups(false, false)));
    const total = api.length + worker.length + 1 + 3;
    assert.equal(total, goBin ? 20 : 12);
    setTimeout(() => writeFileSync(file, yamlGroups(groups(true, false))), 6000).unref();
    setTimeout(() => writeFileSync(file, yamlGroups(groups(true, true))), 22000).unref();

    const out = join(work, 'fleet');
    const started = Date.now();
    const r = await runCli(['watch', '--targets', file, '--interval', '1s', '--duration', '36s', '--timeout', '3s', '--json', '-o', out], 120000);
    const took = Date.now() - started;
    for (const c of closers) c();
    assert.equal(r.code, 0, r.stderr);
    assert.ok(took < 60000, `watch took ${took} ms`);
    const j = JSON.parse(r.stdout) as FleetJson;
    t.diagnostic(`ranking: ${j.targets.map((x) => `${x.rank}.${x.id}(${x.job},${x.status},${x.samples})`).join(' ')}`);
    t.diagnostic(`findings: ${j.findings.map((f) => `${f.job}:${f.name} ${f.instances}/${f.of}`).join('; ')}`);
    assert.equal(j.targets.length, total);
    assert.ok(restarted, 'the batch service was restarted');

    const status = new Map(j.targets.map((x) => [x.id, x]));
    const leaking = [...apiLeaking, ...workerLeaking, batchAddr];
    const quiet = [...api.filter((a) => !apiLeaking.includes(a)), ...worker.slice(5)];
    const down = [silent.addr, html.addr, closed];
    for (const id of leaking) assert.equal(status.get(id)?.status, 'leak', `${id} leaks`);
    for (const id of quiet) assert.equal(status.get(id)?.status, 'ok', `${id} does not leak`);
    for (const id of down) assert.equal(status.get(id)?.status, 'unreachable', `${id} never gave a profile`);
    // the ranking: every leaking target above every other, the unreachable ones last
    assert.deepEqual(new Set(j.targets.slice(0, leaking.length).map((x) => x.id)), new Set(leaking));
    assert.deepEqual(new Set(j.targets.slice(-3).map((x) => x.id)), new Set(down));
    // each failing target's one line says why
    assert.match(status.get(silent.addr)!.lastError!, /no answer within 3s/);
    assert.match(status.get(html.addr)!.lastError!, /not a|profile/i);
    assert.match(status.get(closed)!.lastError!, /cannot connect \(ECONNREFUSED\)/);
    // the rest of the fleet kept being watched at the interval
    for (const id of [...leaking, ...quiet].filter((x) => x !== worker[7] && x !== worker[6])) assert.ok(status.get(id)!.samples >= 20, `${id}: ${status.get(id)!.samples} samples`);
    // the restart began a new segment, and the leak was judged on the latest one
    assert.ok(status.get(batchAddr)!.restarts >= 1, 'batch restart seen');
    // worker 8 joined late, worker 7 left: both judged on what they gave
    assert.ok(status.get(worker[7]!)!.samples >= 15 && status.get(worker[7]!)!.samples <= 32, `late worker: ${status.get(worker[7]!)!.samples}`);
    assert.equal(status.get(worker[6]!)!.vanished, true);
    assert.ok(status.get(worker[6]!)!.samples >= 12 && status.get(worker[6]!)!.samples <= 24, `vanished worker: ${status.get(worker[6]!)!.samples}`);

    // grouping: the leak the leaking workers share is one finding, "5 of 8 worker instances"
    const wf = j.findings.find((f) => f.job === 'worker' && f.name === 'createSession');
    assert.ok(wf, 'worker finding');
    assert.deepEqual(new Set(wf.members.map((m) => m.id)), new Set(workerLeaking));
    assert.equal(wf.of, 8);
    assert.ok(!j.findings.some((f) => f.job === 'worker' && f.members.some((m) => !workerLeaking.includes(m.id))), 'no steady worker in a finding');
    if (goBin) {
      const af = j.findings.filter((f) => f.job === 'api');
      assert.ok(af.length > 0, 'api findings');
      assert.deepEqual(new Set(af[0]!.members.map((m) => m.id)), new Set(apiLeaking));
      assert.equal(af[0]!.of, 8);
      assert.ok(af.some((f) => f.name === 'main.createSession' || /ticker|notifyUpstream|subscribe/i.test(f.name)), af.map((f) => f.name).join(', '));
    }

    // the fleet directory: one run directory per target, each readable alone
    const fleet = JSON.parse(readFileSync(join(out, 'fleet.json'), 'utf8')) as { targets: { id: string; dir: string; vanishedAt?: string }[] };
    assert.equal(fleet.targets.length, total);
    for (const ft of fleet.targets) {
      assert.ok(existsSync(join(out, ft.dir, 'index.jsonl')), ft.dir);
      for (const line of readFileSync(join(out, ft.dir, 'index.jsonl'), 'utf8').split('\n').filter(Boolean)) {
        const e = JSON.parse(line) as { file?: string };
        if (e.file) assert.ok(existsSync(join(out, ft.dir, e.file)), `${ft.dir}/${e.file} saved`);
      }
    }
    assert.ok(!readdirSync(join(out, fleet.targets[0]!.dir)).some((n) => n.includes('.tmp-')), 'no temp file left');

    // analyze FLEET_DIR: the same report, offline
    const a = await runCli(['analyze', out, '--json'], 60000);
    assert.equal(a.code, 0, a.stderr);
    const offline = JSON.parse(a.stdout) as FleetJson;
    assert.deepEqual({ ...offline, notes: [] }, { ...j, notes: [] });
    const text = await runCli(['analyze', out, '--fail-on-leak'], 60000);
    assert.equal(text.code, 3);
    assert.match(text.stdout, new RegExp(`\\d+\\. 5 of 8 worker instances: heap createSession at \\S*fleet-node\\.mjs:\\d+  \\+[\\d.]+[kM]B/min`));
    assert.match(text.stdout, /Could not be reached \(3\):/);
  } finally {
    stopping = true;
    for (const c of closers) c();
    for (const s of services) s.stop();
    if (process.env.LEAKSCOPE_KEEP_TEST) t.diagnostic(`kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
});
