/**
 * `list` equals go tool pprof's byte for byte, with pprof's expectations produced at run time by
 * `go tool pprof` itself (skipped with a message when go is absent): on the project's own profiles
 * (testdata/), on variants of them whose file names are absolute, missing, CRLF, short or a
 * directory, with and without start lines and files, and on the ../shared fixtures.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { cliPath, fixturesDir, hasFixtures, repoRoot, SKIP_NO_FIXTURES } from './helpers/paths.js';
import { hasGo, SKIP_NO_GO } from './helpers/tools.js';
import { decodeProfile, encodeProfile } from '../src/formats/pprof.js';
import type { Profile } from '../src/core/profile.js';

const skipGo = hasGo() ? false : SKIP_NO_GO;

function run(cmd: string, args: string[], cwd: string): { stdout: string; stderr: string; status: number | null } {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, env: { ...process.env, TZ: 'UTC', PPROF_TMPDIR: tmpdir(), PPROF_BINARY_PATH: '/nonexistent' } });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

/** `go tool pprof -list=RE rest…` against `leakscope list RE rest…`, in cwd: same stdout, same success. */
function same(re: string, rest: string[], cwd: string) {
  const go = run('go', ['tool', 'pprof', `-list=${re}`, ...rest], cwd);
  const ours = run(process.execPath, [cliPath, 'list', re, ...rest], cwd);
  const what = `list ${re} ${rest.join(' ')} (in ${cwd})`;
  assert.equal(ours.status === 0, go.status === 0, `${what}: exit ${ours.status} vs pprof's ${go.status}: ${ours.stderr}`);
  assert.equal(ours.stdout, go.stdout, what);
  return go.stdout;
}

const HEAP = join(repoRoot, 'testdata', 'profiles', 'heap.pb.gz');
const BASE = join(repoRoot, 'testdata', 'profiles', 'heap.base.pb.gz');
const CPU = join(repoRoot, 'testdata', 'profiles', 'cpu.pb.gz');
const GOROUTINE = join(repoRoot, 'testdata', 'profiles', 'goroutine.pb.gz');
const MAIN_GO = join(repoRoot, 'testdata', 'go-gen', 'main.go');
const RECORDED = 'example.com/gogen/main.go';

let dir = '';

/** heap.pb.gz with main.go's functions renamed to `file` (and start lines from the source when asked). */
function variant(name: string, file: (fnName: string) => string, startLines = false): string {
  const p: Profile = decodeProfile(gunzipSync(readFileSync(HEAP)));
  const src = readFileSync(MAIN_GO, 'utf8').split('\n');
  for (const fn of p.functions) {
    if (fn.filename !== RECORDED) continue;
    fn.filename = file(fn.name);
    if (startLines) {
      const short = fn.name.replace(/^main\.(\(\*\w+\)\.)?/, '');
      const at = src.findIndex((l) => l.startsWith('func ') && l.includes(` ${short}(`));
      fn.startLine = at >= 0 ? at + 1 : 0;
    }
  }
  const out = join(dir, name);
  writeFileSync(out, encodeProfile(p));
  return out;
}

