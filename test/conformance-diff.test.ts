/**
 * Diffs as go tool pprof prints them (pprof run at test time; skipped without go): `peek` and
 * `tree` under -diff_base/-base (nodes that net to zero are dropped, edges to them stay as
 * `0     0% |   name`), `-normalize` (each sample rounded after scaling), on the project's
 * profiles and on the shared fixtures. Where pprof's own order is not stable (equal-magnitude
 * edges of opposite sign), rows are compared block by block as sets, and leakscope's order is
 * checked to be the same whatever the order of the samples.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliPath, fixturesDir, hasFixtures, repoRoot, SKIP_NO_FIXTURES } from './helpers/paths.js';
import { hasGo, SKIP_NO_GO } from './helpers/tools.js';
import { encodeProfile } from '../src/formats/pprof.js';
import { SampleTableBuilder, type Profile } from '../src/core/profile.js';

const skipGo = hasGo() ? false : SKIP_NO_GO;

function run(cmd: string, args: string[], cwd: string) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, env: { ...process.env, TZ: 'UTC', PPROF_TMPDIR: tmpdir(), PPROF_BINARY_PATH: '/nonexistent' } });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

/** pprof's `-top`/`-tree`/`-traces`/`-peek=RE` first argument → leakscope's command line. */
function ours(goArgs: string[]): string[] {
  const [mode, ...rest] = goArgs;
  if (mode!.startsWith('-peek=')) return ['peek', mode!.slice('-peek='.length), ...rest];
  return [mode!.slice(1), ...rest];
}

function both(goArgs: string[], cwd: string) {
  const go = run('go', ['tool', 'pprof', ...goArgs], cwd);
  const us = run(process.execPath, [cliPath, ...ours(goArgs)], cwd);
  assert.equal(go.status, 0, `go tool pprof ${goArgs.join(' ')}: ${go.stderr}`);
  assert.equal(us.status, 0, `leakscope ${ours(goArgs).join(' ')}: ${us.stderr}`);
  return { go: go.stdout, us: us.stdout };
}

function same(goArgs: string[], cwd: string): string {
  const { go, us } = both(goArgs, cwd);
  assert.equal(us, go, goArgs.join(' '));
  return go;
}

const SEP = '----------------------------------------------------------+-------------';
/** A tree report as its blocks (split at the separator), each block's lines sorted. */
function blocksAsSets(text: string): string[][] {
  return text.split(SEP + '\n').map((b) => b.split('\n').sort());
}

const TD = join(repoRoot, 'testdata');
const HEAP = 'profiles/heap.pb.gz';
const BASE = 'profiles/heap.base.pb.gz';

test('peek and tree under -diff_base and -base equal go tool pprof on the project profiles', { skip: skipGo }, () => {
  // main.(*store).get nets to zero: its node goes, the edge to it stays
  const peek = same(['-peek=.', `-diff_base=${BASE}`, HEAP], TD);
  assert.match(peek, /^ {49}0 {5}0% \| {3}main\.\(\*store\)\.get$/m);
  assert.doesNotMatch(peek, /\| main\.\(\*store\)\.get$/m);
  same(['-peek=main', `-diff_base=${BASE}`, '-sample_index=alloc_space', HEAP], TD);
  same(['-peek=.', `-base=${BASE}`, HEAP], TD);
  same(['-peek=.', `-diff_base=${HEAP}`, BASE], TD);
  same(['-tree', `-diff_base=${BASE}`, HEAP], TD);
  same(['-tree', '-nodefraction=0', `-diff_base=${BASE}`, HEAP], TD);
  same(['-tree', '-nodefraction=0', '-edgefraction=0', `-diff_base=${BASE}`, HEAP], TD);
  same(['-tree', '-nodefraction=0', '-nodecount=5', `-diff_base=${BASE}`, HEAP], TD);
  same(['-tree', '-lines', '-nodefraction=0', `-diff_base=${BASE}`, HEAP], TD);
  same(['-tree', `-base=${BASE}`, HEAP], TD);
});

test('-normalize equals go tool pprof: totals, rounding and row order', { skip: skipGo }, () => {
  for (const flag of [`-diff_base=${BASE}`, `-base=${BASE}`]) {
    same(['-top', '-normalize', flag, HEAP], TD);
    same(['-top', '-normalize', '-unit=B', '-nodefraction=0', flag, HEAP], TD);
    same(['-top', '-normalize', '-sample_index=alloc_space', flag, HEAP], TD);
    same(['-top', '-normalize', '-sample_index=inuse_objects', '-cum', flag, HEAP], TD);
    same(['-tree', '-normalize', flag, HEAP], TD);
    same(['-peek=main', '-normalize', flag, HEAP], TD);
    same(['-traces', '-normalize', flag, HEAP], TD);
  }
  same(['-top', '-normalize', `-diff_base=${HEAP}`, BASE], TD);
  same(['-top', '-normalize', '-diff_base=profiles/cpu.pb.gz', 'profiles/cpu.pb.gz'], TD);
});

