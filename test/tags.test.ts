/**
 * Labels: `leakscope tags` and the tag flags (-tagfocus, -tagignore, -tagshow, -taghide,
 * -tagroot, -tagleaf) on top/peek/tree/traces/list/diff, checked byte for byte (stdout and stderr)
 * against go tool pprof run at test time on real labelled profiles: a Go program
 * (test/programs/go-labels, built here) writes goroutine and CPU profiles with pprof.Do labels and a
 * heap profile with Go's `bytes` labels; a profile built here carries numeric labels with units
 * (ms, bytes, none), several values per key, string and numeric values under one key, and the
 * pprof::base labels of -diff_base. Skips the comparisons without go; the golden and unit tests run
 * everywhere.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliPath, repoRoot } from './helpers/paths.js';
import { hasGo, SKIP_NO_GO } from './helpers/tools.js';
import { makeProfile } from './helpers/profiles.js';
import { encodeProfile } from '../src/formats/pprof.js';
import { SampleTableBuilder, StringPool, type Profile } from '../src/core/profile.js';
import { compileTagFilter, parseTagFilterRange, splitByLabel } from '../src/core/tags.js';
import { tabwriteAlignRight } from '../src/report/tags.js';

const skipGo = hasGo() ? false : SKIP_NO_GO;
const TD = join(repoRoot, 'testdata');
const ENV = { ...process.env, TZ: 'UTC', PPROF_TMPDIR: tmpdir(), PPROF_BINARY_PATH: '/nonexistent' };

interface Out {
  stdout: string;
  stderr: string;
  status: number;
}
function runAsync(cmd: string, args: string[], cwd: string): Promise<Out> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, env: ENV, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const status = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      resolve({ stdout, stderr, status });
    });
  });
}

/** pprof's `-tags`, `-top`, `-peek=RE`, `-list=RE` first argument → leakscope's command line. */
function ours(goArgs: string[]): string[] {
  const [mode, ...rest] = goArgs;
  for (const m of ['peek', 'list']) if (mode!.startsWith(`-${m}=`)) return [m, mode!.slice(m.length + 2), ...rest];
  return [mode!.slice(1), ...rest];
}

/** Runs each case under both tools (two at a time) and asserts the same stdout and stderr. */
async function allSame(cases: string[][], cwd: string): Promise<number> {
  let next = 0;
  let checked = 0;
  const worker = async () => {
    while (next < cases.length) {
      const goArgs = cases[next++]!;
      const [go, us] = await Promise.all([runAsync('go', ['tool', 'pprof', ...goArgs], cwd), runAsync(process.execPath, [cliPath, ...ours(goArgs)], cwd)]);
      const what = goArgs.join(' ');
      if (go.status !== 0) {
        // pprof's error (for instance "no matches found for regexp"): the same line, our prefix
        assert.notEqual(us.status, 0, `leakscope ${what} succeeded where pprof failed: ${go.stderr}`);
        assert.equal(us.stderr.replace(/^leakscope [a-z]+: /m, ''), go.stderr, `stderr of ${what}`);
        checked++;
        continue;
      }
      assert.equal(us.status, 0, `leakscope ${what}: ${us.stderr}`);
      assert.equal(us.stdout, go.stdout, what);
      // pprof's notes and warnings, in its order (leakscope prefixes only its errors)
      assert.equal(us.stderr, go.stderr, `stderr of ${what}`);
      checked++;
    }
  };
  await Promise.all([worker(), worker()]);
  return checked;
}