before(() => {
  if (skipGo) return;
  dir = mkdtempSync(join(tmpdir(), 'leakscope-list-'));
  const text = readFileSync(MAIN_GO, 'utf8');
  mkdirSync(join(dir, 'src', 'sub', 'deeper'), { recursive: true });
  writeFileSync(join(dir, 'src', 'main.go'), text);
  mkdirSync(join(dir, 'gogen'));
  writeFileSync(join(dir, 'gogen', 'main.go'), text);
  mkdirSync(join(dir, 'abs'));
  writeFileSync(join(dir, 'abs', 'main.go'), text);
  writeFileSync(join(dir, 'abs', 'crlf.go'), text.replace(/\n/g, '\r\n'));
  // ends inside the functions the profile samples: pprof prints no line past the end
  writeFileSync(join(dir, 'abs', 'short.go'), text.split('\n').slice(0, 37).join('\n'));
  writeFileSync(join(dir, 'abs', 'nonl.go'), text.replace(/\n+$/, ''));
  mkdirSync(join(dir, 'abs', 'isdir.go'));
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('list on the project profiles: sources found by -trim_path/-source_path, or pprof\'s error', { skip: skipGo }, () => {
  const src = join(dir, 'src');
  const trim = `-trim_path=example.com/gogen`;
  // found under -source_path once trimmed; every value scaled on its own; Total line
  const out = same('main', [trim, `-source_path=${src}`, HEAP], dir);
  assert.match(out, /^Total: /);
  assert.match(out, /func newSession/);
  same('main', [trim, `-source_path=${src}`, '-sample_index=alloc_space', HEAP], dir);
  same('main', [trim, `-source_path=${src}`, '-sample_index=inuse_objects', '-unit=B', HEAP], dir);
  same('main', [trim, `-source_path=${src}`, '-unit=kB', HEAP], dir);
  same('main', [trim, `-source_path=${src}`, '-noinlines', HEAP], dir);
  same('main', [trim, `-source_path=${src}`, '-focus=handleRequest', HEAP], dir);
  same('.', [trim, `-source_path=${src}`, `-diff_base=${BASE}`, HEAP], dir);
  same('main', [trim, `-source_path=${src}`, `-base=${BASE}`, HEAP], dir);
  same('.', [trim, `-source_path=${src}`, GOROUTINE], dir);
  same('hashLoop|spin|sha256', [trim, `-source_path=${src}`, CPU], dir);
  // the default search path is the current directory and its parents
  same('main', [trim, HEAP], join(src, 'sub', 'deeper'));
  // the -source_path basename heuristic: /gogen/ in the recorded name
  same('main', [`-source_path=${join(dir, 'gogen')}`, HEAP], dir);
  // not found: pprof's error, no rows, no guessing by path suffix (./main.go is not main.go's file)
  const missing = same('main', [HEAP], src);
  assert.match(missing, /Error: could not find file example\.com\/gogen\/main\.go on path /);
  assert.doesNotMatch(missing, /func newSession/);
  // --json keeps the sampled lines (no text) and pprof's error when the source is missing
  const json = JSON.parse(run(process.execPath, [cliPath, 'list', '--json', 'newSession', HEAP], src).stdout) as {
    functions: { name: string; sourceFound: boolean; error?: string; lines: { line: number; flat: number; text?: string }[] }[];
  };
  const fn = json.functions.find((f) => f.name === 'main.newSession')!;
  assert.equal(fn.sourceFound, false);
  assert.match(fn.error!, /^could not find file example\.com\/gogen\/main\.go on path /);
  assert.ok(fn.lines.length > 0 && fn.lines.every((l) => l.text === undefined && l.flat !== 0));
  same('newSession', [`-source_path=${join(dir, 'nowhere')}:${src}`, HEAP], dir);
  same('newSession', [trim, `-source_path=${join(dir, 'nowhere')}:${src}`, HEAP], dir);
  // no match: pprof's error and a failure
  same('nothing_matches_this', [HEAP], dir);
});

test('list with absolute file names: found, missing, CRLF, short, no final newline, a directory, start lines, no file', { skip: skipGo }, () => {
  const abs = (f: string) => () => join(dir, 'abs', f);
  // run from src/: the cwd heuristic (/<basename of cwd>/ in the name) would otherwise make the names relative
  const cwd = join(dir, 'src');
  for (const f of ['main.go', 'crlf.go', 'short.go', 'nonl.go', 'isdir.go', 'missing.go']) {
    const p = variant(`abs-${f}.pb`, abs(f));
    const out = same('main', [p], cwd);
    if (f === 'missing.go') assert.match(out, /Error: open .*missing\.go: no such file or directory/);
    same('main', [`-trim_path=${join(dir, 'abs')}`, `-source_path=${join(dir, 'abs')}`, p], cwd);
  }
  // start lines: the listing starts at the function's first line
  same('main', [variant('start.pb', abs('main.go'), true)], cwd);
  same('main', [`-trim_path=${join(dir, 'abs')}`, variant('start-missing.pb', abs('missing.go'), true)], cwd);
  // a start line after the sampled lines: nothing read, nothing printed for that file
  const late = variant('late.pb', (n) => (n === 'main.newSession' ? join(dir, 'abs', 'main.go') : join(dir, 'abs', 'missing.go')), false);
  const p = decodeProfile(readFileSync(late));
  for (const fn of p.functions) if (fn.name === 'main.newSession' || fn.name === 'main.main') fn.startLine = 500;
  writeFileSync(late, encodeProfile(p));
  same('main', [late], cwd);
  // functions without a file: "No source information for F"
  const noFile = same('main', [variant('nofile.pb', (n) => (n === 'main.newSession' ? '' : RECORDED))], cwd);
  assert.match(noFile, /^No source information for main\.newSession$/m);
});

test('list equals go tool pprof on the shared fixtures', { skip: skipGo || (hasFixtures ? false : SKIP_NO_FIXTURES) }, () => {
  const svc = join(fixturesDir, 'go', 'leakysvc');
  same('createSession|Get|render', ['-source_path=' + svc, 'profiles/heap.5.pb.gz'], svc);
  same('main', ['-source_path=' + svc, '-sample_index=alloc_space', 'profiles/allocs.5.pb.gz'], svc);
  same('main', ['-source_path=' + svc, '-diff_base=profiles/heap.1.pb.gz', 'profiles/heap.5.pb.gz'], svc);
  same('notifyUpstream', ['profiles/goroutine.5.pb.gz'], svc);
  const peers = join(fixturesDir, 'peers', 'pprof', 'profiles');
  // absolute and $GOROOT names, start lines past the samples (pprof.init), many files
  same('.', ['pprof.testdata.heap_delta'], peers);
  same('.', ['pprof.testdata.gotruncatefix.heap_go_truncated_1.pb.gz'], peers);
  same('.', ['-source_path=/', 'pprof.testdata.gotruncatefix.heap_go_truncated_4.pb.gz'], peers);
  same('.', ['pprof.testdata.profile_java'], peers);
  same('.', ['og.convert.pprof.testdata.cpu-js.pb.gz'], peers);
});
