/**
 * Bad input and faults over a fleet: an invalid file_sd (at the start, and during the run), bad
 * URLs in the list, a Prometheus that is down or answers an error (at the start, and during the
 * run), ten targets that time out together, a kill in the middle of the run. One clear line for
 * each; the rest of the fleet keeps being watched; nothing saved is lost. The good targets serve
 * recorded Go profiles (../shared fixtures).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliPath, fixturesDir, hasFixtures, SKIP_NO_FIXTURES } from './helpers/paths.js';
import { closedPort, startSilent } from './helpers/fleet-services.js';
import type { FleetJson } from '../src/report/fleet.js';

const profilesDir = join(fixturesDir, 'go', 'leakysvc', 'profiles');

/** A pprof server that serves the recorded phases 1→5, one step every `every` polls, then holds. */
async function recorded(every = 2): Promise<{ addr: string; server: Server }> {
  const n: Record<string, number> = { heap: 0, goroutine: 0 };
  const server = createServer((req, res) => {
    const m = /^\/debug\/pprof\/(heap|goroutine)(\?|$)/.exec(req.url ?? '');
    if (!m) return void res.writeHead(404).end('no such profile\n');
    const k = m[1]!;
    const step = Math.min(5, 1 + Math.floor(n[k]!++ / every));
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    res.end(readFileSync(join(profilesDir, `${k}.${step}.pb.gz`)));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { addr: `127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

function runCli(args: string[], opts: { timeoutMs?: number; onSpawn?: (kill: (sig: NodeJS.Signals) => void) => void } = {}): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cliPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60000);
    opts.onSpawn?.((sig) => child.kill(sig));
    child.on('exit', (code, signal) => {
      clearTimeout(t);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

const lines = (s: string) => s.split('\n').filter(Boolean);

test('fleet faults: invalid target files, bad URLs, Prometheus down or answering an error: one line, exit 2 or 1', async () => {
  const work = mkdtempSync(join(tmpdir(), 'leakscope-fleet-bad-'));
  try {
    const bad = join(work, 'bad.yml');
    writeFileSync(bad, '- targets:\n    - a:1\n   labels: {job: x}\n');
    let r = await runCli(['watch', '--targets', bad]);
    assert.equal(r.code, 2);
    assert.deepEqual(lines(r.stderr), [`leakscope watch: ${bad}:3: unexpected indentation`]);
    r = await runCli(['watch', '--targets', join(work, 'missing.json')]);
    assert.equal(r.code, 1);
    assert.deepEqual(lines(r.stderr), [`leakscope watch: ${join(work, 'missing.json')}: no such file`]);
    writeFileSync(bad, '[]');
    r = await runCli(['watch', '--targets', bad]);
    assert.equal(r.code, 2);
    assert.deepEqual(lines(r.stderr), ['leakscope watch: no target to watch (the target list is empty or every entry was bad)']);
    // Prometheus down
    const down = await closedPort();
    r = await runCli(['watch', '--prometheus', `http://${down}`, '--job', 'api']);
    assert.equal(r.code, 1);
    assert.deepEqual(lines(r.stderr), [`leakscope watch: Prometheus at http://${down}: cannot connect (ECONNREFUSED)`]);
    // Prometheus answering errors
    let answer: { status: number; body: string } = { status: 503, body: 'Service Unavailable' };
    const prom = createServer((_req, res) => res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body));
    await new Promise<void>((res) => prom.listen(0, '127.0.0.1', res));
    const promUrl = `http://127.0.0.1:${(prom.address() as AddressInfo).port}`;
    try {
      r = await runCli(['watch', '--prometheus', promUrl, '--job', 'api']);
      assert.equal(r.code, 1);
      assert.deepEqual(lines(r.stderr), [`leakscope watch: Prometheus at ${promUrl}: server answered 503 Service Unavailable: Service Unavailable`]);
      answer = { status: 200, body: '{"status":"error","errorType":"bad_data","error":"the query is bad"}' };
      r = await runCli(['watch', '--prometheus', promUrl, '--job', 'api']);
      assert.deepEqual(lines(r.stderr), [`leakscope watch: Prometheus at ${promUrl}: /api/v1/targets answered error: the query is bad`]);
      answer = { status: 200, body: '<html>not prometheus</html>' };
      r = await runCli(['watch', '--prometheus', promUrl, '--job', 'api']);
      assert.deepEqual(lines(r.stderr), [`leakscope watch: Prometheus at ${promUrl}: /api/v1/targets did not answer JSON (is this a Prometheus server?)`]);
      answer = { status: 200, body: JSON.stringify({ status: 'success', data: { activeTargets: [{ labels: { job: 'web', instance: 'a:1' }, scrapePool: 'web', scrapeUrl: 'http://a:1/metrics' }] } }) };
      r = await runCli(['watch', '--prometheus', promUrl, '--job', 'api']);
      assert.equal(r.code, 2);
      assert.deepEqual(lines(r.stderr), [`leakscope watch: Prometheus at ${promUrl} has no active targets of job "api" (its jobs: web)`]);
    } finally {
      prom.close();
    }
    r = await runCli(['watch', '--prometheus', 'http://127.0.0.1:9']);
    assert.deepEqual([r.code, lines(r.stderr)], [2, ['leakscope watch: --prometheus needs --job NAME (the job whose targets to watch)']]);
    r = await runCli(['watch', 'http://127.0.0.1:9', '--concurrency', '4']);
    assert.deepEqual([r.code, lines(r.stderr)], [2, ['leakscope watch: --concurrency is for many targets (--targets, --prometheus or several URLs)']]);
    r = await runCli(['watch', 'http://127.0.0.1:9', 'http://127.0.0.1:10', '--concurrency', '0']);
    assert.deepEqual([r.code, lines(r.stderr)], [2, ['leakscope watch: --concurrency must be between 1 and 1000, got 0']]);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test('fleet faults: bad URLs skipped with a line each; a target file that turns invalid and a Prometheus that goes away keep the last targets', { timeout: 60000 }, async (t) => {
  if (!hasFixtures) return t.skip(SKIP_NO_FIXTURES);
  const work = mkdtempSync(join(tmpdir(), 'leakscope-fleet-bad-'));
  const a = await recorded();
  const b = await recorded();
  const c = await recorded();
  // a Prometheus stand-in for the discovery API that dies 2 s in (the real one is in fleet-prometheus.test.ts)
  const prom = createServer((_req, res) =>
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'success', data: { activeTargets: [{ labels: { job: 'api', instance: c.addr }, scrapePool: 'api', scrapeUrl: `http://${c.addr}/metrics`, health: 'up' }] } })),
  );
  await new Promise<void>((res) => prom.listen(0, '127.0.0.1', res));
  const promUrl = `http://127.0.0.1:${(prom.address() as AddressInfo).port}`;
  setTimeout(() => {
    prom.close();
    prom.closeAllConnections();
  }, 2000).unref();
  try {
    const file = join(work, 't.json');
    writeFileSync(file, JSON.stringify([{ targets: [b.addr, 'host-without-port'], labels: { job: 'api' } }]));
    setTimeout(() => writeFileSync(file, '[{"targets": ["broken'), 2000).unref();
    const out = join(work, 'fleet');
    const r = await runCli(['watch', `http://${a.addr}`, 'http://[::1', '--targets', file, '--prometheus', promUrl, '--job', 'api', '--interval', '300ms', '--duration', '6s', '--json', '-o', out]);
    assert.equal(r.code, 0, r.stderr);
    const err = lines(r.stderr);
    const j = JSON.parse(r.stdout) as FleetJson;
    assert.equal(err.filter((l) => l.includes('http://[::1')).length, 1, r.stderr);
    assert.ok(err.includes('leakscope watch: skipping "http://[::1" is not a host:port or URL'), r.stderr);
    assert.equal(err.filter((l) => l.includes('host-without-port')).length, 1, r.stderr);
    assert.ok(err.includes(`leakscope watch: ${file}: skipping target "host-without-port" has no port (host:port)`), r.stderr);
    const broken = err.filter((l) => l.includes(`${file}: not valid JSON`));
    assert.equal(broken.length, 1, r.stderr);
    assert.match(broken[0]!, /; keeping the previous 1 target$/);
    const promDown = err.filter((l) => l.startsWith(`leakscope watch: Prometheus at ${promUrl}:`));
    // one line per change, not per scrape (about 13 scrapes fail): the stand-in's closeAllConnections
    // may cut a discovery request in flight first (UND_ERR_SOCKET / ECONNRESET), then every
    // connection is refused
    assert.ok(promDown.length >= 1 && promDown.length <= 2, r.stderr);
    for (const l of promDown) assert.match(l, /cannot connect \((?:ECONNREFUSED|UND_ERR_SOCKET|ECONNRESET)\); keeping the previous 1 target$/);
    assert.match(promDown.at(-1)!, /cannot connect \(ECONNREFUSED\); keeping the previous 1 target$/);
    // all three kept being watched to the end
    assert.deepEqual(j.targets.map((x) => x.id).sort(), [a.addr, b.addr, c.addr].sort());
    for (const x of j.targets) {
      assert.ok(x.samples >= 12, `${x.id}: ${x.samples} samples`);
      assert.equal(x.vanished, false);
      assert.notEqual(x.status, 'unreachable');
    }
    assert.deepEqual(j.targets.map((x) => x.job).sort(), ['', 'api', 'api'], 'b and c are of job api (a, a plain URL, has none)');
  } finally {
    a.server.close();
    b.server.close();
    c.server.close();
    rmSync(work, { recursive: true, force: true });
  }
});