/** A profile with the label shapes Go's runtime does not write. */
function unitLabelsProfile(): Profile {
  const base = makeProfile({ samples: 60, functions: 12, depth: [2, 5], stacks: 10, seed: 7, bytesLabel: false });
  const pool = new StringPool(base.strings);
  const k = (s: string) => pool.intern(s);
  const t = base.samples;
  const nt = base.sampleTypes.length;
  const b = new SampleTableBuilder(nt, t.count);
  const routes = ['/api/users', '/api/orders', '/süß', '/healthz'];
  for (let s = 0; s < t.count; s++) {
    for (let i = t.stackStart[s]!; i < t.stackStart[s + 1]!; i++) b.pushLocation(t.stack[i]!);
    for (let v = 0; v < nt; v++) b.setValue(v, t.values[s * nt + v]!);
    b.pushLabel(k('route'), k(routes[s % 4]!), 0, 0);
    if (s % 3 === 0) b.pushLabel(k('route'), k('/also'), 0, 0); // two values under one key
    b.pushLabel(k('latency'), 0, 5 + (s % 7) * 350, s % 5 === 0 ? 0 : k('ms')); // unit on most values
    b.pushLabel(k('request'), 0, 512 * (1 + (s % 4)), 0); // no unit: pprof reads bytes
    if (s % 2 === 0) b.pushLabel(k('wait'), 0, 1500 + s * 1000, k('nanoseconds'));
    if (s % 4 === 1) b.pushLabel(k('mixed'), k('text'), 0, 0);
    if (s % 4 === 2) b.pushLabel(k('mixed'), 0, 3, 0); // string and number under one key
    b.pushLabel(k('trace_id'), k(`t${s % 6}`), 0, 0);
    b.pushLabel(k('size'), 0, 2 + (s % 3), k(s % 10 === 3 ? 'kilobytes' : 'bytes')); // two units: pprof notes it
    b.endSample();
  }
  return { ...base, strings: pool.strings, samples: b.build() };
}

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'leakscope-tags-'));
  writeFileSync(join(dir, 'units.pb'), encodeProfile(unitLabelsProfile()));
  writeFileSync(join(dir, 'synthetic.pb'), encodeProfile(makeProfile({ samples: 300, stacks: 30, seed: 3 })));
  if (!skipGo) {
    const bin = join(dir, 'go-labels');
    const build = spawnSync('go', ['build', '-o', bin, '.'], { cwd: join(repoRoot, 'test', 'programs', 'go-labels'), encoding: 'utf8', env: { ...process.env, GOFLAGS: '-mod=mod' } });
    assert.equal(build.status, 0, `go build: ${build.stderr}`);
    const r = spawnSync(bin, [dir], { encoding: 'utf8' });
    assert.equal(r.status, 0, `go-labels: ${r.stderr}`);
  }
});
after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('tags: the -tags report of real Go profiles and of labels with units equals go tool pprof', { skip: skipGo }, async () => {
  const cases: string[][] = [];
  for (const f of ['goroutine.pb.gz', 'cpu.pb.gz', 'heap.pb.gz', 'units.pb', 'synthetic.pb']) {
    for (const flags of [[], ['-unit=kB', '-sample_index=0'], ['-unit=ms', '-tagshow=route|tenant|latency'], ['-taghide=trace', '-tagfocus=route=/api/users'], ['-tagignore=tenant:acme', '-tagfocus=bytes=1kb:'], ['-tagfocus=latency=:1s'], ['-tagfocus=400ms:2s', '-focus=main', '-tagignore=users,acme']]) {
      cases.push(['-tags', ...flags, f]);
    }
  }
  cases.push(['-tags', join(TD, 'profiles/heap.pb.gz')], ['-tags', '-sample_index=alloc_objects', join(TD, 'profiles/heap.pb.gz')]);
  // -diff_base marks the base's samples with pprof::base (negative values: no percentages)
  cases.push(['-tags', `-diff_base=${join(TD, 'profiles/heap.base.pb.gz')}`, join(TD, 'profiles/heap.pb.gz')]);
  cases.push(['-tags', `-diff_base=${join(TD, 'profiles/heap.pb.gz')}`, join(TD, 'profiles/heap.base.pb.gz')]);
  assert.equal(await allSame(cases, dir), cases.length);
});

