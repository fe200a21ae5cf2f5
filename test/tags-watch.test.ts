/**
 * `watch --by LABEL` against a real Go service (test/programs/go-labels serve, built here; skipped
 * without go): /api/leak leaks blocked goroutines while /api/ok keeps 20 blocked in the same
 * function. Split by route, the one suspect is the leaking route's series; the steady route is no
 * suspect. Without --by both are one mixed series.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { cliPath, repoRoot } from './helpers/paths.js';
import { hasGo, SKIP_NO_GO } from './helpers/tools.js';

const skipGo = hasGo() ? false : SKIP_NO_GO;
let dir = '';
let svc: ChildProcess | undefined;
let base = '';

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'leakscope-tags-watch-'));
  if (skipGo) return;
  const bin = join(dir, 'go-labels');
  const build = spawnSync('go', ['build', '-o', bin, '.'], { cwd: join(repoRoot, 'test', 'programs', 'go-labels'), encoding: 'utf8' });
  assert.equal(build.status, 0, `go build: ${build.stderr}`);
  svc = spawn(bin, ['serve'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(svc.stdout!, 'data')) as [Buffer];
  base = line.toString().trim();
  assert.match(base, /^http:\/\/127\.0\.0\.1:\d+$/);
});
after(() => {
  svc?.kill();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function watch(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [cliPath, 'watch', base, '--profiles', 'goroutine', '--interval', '200ms', '--duration', '2400ms', '--json', ...args]);
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => (stdout += d));
    c.stderr.on('data', (d: Buffer) => (stderr += d));
    c.on('close', (code) => resolve({ status: code ?? 1, stdout, stderr }));
  });
}

interface Report {
  suspects: { name: string; profile: string }[];
}

test('watch --by route: the leaking route is the suspect, the steady one is not', { skip: skipGo }, async () => {
  const [split, mixed, ignored, ok] = await Promise.all([
    watch(['--by', 'route', '-o', join(dir, 'by')]),
    watch(['-o', join(dir, 'plain')]),
    watch(['--tagignore', 'route=/api/leak', '-o', join(dir, 'ignored')]),
    watch(['--tagfocus', 'route=/api/ok', '-o', join(dir, 'ok')]),
  ]);
  assert.equal(split.status, 0, split.stderr);
  assert.equal(mixed.status, 0, mixed.stderr);
  const names = (JSON.parse(split.stdout) as Report).suspects.map((s) => s.name);
  assert.ok(names.includes('main.waitForRequest {route=/api/leak}'), names.join(', '));
  assert.ok(!names.some((n) => n.includes('/api/ok')), names.join(', '));
  const plain = (JSON.parse(mixed.stdout) as Report).suspects.map((s) => s.name);
  assert.ok(plain.includes('main.waitForRequest'), plain.join(', '));
  assert.ok(!plain.some((n) => n.includes('{route=')), plain.join(', '));
  // without the leaking route's samples nothing grows
  assert.equal(ignored.status, 0, ignored.stderr);
  assert.deepEqual((JSON.parse(ignored.stdout) as Report).suspects, []);
  // only the steady route's samples: nothing grows either (the same function as the leak)
  assert.equal(ok.status, 0, ok.stderr);
  assert.deepEqual((JSON.parse(ok.stdout) as Report).suspects, []);
});

test('watch --tagfocus: the series of the focused samples only', { skip: skipGo }, async () => {
  const r = await watch(['--tagfocus', 'route=leak', '-o', join(dir, 'leak')]);
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout) as Report;
  const s = j.suspects.find((x) => x.name === 'main.waitForRequest');
  assert.ok(s, JSON.stringify(j.suspects));
  // the 20 goroutines of /api/ok are never counted: --tagfocus route=/api/ok alone finds nothing
  // (above); here every suspect is the leaking route's
  assert.deepEqual(j.suspects.map((x) => x.name), ['main.waitForRequest']);
});

test('watch: a bad tag filter is one line and exit 1 before anything is polled', { skip: skipGo }, async () => {
  const r = await watch(['--tagfocus', 'route=(', '-o', join(dir, 'bad')]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^leakscope watch: invalid tagfocus regular expression "\(".*\n$/);
  assert.equal(r.stdout, '');
});
