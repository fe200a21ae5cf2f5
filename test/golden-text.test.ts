/**
 * Our text reports equal go tool pprof's, byte for byte: against the project's own goldens
 * (testdata/golden, written by `go tool pprof` for testdata/profiles, always run), and live against
 * `go tool pprof` on the ../shared fixtures when go is installed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { cliPath, fixturesDir, hasFixtures, repoRoot, SKIP_NO_FIXTURES } from './helpers/paths.js';
import { goPprof, hasGo, SKIP_NO_GO } from './helpers/tools.js';
import { nodeBinaries } from './helpers/snapshot-node.js';

function leakscope(args: string[], cwd: string, node = process.execPath): string {
  const r = spawnSync(node, [cliPath, ...args], { cwd, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, env: { ...process.env, TZ: 'UTC' } });
  assert.equal(r.status, 0, `leakscope ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/** `go tool pprof -top -x=y file` → `leakscope top -x=y file` (the same spellings work). */
function ours(goArgs: string[]): string[] {
  const rest = goArgs.filter((a) => a !== '-top' && a !== '-tree' && a !== '-traces' && a !== '-tags' && !a.startsWith('-peek='));
  if (goArgs.includes('-tags')) return ['tags', ...rest];
  if (goArgs.includes('-tree')) return ['tree', ...rest];
  if (goArgs.includes('-traces')) return ['traces', ...rest];
  const peek = goArgs.find((a) => a.startsWith('-peek='));
  if (peek) return ['peek', peek.slice('-peek='.length), ...rest];
  return ['top', ...rest];
}

test('top text equals the go tool pprof goldens in testdata/', async (t) => {
  const dir = join(repoRoot, 'testdata');
  const table = readFileSync(join(dir, 'README.md'), 'utf8');
  const rows = [...table.matchAll(/^\| `([^`]+\.txt)` \| `go tool pprof ([^`]+)` \|$/gm)];
  assert.ok(rows.length >= 15, `golden table found (${rows.length} rows)`);
  for (const [, golden, cmd] of rows) {
    await t.test(golden!, () => {
      const args = cmd!.split(' ');
      assert.equal(leakscope(ours(args), dir), readFileSync(join(dir, 'golden', golden!), 'utf8'));
    });
  }
});

const LIVE_CASES = [
  '-top -lines',
  '-top -cum -nodecount=20',
  '-top -focus=main -hide=runtime -ignore=gzip',
  '-top -show_from=main -filefunctions -unit=MB',
  '-top -sample_index=0 -nodefraction=0.1',
  '-top -files',
  '-tree',
  '-traces',
];
const LIVE_FILES = [
  'go/leakysvc/profiles/heap.5.pb.gz',
  'go/leakysvc/profiles/goroutine.5.pb.gz',
  'peers/pprof/profiles/pprof.testdata.profile_java',
  'peers/pprof/profiles/og.convert.pprof.testdata.cpu-js.pb.gz',
  'peers/pprof/profiles/pprof.testdata.heap',
];

test('live: text reports equal go tool pprof on the shared fixtures', { skip: !hasGo() ? SKIP_NO_GO : !hasFixtures ? SKIP_NO_FIXTURES : false }, async (t) => {
  for (const file of LIVE_FILES) {
    if (!existsSync(join(fixturesDir, file))) continue;
    for (const c of LIVE_CASES) {
      const args = [...c.split(' '), file];
      await t.test(`${c} ${file}`, () => {
        assert.equal(leakscope(ours(args), fixturesDir), goPprof(args, fixturesDir));
      });
    }
  }
});

test('live: peek equals go tool pprof', { skip: !hasGo() ? SKIP_NO_GO : !hasFixtures ? SKIP_NO_FIXTURES : false }, () => {
  const d = join(fixturesDir, 'go', 'leakysvc');
  for (const args of [['-peek=createSession|Get', 'profiles/heap.5.pb.gz'], ['-peek=notifyUpstream', 'profiles/goroutine.5.pb.gz']]) {
    assert.equal(leakscope(ours(args), d), goPprof(args, d));
  }
});

test('live: -diff_base and -base equal go tool pprof', { skip: !hasGo() ? SKIP_NO_GO : !hasFixtures ? SKIP_NO_FIXTURES : false }, () => {
  const d = join(fixturesDir, 'go', 'leakysvc');
  for (const flag of ['-diff_base', '-base']) {
    const args = ['-top', flag, 'profiles/heap.1.pb.gz', 'profiles/heap.5.pb.gz'];
    assert.equal(leakscope(['top', ...args.slice(1)], d), goPprof(args, d));
  }
});

test('the CLI prints the same goldens under every Node version users run (18, 22, 24)', async (t) => {
  const { present, missing } = nodeBinaries();
  if (missing.length > 0) t.diagnostic(`not installed, skipped: ${missing.join(', ')}`);
  const dir = join(repoRoot, 'testdata');
  for (const bin of present.filter((b) => b.path !== process.execPath)) {
    await t.test(bin.label, () => {
      for (const [golden, args] of [
        ['heap.inuse_space.lines.top.txt', ['top', '-lines', '-sample_index=inuse_space', 'profiles/heap.pb.gz']],
        ['heap.diff_base.top.txt', ['top', '-sample_index=inuse_space', '-diff_base=profiles/heap.base.pb.gz', 'profiles/heap.pb.gz']],
      ] as const) {
        assert.equal(leakscope([...args], dir, bin.path), readFileSync(join(dir, 'golden', golden), 'utf8'), golden);
      }
    });
  }
});