test('tag filters on top, peek, tree, traces, list and diff equal go tool pprof (stdout and warnings)', { skip: skipGo }, async () => {
  const filters = [
    ['-tagfocus=route=/api/users'],
    ['-tagfocus=route=users,health'], // with a key: any regex
    ['-tagfocus=users,acme'], // without: every regex on key:value
    ['-tagignore=tenant:acme', '-tagfocus=route'],
    ['-tagfocus=nomatch', '-tagignore=nomatch'],
    ['-tagshow=route', '-taghide=nomatch'],
    ['-tagfocus=bytes=1kb:'],
    ['-tagfocus=:4kb'],
    ['-tagfocus=1kb:64kb', '-relative_percentages'],
    ['-tagignore=1mb'],
    ['-tagfocus=bytes=1024'], // no unit: pprof matches nothing of a byte label
    ['-tagroot=route'],
    ['-tagleaf=tenant,route', '-tagroot=nomatch'],
    ['-tagroot=route,tenant', '-tagfocus=trace_id=9e37', '-unit=kB'],
    ['-tagroot=bytes', '-tagleaf=latency,request'],
  ];
  const cases: string[][] = [];
  ['goroutine.pb.gz', 'cpu.pb.gz', 'heap.pb.gz', 'units.pb'].forEach((f, j) => {
    filters.forEach((fl, i) => {
      // each filter under four of the five reports, one per profile
      const modes = ['-top', '-tree', '-traces', '-peek=main|handler', '-list=main.spin'];
      cases.push([modes[(i + j) % modes.length]!, ...fl, f]);
    });
  });
  cases.push(['-top', '-tagroot=route', '-nodecount=5', 'goroutine.pb.gz'], ['-peek=/api', '-tagroot=route', 'goroutine.pb.gz']);
  cases.push(['-top', '-tagfocus=bytes=64kb:', `-diff_base=${join(TD, 'profiles/heap.base.pb.gz')}`, join(TD, 'profiles/heap.pb.gz')]);
  cases.push(['-top', '-tagignore=pprof::base', `-diff_base=${join(TD, 'profiles/heap.base.pb.gz')}`, join(TD, 'profiles/heap.pb.gz')]);
  assert.equal(await allSame(cases, dir), cases.length);
  // leakscope diff BASE NEW is pprof's -top -diff_base=BASE NEW
  const base = join(TD, 'profiles/heap.base.pb.gz');
  const heap = join(TD, 'profiles/heap.pb.gz');
  const [go, us] = await Promise.all([
    runAsync('go', ['tool', 'pprof', '-top', '-tagfocus=bytes=1kb:2kb', `-diff_base=${base}`, heap], dir),
    runAsync(process.execPath, [cliPath, 'diff', '-tagfocus=bytes=1kb:2kb', base, heap], dir),
  ]);
  assert.equal(us.stdout, go.stdout);
  assert.equal(us.stderr, go.stderr);
});

test('tags: golden output of go tool pprof -tags on the project heap profile', () => {
  for (const [golden, args] of [
    ['heap.inuse_space.tags.txt', ['tags', 'profiles/heap.pb.gz']],
    ['heap.alloc_space.unit_B.tagfocus.tags.txt', ['tags', '-sample_index=alloc_space', '-unit=B', '-tagfocus=bytes=1kb:64kb', 'profiles/heap.pb.gz']],
  ] as const) {
    const r = spawnSync(process.execPath, [cliPath, ...args], { cwd: TD, encoding: 'utf8', env: ENV });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, readFileSync(join(TD, 'golden', golden), 'utf8'), golden);
  }
});

test('tags: bad input is one line on stderr and a non-zero exit', () => {
  const cases: [string[], number, RegExp][] = [
    [['tags'], 2, /^leakscope tags: tags: no profile given\n$|^leakscope tags: .*no profile given\n$/],
    [['tags', '-tagfocus=(', 'profiles/heap.pb.gz'], 1, /^leakscope tags: invalid tagfocus regular expression "\(".*\n$/],
    [['top', '-tagshow=[', 'profiles/heap.pb.gz'], 1, /^leakscope top: invalid tagshow regular expression "\[".*\n$/],
    [['tags', '-tagfocus=bytes=99999999999999999999kb', 'profiles/heap.pb.gz'], 2, /^leakscope tags: tagfocus: failed to parse int 99999999999999999999\n$/],
    [['tags', 'profiles/nonexistent.pb.gz'], 1, /^leakscope tags: .*nonexistent.*\n$/],
  ];
  for (const [args, code, err] of cases) {
    const r = spawnSync(process.execPath, [cliPath, ...args], { cwd: TD, encoding: 'utf8', env: ENV });
    assert.equal(r.status, code, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, err, args.join(' '));
    assert.equal(r.stdout, '');
  }
});

test('tags --json: keys, values and totals as numbers', () => {
  const r = spawnSync(process.execPath, [cliPath, 'tags', '--json', '-sample_index=inuse_objects', 'profiles/heap.pb.gz'], { cwd: TD, encoding: 'utf8', env: ENV });
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout) as { sampleType: string; tags: { key: string; total: number; values: { value: string; total: number }[] }[] };
  assert.equal(j.sampleType, 'inuse_objects');
  assert.deepEqual(j.tags.map((t) => t.key), ['bytes']);
  const bytes = j.tags[0]!;
  assert.equal(bytes.values.reduce((a, v) => a + v.total, 0), bytes.total);
  assert.ok(bytes.values.every((v, i) => i === 0 || Math.abs(bytes.values[i - 1]!.total) >= Math.abs(v.total)));
});