test('diffs equal go tool pprof on the shared fixtures', { skip: skipGo || (hasFixtures ? false : SKIP_NO_FIXTURES) }, () => {
  const svc = join(fixturesDir, 'go', 'leakysvc');
  for (const kind of ['heap', 'allocs', 'goroutine']) {
    for (const from of [1, 3]) {
      const b = `profiles/${kind}.${from}.pb.gz`;
      const p = `profiles/${kind}.5.pb.gz`;
      same(['-peek=.', `-diff_base=${b}`, p], svc);
      same(['-peek=.', `-diff_base=${p}`, b], svc);
      same(['-tree', `-diff_base=${b}`, p], svc);
      same(['-tree', '-nodefraction=0', `-diff_base=${b}`, p], svc);
      same(['-top', '-normalize', `-diff_base=${b}`, p], svc);
      same(['-top', '-normalize', `-base=${b}`, p], svc);
    }
  }
});

// ---- equal magnitudes of opposite sign ----

/** A one-type profile (inuse_space/bytes) from stacks of function names, leaf first. */
function synth(stacks: [string[], number][]): Profile {
  const names = [...new Set(stacks.flatMap(([s]) => s))];
  const b = new SampleTableBuilder(1);
  for (const [stack, v] of stacks) {
    for (const n of stack) b.pushLocation(names.indexOf(n));
    b.setValue(0, v);
    b.endSample();
  }
  return {
    sampleTypes: [{ type: 'inuse_space', unit: 'bytes' }],
    samples: b.build(),
    mappings: [],
    locations: names.map((_, i) => ({ id: i + 1, mapping: -1, address: BigInt(0x1000 + i * 16), lines: [{ fn: i, line: 10 + i, column: 0 }], isFolded: false })),
    functions: names.map((name, i) => ({ id: i + 1, name, systemName: name, filename: 'synth.go', startLine: 0 })),
    strings: [''],
    dropFrames: '',
    keepFrames: '',
    timeNanos: 0n,
    durationNanos: 0n,
    periodType: undefined,
    period: 0,
    comments: [],
    defaultSampleType: '',
    docUrl: '',
  };
}

let dir = '';
before(() => {
  if (!skipGo) dir = mkdtempSync(join(tmpdir(), 'leakscope-diff-'));
});
after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('equal-magnitude edges of opposite sign: pprof\'s rows (its order varies), leakscope\'s order fixed', { skip: skipGo }, () => {
  const src: [string[], number][] = [
    [['main.x', 'main.a', 'main.main'], 4096],
    [['main.x', 'main.c', 'main.main'], 2048],
    [['main.y', 'main.b', 'main.main'], 1024],
  ];
  const base: [string[], number][] = [
    [['main.x', 'main.b', 'main.main'], 4096],
    [['main.y', 'main.a', 'main.main'], 1024],
  ];
  const write = (name: string, stacks: [string[], number][]) => writeFileSync(join(dir, name), encodeProfile(synth(stacks)));
  write('src.pb', src);
  write('base.pb', base);
  // the same profiles with their samples in the opposite order
  write('src-rev.pb', [...src].reverse());
  write('base-rev.pb', [...base].reverse());
  const cases = [['-peek=.'], ['-tree', '-nodefraction=0'], ['-peek=main.x|main.main']];
  for (const c of cases) {
    const { go, us } = both([...c, '-diff_base=base.pb', 'src.pb'], dir);
    assert.deepEqual(blocksAsSets(us), blocksAsSets(go), c.join(' '));
    // main.x's callers: +4096 from main.a and -4096 from main.b — same magnitude, opposite sign
    assert.match(us, /4kB .* \| {3}main\.a\n/);
    assert.match(us, /-4kB .* \| {3}main\.b\n/);
    // leakscope prints one order, whatever order the samples come in
    const rev = run(process.execPath, [cliPath, ...ours([...c, '-diff_base=base-rev.pb', 'src-rev.pb'])], dir);
    assert.equal(rev.stdout, us, `${c.join(' ')}: sample order changed leakscope's output`);
    // and that order is by name: main.a's edge before main.b's
    assert.ok(us.indexOf('|   main.a\n') < us.indexOf('|   main.b\n'));
  }
  // top has no edges: the same bytes as pprof
  same(['-top', '-diff_base=base.pb', 'src.pb'], dir);
});
