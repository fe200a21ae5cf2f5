/**
 * `traces` equals go tool pprof's byte for byte (pprof run at test time; skipped without go): on
 * the project's profiles with -unit, -base and -diff_base (base samples carry `pprof::base:  true`),
 * on a variant whose numeric labels have no unit (`request`, `alignment` and `bytes` print as
 * sizes, other keys bare; a unit given on some samples is used for all), and on the shared fixtures.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { cliPath, fixturesDir, hasFixtures, repoRoot, SKIP_NO_FIXTURES } from './helpers/paths.js';
import { hasGo, SKIP_NO_GO } from './helpers/tools.js';
import { decodeProfile, encodeProfile } from '../src/formats/pprof.js';
import { SampleTableBuilder, StringPool, type Profile } from '../src/core/profile.js';

const skipGo = hasGo() ? false : SKIP_NO_GO;

function run(cmd: string, args: string[], cwd: string) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, env: { ...process.env, TZ: 'UTC', PPROF_TMPDIR: tmpdir(), PPROF_BINARY_PATH: '/nonexistent' } });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

/** `go tool pprof -traces args…` against `leakscope traces args…`: same stdout, same success. */
function same(args: string[], cwd: string): string {
  const go = run('go', ['tool', 'pprof', '-traces', ...args], cwd);
  const ours = run(process.execPath, [cliPath, 'traces', ...args], cwd);
  const what = `traces ${args.join(' ')}`;
  assert.equal(ours.status === 0, go.status === 0, `${what}: exit ${ours.status} vs pprof's ${go.status}: ${ours.stderr}`);
  assert.equal(ours.stdout, go.stdout, what);
  return go.stdout;
}

const TD = join(repoRoot, 'testdata');
let dir = '';

/** heap.pb.gz with extra labels per sample: numeric ones without units, one with a unit on some samples only. */
function labelled(): string {
  const p: Profile = decodeProfile(gunzipSync(readFileSync(join(TD, 'profiles', 'heap.pb.gz'))));
  const pool = new StringPool(p.strings);
  const t = p.samples;
  const nt = p.sampleTypes.length;
  const b = new SampleTableBuilder(nt);
  for (let s = 0; s < t.count; s++) {
    for (let i = t.stackStart[s]!; i < t.stackStart[s + 1]!; i++) b.pushLocation(t.stack[i]!);
    for (let i = t.labelStart[s]!; i < t.labelStart[s + 1]!; i++) b.pushLabel(t.labelKey[i]!, t.labelStr[i]!, t.labelNum[i]!, t.labelUnit[i]!);
    b.pushLabel(pool.intern('request'), 0, 100 * 1024 + s, 0);
    b.pushLabel(pool.intern('alignment'), 0, 8 << (s % 4), 0);
    b.pushLabel(pool.intern('shards'), 0, s % 7, 0);
    b.pushLabel(pool.intern('wait'), 0, 1500 * (s + 1), s % 2 === 0 ? pool.intern('nanoseconds') : 0);
    b.pushLabel(pool.intern('handler'), pool.intern(`/api/${s % 3}`), 0, 0);
    if (s % 5 === 0) b.pushLabel(pool.intern('handler'), pool.intern('/extra'), 0, 0);
    for (let k = 0; k < nt; k++) b.setValue(k, t.values[s * nt + k]!);
    b.endSample();
  }
  const out = join(dir, 'labelled.pb');
  writeFileSync(out, encodeProfile({ ...p, samples: b.build(), strings: pool.strings }));
  return out;
}

before(() => {
  if (!skipGo) dir = mkdtempSync(join(tmpdir(), 'leakscope-traces-'));
});
after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('traces on the project profiles: units, bases, filters', { skip: skipGo }, () => {
  same(['profiles/heap.pb.gz'], TD);
  same(['-unit=MB', 'profiles/heap.pb.gz'], TD);
  same(['-unit=B', '-sample_index=alloc_space', 'profiles/heap.pb.gz'], TD);
  same(['-unit=ms', 'profiles/cpu.pb.gz'], TD);
  same(['-unit=s', '-sample_index=samples', 'profiles/cpu.pb.gz'], TD);
  same(['profiles/goroutine.pb.gz'], TD);
  same(['-base=profiles/heap.base.pb.gz', 'profiles/heap.pb.gz'], TD);
  const diff = same(['-diff_base=profiles/heap.base.pb.gz', 'profiles/heap.pb.gz'], TD);
  assert.match(diff, /^pprof::base:  true$/m);
  same(['-diff_base=profiles/heap.base.pb.gz', '-unit=kB', '-focus=newSession', 'profiles/heap.pb.gz'], TD);
  same(['-lines', '-hide=runtime', 'profiles/heap.pb.gz'], TD);
});

test('traces: numeric labels without a unit print as pprof infers it', { skip: skipGo }, () => {
  const p = labelled();
  const out = same([p], dir);
  assert.match(out, /^   request:  100kB$/m);
  assert.match(out, /^ alignment:  8B$/m);
  same(['-unit=kB', p], dir);
  same(['-sample_index=alloc_objects', p], dir);
});

test('traces equal go tool pprof on the shared fixtures', { skip: skipGo || (hasFixtures ? false : SKIP_NO_FIXTURES) }, () => {
  const svc = join(fixturesDir, 'go', 'leakysvc');
  same(['profiles/heap.5.pb.gz'], svc);
  same(['-diff_base=profiles/heap.1.pb.gz', 'profiles/heap.5.pb.gz'], svc);
  same(['-unit=MB', '-sample_index=alloc_space', 'profiles/allocs.5.pb.gz'], svc);
  same(['profiles/goroutine.5.pb.gz'], svc);
  const peers = join(fixturesDir, 'peers', 'pprof', 'profiles');
  for (const f of ['pprof.testdata.heap_delta', 'pprof.testdata.profile_java', 'og.convert.pprof.testdata.cpu-js.pb.gz', 'og.convert.pprof.testdata.nodejs-heap.pb.gz', 'pprof.testdata.gotruncatefix.heap_go_truncated_4.pb.gz']) {
    same([f], peers);
  }
});