test("parseTagFilterRange: pprof's forms and units", () => {
  const kb = parseTagFilterRange('1kb:')!;
  assert.equal(kb(1024, 'bytes'), true);
  assert.equal(kb(1023, 'bytes'), false);
  assert.equal(kb(5000, 'ms'), false); // another unit never matches
  const between = parseTagFilterRange('12kb:64mb')!;
  assert.equal(between(12 * 1024, 'B'), true);
  assert.equal(between(64 * 1024 * 1024 + 1, 'B'), false);
  assert.equal(parseTagFilterRange('1kb:2s'), undefined); // units of two kinds: a regex
  assert.equal(parseTagFilterRange('/api/v1'), undefined);
  assert.equal(parseTagFilterRange('users'), undefined);
  const eq = parseTagFilterRange('32kb')!;
  assert.equal(eq(32768, 'bytes'), true);
  assert.equal(eq(32769, 'bytes'), false);
  const le = parseTagFilterRange(':2s')!;
  assert.equal(le(2e9, 'nanoseconds'), true);
  assert.equal(le(2001, 'ms'), false);
  // a bare number has no unit: it matches unitless labels only
  const bare = parseTagFilterRange('3')!;
  assert.equal(bare(3, 'mixed'), true);
  assert.equal(bare(3, 'bytes'), false);
  const f = compileTagFilter('tagfocus', 'route=1', new Map());
  assert.equal(f!.note, "tagfocus:Interpreted '1' as range, not regexp");
});

test("tabwriteAlignRight: Go's text/tabwriter blocks, right-aligned cells, padding 1", () => {
  assert.equal(tabwriteAlignRight('a:\t Total 1\n \t10 (x):\t v\n \t1 (y):\t longer\n\nkey:\t T\n \t1:\t z\n'), ' a: Total 1\n    10 (x): v\n     1 (y): longer\n\n key: T\n      1: z\n');
  assert.equal(tabwriteAlignRight('no tabs\n'), 'no tabs\n');
  assert.equal(tabwriteAlignRight('ü\tx\nab\ty\n'), '  üx\n aby\n'); // widths in runes (checked against Go's text/tabwriter)
});

test('splitByLabel: user frames renamed per label value, runtime frames and unlabelled samples kept', () => {
  const pool = new StringPool();
  const b = new SampleTableBuilder(1, 3);
  const route = pool.intern('route');
  const stack = [0, 1]; // leaf first: runtime.gopark, then main.wait
  for (const [v, r] of [[5, '/a'], [7, '/b'], [11, '']] as const) {
    for (const l of stack) b.pushLocation(l);
    b.setValue(0, v);
    if (r) b.pushLabel(route, pool.intern(r), 0, 0);
    b.endSample();
  }
  const p: Profile = {
    ...makeProfile({ samples: 0, functions: 1 }),
    sampleTypes: [{ type: 'goroutine', unit: 'count' }],
    functions: [
      { id: 1, name: 'runtime.gopark', systemName: '', filename: '/go/src/runtime/proc.go', startLine: 1 },
      { id: 2, name: 'main.wait', systemName: '', filename: '/src/main.go', startLine: 9 },
    ],
    locations: [0, 1].map((i) => ({ id: i + 1, mapping: -1, address: 0n, lines: [{ fn: i, line: 10, column: 0 }], isFolded: false })),
    strings: pool.strings,
    samples: b.build(),
  };
  const q = splitByLabel(p, 'route');
  const names = (s: number) => {
    const out: string[] = [];
    for (let i = q.samples.stackStart[s]!; i < q.samples.stackStart[s + 1]!; i++) out.push(q.functions[q.locations[q.samples.stack[i]!]!.lines[0]!.fn]!.name);
    return out;
  };
  assert.deepEqual(names(0), ['runtime.gopark', 'main.wait {route=/a}']);
  assert.deepEqual(names(1), ['runtime.gopark', 'main.wait {route=/b}']);
  assert.deepEqual(names(2), ['runtime.gopark', 'main.wait']);
  assert.deepEqual([...q.samples.values], [5, 7, 11]);
  assert.equal(new Set(q.locations.map((l) => l.id)).size, q.locations.length, 'location ids stay unique');
  assert.equal(new Set(q.functions.map((f) => f.id)).size, q.functions.length, 'function ids stay unique');
});
