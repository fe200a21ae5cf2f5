/**
 * leakscope soak on bad input (issue 12): a command that exits at once, one that never listens,
 * one that crashes halfway, an unreachable URL, a malformed baseline, a requests file with a bad
 * line, and Ctrl-C — each gives one line on stderr and a non-zero exit, and every process soak
 * started (the command and a grandchild it spawned) is gone afterwards.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { cliPath, repoRoot } from './helpers/paths.js';

const svcProgram = join(repoRoot, 'test/programs/soak-svc.mjs');
const tmp = mkdtempSync(join(tmpdir(), 'leakscope-soak-errors-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function soak(args: string[], env: Record<string, string> = {}, onStderr?: (s: string, child: ReturnType<typeof spawn>) => void): Promise<Run> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    // in the temp dir: the run directories of the watch land there
    const child = spawn(process.execPath, [cliPath, 'soak', ...args], { cwd: tmp, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d;
      onStderr?.(stderr, child);
    });
    const kill = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code) => {
      clearTimeout(kill);
      resolve({ code, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** the pids the stand-in service wrote (itself and its grandchild) are all gone */
async function assertAllGone(pidfile: string): Promise<void> {
  assert.ok(existsSync(pidfile), 'the service never started');
  const pids = readFileSync(pidfile, 'utf8').split('\n').filter(Boolean).map(Number);
  assert.ok(pids.length >= 2, `pids: ${pids.join(',')}`);
  // a moment for the kernel to reap
  for (let i = 0; i < 20 && pids.some(alive); i++) await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(pids.filter(alive), [], 'processes soak started are still running');
}

function oneLine(r: Run, pattern: RegExp): void {
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `stderr: ${r.stderr}`);
  assert.match(lines[0]!, pattern);
  assert.ok(!/\n\s+at /.test(r.stderr), 'a stack trace');
}

function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

const base = ['-q', '--duration', '3s', '--warmup', '0s', '--rounds', '3', '--rate', '50'];

