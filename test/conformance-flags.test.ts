/**
 * The pprof flags leakscope used to refuse, now accepted with pprof's meaning and checked byte for
 * byte against go tool pprof at run time (skipped without go): -relative_percentages,
 * -divide_by, -compact_labels, -mean and -mean_delay, -call_tree (ignored by text reports, as
 * pprof does) and
 * -all_frames (Go 1.19's pprof predates it: checked against pprof on the same profile without its
 * drop_frames, which is what the flag means).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { cliPath, repoRoot } from './helpers/paths.js';
import { hasGo, SKIP_NO_GO } from './helpers/tools.js';
import { decodeProfile, encodeProfile } from '../src/formats/pprof.js';

const skipGo = hasGo() ? false : SKIP_NO_GO;
const TD = join(repoRoot, 'testdata');

function run(cmd: string, args: string[], cwd: string) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, env: { ...process.env, TZ: 'UTC', PPROF_TMPDIR: tmpdir(), PPROF_BINARY_PATH: '/nonexistent' } });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

function ours(goArgs: string[]): string[] {
  const [mode, ...rest] = goArgs;
  if (mode!.startsWith('-peek=')) return ['peek', mode!.slice('-peek='.length), ...rest];
  if (mode!.startsWith('-list=')) return ['list', mode!.slice('-list='.length), ...rest];
  return [mode!.slice(1), ...rest];
}

function leakscope(args: string[], cwd = TD) {
  const r = run(process.execPath, [cliPath, ...args], cwd);
  assert.equal(r.status, 0, `leakscope ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

function pprof(args: string[], cwd = TD) {
  const r = run('go', ['tool', 'pprof', ...args], cwd);
  assert.equal(r.status, 0, `go tool pprof ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

function same(goArgs: string[], cwd = TD): string {
  const go = pprof(goArgs, cwd);
  assert.equal(leakscope(ours(goArgs), cwd), go, goArgs.join(' '));
  return go;
}

const HEAP = 'profiles/heap.pb.gz';
const CPU = 'profiles/cpu.pb.gz';

test('-relative_percentages: percentages of what the filters keep', { skip: skipGo }, () => {
  const rel = same(['-top', '-relative_percentages', '-focus=newSession', HEAP]);
  assert.match(rel, /accounting for .*, 100% of /);
  same(['-top', '-relative_percentages', '-ignore=newSession', '-hide=runtime', HEAP]);
  same(['-tree', '-relative_percentages', '-focus=handleRequest', HEAP]);
  same(['-peek=main', '-relative_percentages', '-show_from=handleRequest', HEAP]);
  same(['-traces', '-relative_percentages', '-focus=newSession', HEAP]);
  same(['-list=newSession', '-relative_percentages', '-focus=newSession', HEAP]);
  same(['-top', '-relative_percentages', '-focus=hashLoop', CPU]);
});

test('-divide_by: every printed value divided, units chosen for the divided values', { skip: skipGo }, () => {
  same(['-top', '-divide_by=3', HEAP]);
  same(['-top', '-divide_by=1024', HEAP]);
  same(['-top', '-divide_by=0.5', '-unit=B', HEAP]);
  same(['-top', '-divide_by=-2', '-diff_base=profiles/heap.base.pb.gz', HEAP]);
  same(['-tree', '-divide_by=1024', HEAP]);
  same(['-peek=main', '-divide_by=3.7', CPU]);
  same(['-top', '-divide_by=1000000', CPU]);
  same(['-traces', '-divide_by=7', CPU]);
  same(['-list=main', '-divide_by=2', HEAP]);
  const r = run(process.execPath, [cliPath, 'top', '-divide_by=0', HEAP], TD);
  assert.equal(r.status, 2);
  assert.equal(r.stderr, 'leakscope top: --divide-by: zero divisor specified\n');
});

test('-compact_labels: no profile header in top and tree; traces and list keep theirs', { skip: skipGo }, () => {
  const top = same(['-top', '-compact_labels', CPU]);
  assert.match(top, /^Showing nodes/);
  same(['-top', '-compact_labels', '-focus=main', HEAP]);
  same(['-tree', '-compact_labels', '-focus=main', CPU]);
  same(['-peek=main', '-compact_labels', HEAP]);
  same(['-traces', '-compact_labels', 'profiles/goroutine.pb.gz']);
});

test('-call_tree: accepted; the text reports ignore it as pprof does; graph refuses it', { skip: skipGo }, () => {
  same(['-top', '-call_tree', HEAP]);
  same(['-tree', '-call_tree', HEAP]);
  same(['-peek=main', '-call_tree', HEAP]);
  same(['-traces', '-call_tree', 'profiles/goroutine.pb.gz']);
  const r = run(process.execPath, [cliPath, 'graph', '-call_tree', HEAP], TD);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^leakscope graph: --call-tree, --divide-by and --mean are not supported by graph/);
});

let dir = '';
before(() => {
  if (!skipGo) dir = mkdtempSync(join(tmpdir(), 'leakscope-flags-'));
});
after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('-all_frames: the profile\'s drop_frames ignored', { skip: skipGo }, () => {
  const p = decodeProfile(gunzipSync(readFileSync(join(TD, HEAP))));
  const plain = join(dir, 'plain.pb');
  const dropping = join(dir, 'dropping.pb');
  writeFileSync(plain, encodeProfile({ ...p, dropFrames: '', keepFrames: '' }));
  writeFileSync(dropping, encodeProfile({ ...p, dropFrames: 'main\\.handleRequest', keepFrames: '' }));
  for (const mode of ['-top', '-tree', '-traces']) {
    // without the flag: pprof's pruning of the dropping profile
    const pruned = same([mode, dropping], dir);
    // with it: what pprof prints for the profile without drop_frames
    const all = leakscope([...ours([mode]), '-all_frames', dropping], dir);
    assert.equal(all, pprof([mode, plain], dir), `${mode} -all_frames`);
    assert.notEqual(all, pruned, `${mode}: drop_frames changes the report`);
  }
});

test('-mean and -mean_delay: node values are means (sums over counts), trimming and edges on sums', { skip: skipGo }, () => {
  for (const mode of ['-top', '-tree', '-peek=main', '-traces', '-list=main']) same([mode, '-mean', CPU]);
  same(['-top', '-mean', '-nodefraction=0', '-cum', CPU]);
  same(['-top', '-mean', '-nodecount=3', '-sample_index=alloc_space', HEAP]);
  same(['-tree', '-mean', '-sample_index=alloc_space', HEAP]);
  same(['-top', '-mean', '-diff_base=profiles/heap.base.pb.gz', HEAP]);
  same(['-tree', '-mean', '-diff_base=profiles/heap.base.pb.gz', HEAP]);
  // a contention profile (the CPU profile's samples/cpu renamed contentions/delay)
  const p = decodeProfile(gunzipSync(readFileSync(join(TD, CPU))));
  const block = join(dir, 'block.pb');
  writeFileSync(block, encodeProfile({ ...p, sampleTypes: [{ type: 'contentions', unit: 'count' }, { type: 'delay', unit: 'nanoseconds' }], periodType: { type: 'contentions', unit: 'count' }, defaultSampleType: '' }));
  for (const mode of ['-top', '-tree', '-traces']) {
    const out = same([mode, '-mean_delay', block], dir);
    assert.match(out, /^Type: mean_delay$/m);
    same([mode, '-total_delay', block], dir);
    same([mode, '-contentions', block], dir);
  }
  const r = run(process.execPath, [cliPath, 'graph', '-mean', CPU], TD);
  assert.equal(r.status, 2);
});