test('fleet faults: ten targets time out together; the rest is polled at its interval, one line per hanging target', { timeout: 60000 }, async (t) => {
  if (!hasFixtures) return t.skip(SKIP_NO_FIXTURES);
  const work = mkdtempSync(join(tmpdir(), 'leakscope-fleet-hang-'));
  const good = await Promise.all([recorded(3), recorded(3), recorded(3)]);
  const silent = await Promise.all(Array.from({ length: 10 }, () => startSilent()));
  try {
    const out = join(work, 'fleet');
    const urls = [...silent.map((s) => s.addr), ...good.map((g) => g.addr)];
    const r = await runCli(['watch', ...urls, '--interval', '300ms', '--duration', '8s', '--timeout', '1s', '--concurrency', '8', '--json', '-o', out]);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout) as FleetJson;
    const byId = new Map(j.targets.map((x) => [x.id, x]));
    for (const g of good) {
      const x = byId.get(g.addr)!;
      assert.ok(x.samples >= 12, `${g.addr}: ${x.samples} samples in 8 s at 300ms with 10 targets hanging`);
      assert.notEqual(x.status, 'unreachable');
    }
    for (const s of silent) {
      const x = byId.get(s.addr)!;
      assert.equal(x.status, 'unreachable');
      assert.match(x.lastError!, /^http:\/\/127\.0\.0\.1:\d+\/debug\/pprof\/heap\?gc=1: no answer within 1s$/);
      assert.equal(lines(r.stderr).filter((l) => l.includes(s.addr)).length, 1, `one line for ${s.addr}:\n${r.stderr}`);
    }
    assert.deepEqual(new Set(j.targets.slice(-10).map((x) => x.id)), new Set(silent.map((s) => s.addr)));
  } finally {
    for (const s of silent) s.close();
    for (const g of good) g.server.close();
    rmSync(work, { recursive: true, force: true });
  }
});