describe('leakscope soak: bad input', { concurrency: 3 }, () => {
  test('a command that exits at once', async () => {
    const pidfile = join(tmp, 'exit-now.pids');
    const r = await soak([...base, '--', process.execPath, svcProgram], { MODE: 'exit-now', PIDFILE: pidfile });
    assert.equal(r.code, 1);
    oneLine(r, /^leakscope soak: the service exited \(code 3\) before the service listened: soak-svc: config file missing$/);
    await assertAllGone(pidfile);
  });

  test('a command that never listens (--start-timeout)', async () => {
    const pidfile = join(tmp, 'never.pids');
    const r = await soak([...base, '--start-timeout', '1500ms', '--', process.execPath, svcProgram], { MODE: 'never-listen', PIDFILE: pidfile });
    assert.equal(r.code, 1);
    oneLine(r, /^leakscope soak: the service did not listen at 127\.0\.0\.1:\d+ within 2s \(--start-timeout\)$/);
    assert.ok(r.ms < 15_000, `took ${r.ms}ms`);
    await assertAllGone(pidfile);
  });

  test('a command that crashes halfway through the load', async () => {
    const pidfile = join(tmp, 'crash.pids');
    const r = await soak([...base, '--duration', '20s', '--', process.execPath, svcProgram], { MODE: 'crash-after', CRASH_MS: '1500', PIDFILE: pidfile });
    assert.equal(r.code, 1);
    oneLine(r, /^leakscope soak: the service exited \(code 7\) during the load: soak-svc: out of file descriptors$/);
    assert.ok(r.ms < 12_000, `waited for the planned duration: ${r.ms}ms`);
    await assertAllGone(pidfile);
  });

  test('Ctrl-C (SIGINT) after a measured round: the report of the rounds so far, the service stopped', async () => {
    const pidfile = join(tmp, 'sigint.pids');
    let sent = false;
    // 6 rounds of 5 s: the signal lands well inside the second round however late it is sent
    const r = await soak(['--json', '--duration', '30s', '--warmup', '0s', '--rounds', '6', '--rate', '50', '--', process.execPath, svcProgram], { MODE: 'serve', PIDFILE: pidfile }, (s, child) => {
      if (!sent && /round 1\/6: /.test(s)) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    assert.ok(sent, r.stderr);
    const j = JSON.parse(r.stdout);
    // the exit status is the report's verdict, as watch's on Ctrl-C
    assert.equal(r.code, j.exitCode, r.stderr);
    assert.ok(r.code === 0 || r.code === 3, r.stderr);
    const m = /leakscope soak: interrupted after (\d+) of 6 rounds \(Ctrl-C\); the service was stopped/.exec(r.stderr);
    assert.ok(m, r.stderr);
    const n = Number(m[1]);
    assert.ok(n >= 1 && n < 6, r.stderr);
    assert.equal(j.load.rounds.length, n);
    assert.ok(j.load.requests > 0);
    assert.match(j.notes[0], new RegExp(`^interrupted \\(Ctrl-C\\) after ${n} of 6 rounds: this report covers what was collected$`));
    assert.ok(j.leaks !== null && j.leaks.samples >= 1, JSON.stringify(j.leaks));
    assert.ok(r.ms < 40_000, `took ${r.ms}ms`);
    await assertAllGone(pidfile);
  });

  test('Ctrl-C (SIGINT) during the warm-up: one line, exit 1, the service stopped', async () => {
    const pidfile = join(tmp, 'sigint-warmup.pids');
    let sent = false;
    const r = await soak(['--duration', '30s', '--warmup', '30s', '--rounds', '3', '--rate', '50', '--', process.execPath, svcProgram], { MODE: 'serve', PIDFILE: pidfile }, (s, child) => {
      if (!sent && /listening after/.test(s)) {
        sent = true;
        setTimeout(() => child.kill('SIGINT'), 500);
      }
    });
    assert.ok(sent, r.stderr);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /\nleakscope soak: interrupted \(Ctrl-C\) during the warm-up, before the first measured round; the service was stopped\n$/);
    assert.ok(!/\n\s+at /.test(r.stderr), 'a stack trace');
    assert.ok(r.ms < 30_000, `took ${r.ms}ms`);
    await assertAllGone(pidfile);
  });

  test('an unreachable URL', async () => {
    const port = await closedPort();
    const r = await soak([...base, '--url', `http://127.0.0.1:${port}/`]);
    assert.equal(r.code, 1);
    oneLine(r, new RegExp(`^leakscope soak: http://127\\.0\\.0\\.1:${port}/ did not listen at 127\\.0\\.0\\.1:${port} within 2s \\(--start-timeout\\)$`));
  });

  test('a malformed baseline: nothing is started', async () => {
    const pidfile = join(tmp, 'baseline.pids');
    const cases: [string, RegExp][] = [
      ['{"format": "leakscope-soak-baseline", "version": 1, "settings": {}, "figures": {"p99": {"value": "fast"}}}', /figure "p99" is not \{value: number, rounds: number\[\]\}$/],
      ['{ not json', /: not JSON \(/],
      ['{"rows": []}', /not a leakscope soak baseline/],
    ];
    for (const [text, re] of cases) {
      const file = join(tmp, 'bad-baseline.json');
      writeFileSync(file, text);
      const r = await soak([...base, '--baseline', file, '--', process.execPath, svcProgram], { MODE: 'serve', PIDFILE: pidfile });
      assert.equal(r.code, 1, r.stderr);
      oneLine(r, re);
      assert.ok(r.stderr.startsWith(`leakscope soak: ${file}: `), r.stderr);
    }
    assert.equal(existsSync(pidfile), false, 'the service was started');
  });

  test('a requests file with a bad line: nothing is started', async () => {
    const pidfile = join(tmp, 'requests.pids');
    const file = join(tmp, 'requests.txt');
    writeFileSync(file, '# the mix\n3 GET /api?user=1\nPOST /orders\nFETCH /api\n');
    const r = await soak([...base, '--requests', file, '--', process.execPath, svcProgram], { MODE: 'serve', PIDFILE: pidfile });
    assert.equal(r.code, 2);
    oneLine(r, new RegExp(`^leakscope soak: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:4: unknown method "FETCH"`));
    writeFileSync(file, 'GET /a\n{"path": "/b", "weight": 2, "body": {"x": 1}}\n');
    const r2 = await soak([...base, '--requests', file, '--', process.execPath, svcProgram], { MODE: 'serve', PIDFILE: pidfile });
    assert.equal(r2.code, 2);
    oneLine(r2, /:2: body must be a string \(JSON-encode a JSON body\)$/);
    assert.equal(existsSync(pidfile), false, 'the service was started');
  });

  test('usage errors', async () => {
    for (const [args, re] of [
      [['--rate', 'fast', '--url', 'http://127.0.0.1:1/'], /--rate must be a number above 0/],
      [['--max-regression', 'p99=ten', '--url', 'http://127.0.0.1:1/'], /--max-regression: p99 needs a percentage such as 10%, got "ten"/],
      [['--max-regression', 'latency=10%', '--url', 'http://127.0.0.1:1/'], /unknown metric "latency"/],
      [[], /give a command after -- \(the service to start\) or --url URL/],
      [['--'], /no command after --/],
      [['--against', tmp, '--baseline', 'b.json', '--', 'node', 'x.js'], /--against DIR and --baseline FILE are two ways to give the baseline: use one/],
      [['--against', tmp, '--url', 'http://127.0.0.1:1/'], /--against DIR starts the command in DIR too: give the command after --/],
      [['--against', tmp, '--url', 'http://127.0.0.1:8080/', '--', 'node', 'x.js'], /--against: --url needs \{port\} \(the two builds listen on ports of their own\)/],
      [['--against', join(tmp, 'nowhere'), '--', 'node', 'x.js'], /--against .*nowhere: not a directory$/],
    ] as [string[], RegExp][]) {
      const r = await soak(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      oneLine(r, re);
    }
  });
});