test('fleet faults: Ctrl-C reports what was collected; a killed run is still read by analyze, nothing saved lost', { timeout: 60000 }, async (t) => {
  if (!hasFixtures) return t.skip(SKIP_NO_FIXTURES);
  const work = mkdtempSync(join(tmpdir(), 'leakscope-fleet-kill-'));
  const good = await Promise.all([recorded(1), recorded(1)]);
  try {
    const urls = good.map((g) => g.addr);
    const out1 = join(work, 'f1');
    const r1 = await runCli(['watch', ...urls, '--interval', '200ms', '-o', out1], { onSpawn: (kill) => setTimeout(() => kill('SIGINT'), 3000) });
    assert.equal(r1.code, 0, r1.stderr);
    assert.match(r1.stderr, /stopping \(Ctrl-C\); writing the report for what was collected/);
    assert.match(r1.stdout, /^leakscope fleet: 2 targets over [23]s, every 200ms/);
    assert.match(r1.stdout, /note: stopped by Ctrl-C: this report covers what was collected/);
    const out2 = join(work, 'f2');
    const r2 = await runCli(['watch', ...urls, '--interval', '200ms', '-o', out2], { onSpawn: (kill) => setTimeout(() => kill('SIGKILL'), 3000) });
    assert.equal(r2.signal, 'SIGKILL');
    const meta = JSON.parse(readFileSync(join(out2, 'fleet.json'), 'utf8')) as { targets: { dir: string }[]; endedAt?: string };
    assert.equal(meta.endedAt, undefined);
    for (const ft of meta.targets) {
      for (const line of lines(readFileSync(join(out2, ft.dir, 'index.jsonl'), 'utf8'))) {
        const e = JSON.parse(line) as { file?: string };
        if (e.file) assert.ok(existsSync(join(out2, ft.dir, e.file)), e.file);
      }
    }
    const a = await runCli(['analyze', out2, '--json']);
    assert.equal(a.code, 0, a.stderr);
    const j = JSON.parse(a.stdout) as FleetJson;
    assert.equal(j.targets.length, 2);
    for (const x of j.targets) assert.ok(x.samples >= 8, `${x.id}: ${x.samples}`);
    assert.ok(j.durationMs >= 2000 && j.durationMs <= 4000, `duration from the last poll: ${j.durationMs}`);
  } finally {
    for (const g of good) g.server.close();
    rmSync(work, { recursive: true, force: true });
  }
});

test('fleet live view: on a terminal, one line per target, redrawn; the report follows', { timeout: 30000 }, async (t) => {
  if (!hasFixtures) return t.skip(SKIP_NO_FIXTURES);
  const work = mkdtempSync(join(tmpdir(), 'leakscope-fleet-live-'));
  const good = await Promise.all([recorded(1), recorded(1)]);
  const down = await closedPort();
  try {
    const io = { out: '', err: '', isTTY: true, stdout: (s: string) => void (io.out += s), stderr: (s: string) => void (io.err += s) };
    const { runFleet, writeFleetReport } = await import('../src/cli/fleet.js');
    const r = await runFleet([...good.map((g) => g.addr), down], { interval: '300ms', duration: '3s', job: 'api', out: join(work, 'f') }, io, new AbortController().signal);
    const frames = io.out.split('\x1b[H\x1b[J').filter((f) => f.startsWith('leakscope watch: 3 targets'));
    assert.ok(frames.length >= 2, `redrawn: ${frames.length} frames`);
    const last = frames[frames.length - 1]!;
    const rows = last.split('\n').filter((l) => /^  (LEAK|ok  |wait|DOWN) /.test(l));
    assert.equal(rows.length, 3, last);
    assert.match(rows[2]!, new RegExp(`^  DOWN ${down.replace(/\./g, '\\.')} +api +0 +- +\\[retry in \\d+s\\] heap: cannot connect \\(ECONNREFUSED\\)$`));
    for (const g of good) assert.ok(rows.some((l) => l.includes(g.addr) && / api +\d+ +[\d.]+MB /.test(l)), `${g.addr} in:\n${last}`);
    assert.equal(io.err, '', 'no log lines when the live view is on');
    const code = writeFleetReport(io, r, { 'fail-on-leak': true });
    assert.equal(code, r.analysis.counts.leaking > 0 ? 3 : 0);
    assert.match(io.out, /leakscope fleet: 3 targets over 3s, every 300ms/);
  } finally {
    for (const g of good) g.server.close();
    rmSync(work, { recursive: true, force: true });
  }
});

test('fleet --pprof-port: a discovered target is polled on its pprof port and keeps its listed name', { timeout: 30000 }, async (t) => {
  if (!hasFixtures) return t.skip(SKIP_NO_FIXTURES);
  const work = mkdtempSync(join(tmpdir(), 'leakscope-fleet-port-'));
  const good = await recorded(1);
  try {
    const listed = await closedPort(); // the "metrics" port in the list: nothing pprof there
    const file = join(work, 't.json');
    writeFileSync(file, JSON.stringify([{ targets: [listed], labels: { job: 'api' } }]));
    const port = good.addr.split(':')[1]!;
    const r = await runCli(['watch', '--targets', file, '--pprof-port', port, '--interval', '300ms', '--duration', '2s', '--json', '-o', join(work, 'f')]);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout) as FleetJson;
    assert.equal(j.targets[0]!.id, listed);
    assert.equal(j.targets[0]!.url, `http://127.0.0.1:${port}/debug/pprof`);
    assert.ok(j.targets[0]!.samples >= 4, String(j.targets[0]!.samples));
    const bad = await runCli(['watch', `http://${good.addr}`, `http://${listed}`, '--pprof-port', '70000']);
    assert.deepEqual([bad.code, lines(bad.stderr)], [2, ['leakscope watch: --pprof-port must be between 1 and 65535, got 70000']]);
  } finally {
    good.server.close();
    rmSync(work, { recursive: true, force: true });
  }
});
