/**
 * Legacy profiles (go tool pprof's legacy readers): inputs generated here in the documented layouts
 * (test/helpers/legacy-gen.ts) — text heap profiles of every header form, Go count, threadz,
 * contention, Java heapz / contentionz, gperftools and Java binary CPU profiles in 32/64-bit, little
 * and big endian — then `leakscope top` (and traces / tree / peek) compared byte for byte with
 * `go tool pprof` on the same files, and every sample (values, stack, bytes label) compared with
 * `go tool pprof -raw`; and a Go program's own debug=1 text profiles (test/programs/legacy-go)
 * compared the same way. Without go, the numbers checked by hand below still run.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { main } from '../src/cli/main.js';
import type { Profile } from '../src/core/profile.js';
import { LeakscopeError } from '../src/core/errors.js';
import { parseProfileBytes } from '../src/node/source.js';
import { prepareReport } from '../src/report/prepare.js';
import { renderTopText, topReport } from '../src/report/top.js';
import * as G from './helpers/legacy-gen.js';
import { cliPath, repoRoot } from './helpers/paths.js';
import { rng } from './helpers/profiles.js';
import { hasGo, SKIP_NO_GO } from './helpers/tools.js';

let dir = '';
const files: string[] = [];

function put(name: string, data: string | Uint8Array): string {
  const f = path.join(dir, name);
  writeFileSync(f, data);
  files.push(f);
  return f;
}

before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'leakscope-legacy-'));
  const variants: G.HeapVariant[] = ['heapprofile', 'heap_v2/524288', 'heap/1048576', 'heap_v2', 'growthz', 'fragmentationz'];
  for (const v of variants) put(`heap-${v.replace('/', '_')}.txt`, G.heapText(3, v, { alloc: v.startsWith('heap') }));
  put('heap-noalloc.txt', G.heapText(4, 'heap_v2/524288', { alloc: false, maps: false }));
  put('goroutine.txt', G.goCountText(5));
  put('threadcreate.txt', G.goCountText(13, 'threadcreate'));
  put('threadz.txt', G.threadzText(6));
  put('contentionz.txt', G.contentionText(7, { cyclesPerSecond: 2400000000, period: 100, msSinceReset: 5000 }));
  put('mutex.txt', G.contentionText(8, { header: '--- mutex:', cyclesPerSecond: 3000000000 }));
  put('contention-go.txt', G.contentionText(14, { header: '--- contention:', period: 1 }));
  put('java-heapz.txt', G.javaHeapText(9));
  put('java-contentionz.txt', G.javaContentionText(10));
  const layouts: Array<[string, G.CpuLayout]> = [
    ['32l', { wordSize: 4, little: true }],
    ['32b', { wordSize: 4, little: false }],
    ['64l', { wordSize: 8, little: true }],
    ['64b', { wordSize: 8, little: false }],
  ];
  for (const [n, l] of layouts) {
    put(`cpu-${n}.prof`, G.cppCpuBinary(11, l));
    put(`javacpu-${n}.prof`, G.javaCpuBinary(12, l));
  }
  // gzip'd, as a server may send it
  put('heap-gz.txt.gz', gzipSync(G.heapText(15, 'heap_v2/524288', { alloc: true })));
});
after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** `leakscope …` in this process (the CLI's own main), stdout and exit code. */
async function leakscope(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, { stdout: (s) => void (stdout += s), stderr: (s) => void (stderr += s), isTTY: false });
  return { code, stdout, stderr };
}

function pprof(args: string[]): string {
  const r = spawnSync('go', ['tool', 'pprof', ...args], { encoding: 'utf8', maxBuffer: 64 << 20, env: { ...process.env, TZ: 'UTC', PPROF_TMPDIR: dir, PPROF_BINARY_PATH: dir } });
  assert.equal(r.status, 0, `go tool pprof ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

const load = (f: string): Profile => parseProfileBytes(readFileSync(f), f);

test('hand-checked numbers: heapprofile as is, heap_v2 unsampled, contention scaled to ns, CPU words', async () => {
  const heap = put(
    'hand-heap.txt',
    ['heap profile: 3: 3072 [ 7: 9216] @ heapprofile', '2: 2048 [ 5: 5120] @ 0x401000 0x402010 0x403020', '1: 1024 [ 2: 4096] @ 0x404000 0x403020', ''].join('\n'),
  );
  const p = load(heap);
  assert.deepEqual(p.sampleTypes.map((t) => t.type), ['alloc_objects', 'alloc_space', 'inuse_objects', 'inuse_space']);
  assert.deepEqual([...p.samples.values], [5, 5120, 2, 2048, 2, 4096, 1, 1024]);
  // return addresses minus one; the bytes label is the inuse block size
  assert.deepEqual(p.locations.map((l) => l.address.toString(16)), ['400fff', '40200f', '40301f', '403fff']);
  assert.deepEqual([...p.samples.labelNum], [1024, 1024]);
  const top = await leakscope(['top', '-addresses', heap]);
  assert.equal(top.code, 0, top.stderr);
  assert.match(top.stdout, /^Type: inuse_space\nShowing nodes accounting for 3kB, 100% of 3kB total\n/);

  // heap_v2/524288: count and size divided by 1 - exp(-avg/rate)
  const v2 = load(put('hand-v2.txt', 'heap profile: 1: 262144 [ 1: 262144] @ heap_v2/524288\n1: 262144 [ 1: 262144] @ 0x1000\n'));
  const scale = 1 / (1 - Math.exp(-262144 / 524288));
  assert.deepEqual([...v2.samples.values], [Math.trunc(scale), Math.trunc(262144 * scale)]);

  // contention: delay cycles × period / GHz → ns; count × period
  const c = load(put('hand-cont.txt', '--- contentionz 1 ---\ncycles/second = 2000000000\nsampling period = 10\nms since reset = 1500\n4000 3 @ 0x2000 0x3000\n'));
  assert.deepEqual([...c.samples.values], [30, 20000]);
  assert.equal(c.durationNanos, 1_500_000_000n);
  assert.deepEqual(c.sampleTypes.map((t) => `${t.type}/${t.unit}`), ['contentions/count', 'delay/nanoseconds']);

  // a 64-bit little-endian CPU profile: period 1000us → 1ms per sample
  // (two samples with different callers: with one, pprof would take its caller for the signal handler's frame)
  const w = [0n, 3n, 0n, 1000n, 0n, 7n, 2n, 0x401234n, 0x405678n, 3n, 2n, 0x401234n, 0x406000n, 0n, 1n, 0n];
  const b = new Uint8Array(w.length * 8);
  w.forEach((x, i) => new DataView(b.buffer).setBigUint64(i * 8, x, true));
  const cpu = load(put('hand-cpu.prof', b));
  assert.deepEqual([...cpu.samples.values], [7, 7_000_000, 3, 3_000_000]);
  assert.deepEqual(cpu.locations.map((l) => l.address.toString(16)), ['401234', '405677', '405fff']);
  assert.deepEqual(cpu.sampleTypes.map((t) => `${t.type}/${t.unit}`), ['samples/count', 'cpu/nanoseconds']);
  assert.equal(cpu.period, 1_000_000);
});

test('jemalloc heap profile (newer pprof only, checked by hand): one sample per thread, unsampled, the last backtrace left out as pprof does', async () => {
  const f = put(
    'hand-jemalloc.txt',
    [
      'heap_v2/1048576',
      '  t*: 172890: 2518883822 [0: 0]',
      '  t0: 106: 14360 [0: 0]',
      '@ 0x55c282d19bbc 0x55c282d0b3c5',
      '  t*: 37: 2425572 [0: 0]',
      '  t1: 20: 1311120 [0: 0]',
      '  t10: 1: 65556 [0: 0]',
      '  t2: 16: 1048896 [0: 0]',
      '@ 0x55c282d19bbc 0x55c282d0b3c6',
      '  t1: 5: 327780 [0: 0]',
      '',
      'MAPPED_LIBRARIES:',
      '55c281e00000-55c283400000 r-xp 00000000 08:01 1 /usr/bin/server',
      '',
    ].join('\n'),
  );
  const p = load(f);
  assert.deepEqual(p.sampleTypes.map((t) => t.type), ['objects', 'space']);
  assert.equal(p.period, 1048576);
  const scale = 1 / (1 - Math.exp(-65556 / 1048576));
  // threads in string order (1, 10, 2), each with its thread and bytes labels
  assert.deepEqual([...p.samples.values], [Math.trunc(20 * scale), Math.trunc(1311120 * scale), Math.trunc(1 * scale), Math.trunc(65556 * scale), Math.trunc(16 * scale), Math.trunc(1048896 * scale)]);
  assert.deepEqual([...p.samples.values].slice(0, 2), [330, 21633910]);
  assert.deepEqual([...p.samples.labelStr].map((i) => p.strings[i]), ['1', '', '10', '', '2', '']);
  assert.deepEqual(p.locations.map((l) => l.address.toString(16)), ['55c282d19bbb', '55c282d0b3c4']);
  const t = await leakscope(['traces', f]);
  assert.equal(t.code, 0, t.stderr);
  assert.match(t.stdout, /^File: server\nType: space\n-+\+-+\n {4}thread: {2}1\n {5}bytes: {2}64\.02kB\n {3}20\.63MB {3}\[server\]\n/);
});

test('bad legacy input: one line naming the row, exit 1; a text heap profile is never "corrupt protobuf"', async () => {
  const bad = put('bad-heap.txt', 'heap profile: 1: 2 [3: 4] @ heapprofile\n1: 2 [3: 4] @ 0x1000\nthis is not a row\n');
  const r = spawnSync(process.execPath, [cliPath, 'top', bad], { encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /bad-heap\.txt: heap profile, line 3: expected "inuse_count: inuse_bytes \[alloc_count: alloc_bytes\] @ 0x…", got "this is not a row"/);
  assert.doesNotMatch(r.stderr, /protobuf/);
  const zero = put('bad-zero.txt', 'heap profile: 1: 2 [3: 4] @ heapprofile\n0: 2 [3: 4] @ 0x1000\n');
  const z = await leakscope(['top', zero]);
  assert.equal(z.code, 1);
  assert.match(z.stderr, /inuse count was 0 but inuse bytes was 2/);
  const java = put('bad-java.txt', '--- heapz 1 ---\nformat = java\nresolution = bytes\n 10 0 @ 0x10\n');
  const j = await leakscope(['top', java]);
  assert.equal(j.code, 1);
  assert.match(j.stderr, /second value must be non-zero/);
  // a goroutine header whose rows are not count rows
  const g = await leakscope(['top', put('bad-count.txt', 'goroutine profile: total 3\n3 at main.go\n')]);
  assert.equal(g.code, 1);
  assert.match(g.stderr, /goroutine profile, line 2: expected "<count> @ 0x… 0x…"/);
  // info works on a text heap profile
  const info = await leakscope(['info', files[0]!]);
  assert.equal(info.code, 0, info.stderr);
});

const REPORTS: string[][] = [['-top'], ['-top', '-addresses'], ['-top', '-sample_index=0'], ['-top', '-files'], ['-traces'], ['-tree'], ['-peek', '.']];

test('top, traces, tree and peek print what go tool pprof prints on every legacy file', { skip: hasGo() ? false : SKIP_NO_GO }, async () => {
  let compared = 0;
  for (const f of files) {
    if (path.basename(f).startsWith('bad-')) continue;
    // the Go installed here may predate pprof's jemalloc reader (added after Go 1.19's)
    if (path.basename(f).includes('jemalloc') && spawnSync('go', ['tool', 'pprof', '-top', f], { encoding: 'utf8' }).status !== 0) continue;
    for (const args of REPORTS) {
      // a growth / fragmentation / Go count profile has one sample type: -sample_index=0 is the default
      const want = pprof([...args, f]);
      const cmd = args[0]!.slice(1);
      const got = await leakscope([cmd, ...args.slice(1), f]);
      assert.equal(got.code, 0, `${cmd} ${f}: ${got.stderr}`);
      assert.equal(got.stdout, want, `leakscope ${cmd} ${args.slice(1).join(' ')} ${path.basename(f)}`);
      compared++;
    }
  }
  assert.ok(compared >= 150, `${compared} comparisons`);
});

/** One sample as a line: values, stack (addresses or functions with file:line), bytes label. */
function ourSamples(p: Profile): string[] {
  const n = p.sampleTypes.length;
  const t = p.samples;
  const loc = (i: number) => {
    const l = p.locations[i]!;
    if (l.lines.length === 0) return `0x${l.address.toString(16)}`;
    const f = p.functions[l.lines[0]!.fn]!;
    return `${f.name} ${f.filename}:${l.lines[0]!.line}`;
  };
  // pprof merges samples with the same stack and labels (summing values)
  const merged = new Map<string, number[]>();
  for (let s = 0; s < t.count; s++) {
    const stack: string[] = [];
    for (let k = t.stackStart[s]!; k < t.stackStart[s + 1]!; k++) stack.push(loc(t.stack[k]!));
    const labels: string[] = [];
    for (let k = t.labelStart[s]!; k < t.labelStart[s + 1]!; k++) labels.push(`${p.strings[t.labelKey[k]!]}:[${t.labelNum[k]}]`);
    const key = `${stack.join(' | ')} ${labels.join(' ')}`.trim();
    const vals = merged.get(key) ?? new Array<number>(n).fill(0);
    for (let i = 0; i < n; i++) vals[i]! += t.values[s * n + i]!;
    merged.set(key, vals);
  }
  return [...merged].map(([k, v]) => `${v.join(' ')}: ${k}`).sort();
}

/** The same from `go tool pprof -raw`. */
function rawSamples(raw: string): string[] {
  const lines = raw.split('\n');
  const locs = new Map<string, string>();
  const li = lines.indexOf('Locations');
  for (const l of lines.slice(li + 1)) {
    const m = /^\s+(\d+): 0x([0-9a-f]+) M=\d+ ?(.*)$/.exec(l);
    if (!m) continue;
    const fn = /^(\S+) (\S*):(\d+) s=\d+$/.exec(m[3]!.trim());
    locs.set(m[1]!, fn ? `${fn[1]} ${fn[2]}:${fn[3]}` : `0x${m[2]}`);
  }
  const out: string[] = [];
  const si = lines.indexOf('Samples:');
  for (let i = si + 2; i < li; i++) {
    const m = /^\s+(-?\d+(?: +-?\d+)*): ([\d ]*)$/.exec(lines[i]!);
    if (!m) continue;
    let labels = '';
    const lab = /^\s+(\w+):\[(-?\d+)\]\s*$/.exec(lines[i + 1] ?? '');
    if (lab) labels = `${lab[1]}:[${lab[2]}]`;
    const stack = m[2]!.trim() === '' ? [] : m[2]!.trim().split(/\s+/).map((id) => locs.get(id)!);
    out.push(`${m[1]!.trim().split(/\s+/).join(' ')}: ${stack.join(' | ')} ${labels}`.trim());
  }
  return out.sort();
}

test('every sample matches go tool pprof -raw (values, stack, bytes label, period, duration)', { skip: hasGo() ? false : SKIP_NO_GO }, () => {
  for (const f of files) {
    if (/bad-|hand-/.test(path.basename(f))) continue;
    const raw = pprof(['-raw', f]);
    const p = load(f);
    assert.deepEqual(ourSamples(p), rawSamples(raw), path.basename(f));
    assert.ok(rawSamples(raw).length > 0, path.basename(f));
    const period = /^Period: (-?\d+)$/m.exec(raw)?.[1];
    assert.equal(String(p.period), period, `${path.basename(f)} period`);
    const pt = /^PeriodType: (.*)$/m.exec(raw)?.[1];
    assert.equal(`${p.periodType?.type ?? ''} ${p.periodType?.unit ?? ''}`, pt, `${path.basename(f)} period type`);
  }
});

test("a Go program's own text profiles (debug=1 heap, goroutine, threadcreate, mutex, block) read as go tool pprof reads them", { skip: hasGo() ? false : SKIP_NO_GO, timeout: 120_000 }, async () => {
  const out = mkdtempSync(path.join(tmpdir(), 'leakscope-legacy-go-'));
  try {
    const cache = path.join(tmpdir(), 'leakscope-gocache');
    const run = spawnSync('go', ['run', '.', out], {
      cwd: path.join(repoRoot, 'test', 'programs', 'legacy-go'),
      encoding: 'utf8',
      env: { ...process.env, GOCACHE: process.env.GOCACHE ?? cache, GOFLAGS: '-mod=mod', HOME: process.env.HOME ?? out },
      timeout: 90_000,
    });
    assert.equal(run.status, 0, `go run failed: ${run.stderr}`);
    let read = 0;
    for (const name of ['heap', 'goroutine', 'threadcreate', 'mutex', 'block']) {
      const f = path.join(out, `${name}.txt`);
      for (const args of [['-top'], ['-top', '-addresses'], ['-top', '-sample_index=0'], ['-traces']]) {
        const want = spawnSync('go', ['tool', 'pprof', ...args, f], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } });
        const got = await leakscope([args[0]!.slice(1), ...args.slice(1), f]);
        if (want.status !== 0) {
          // Go writes thread creations without stacks (`5 @`), which pprof refuses too
          assert.equal(got.code, 1, `${name}: pprof refused it (${want.stderr.trim()}), leakscope read it`);
          assert.equal(got.stderr.trim().split('\n').length, 1);
          continue;
        }
        assert.equal(got.code, 0, `${name} ${args.join(' ')}: ${got.stderr}`);
        assert.equal(got.stdout, want.stdout, `${name} ${args.join(' ')}`);
        read++;
      }
    }
    assert.ok(read >= 16, `${read} comparisons`);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('hostile legacy input: lines built to make a backtracking regex take forever are read in linear time', async () => {
  const L = 60_000;
  const cases: Array<[string, string, RegExp | null]> = [
    ['heap digits', `heap profile: 1: 2 [3: 4] @ heapprofile\n${'1'.repeat(L)}\n`, /heap profile, line 2: expected/],
    ['heap colons', `heap profile: 1: 2 [3: 4] @ heapprofile\n${'1: '.repeat(L / 3)}\n`, /heap profile, line 2: expected/],
    ['contention digits', `--- contentionz 1 ---\ncycles/second = 1000\n${'1'.repeat(L)}\n`, /not in that format/],
    ['contention spaced', `--- mutex:\n${('1' + ' '.repeat(99)).repeat(L / 100)}\n`, /not in that format/],
    ['java sample spaces', `--- heapz 1 ---\nformat = java\nresolution = bytes\n${('1' + ' '.repeat(999)).repeat(L / 1000)}\n 10 5 @ 0x10\n 0x10 a.B (B.java:1)\n`, null],
    ['java attribute', `--- heapz 1 ---\nformat = java\n${'a'.repeat(L)}-=b\nresolution = bytes\n 10 5 @ 0x10\n`, /no sample types/],
    ['java symbols', `--- heapz 1 ---\nformat = java\nresolution = bytes\n 10 5 @ 0x10\n 0x10 ${'f ('.repeat(L / 3)})\n 0x10 g (${'x'.repeat(L)}\n`, null],
    ['memory map', `heap profile: 1: 2 [1: 2] @ heapprofile\n1: 2 [1: 2] @ 0x1000\nMAPPED_LIBRARIES:\n${'a'.repeat(L)}\n${'a'.repeat(L / 2)} ${' '.repeat(L / 2)}x\n${'0'.repeat(L / 2)}-${' '.repeat(L / 2)}\n`, null],
    ['thread header', `--- threadz 1 ---\n--- Thread 1 (name: ${'/1'.repeat(L / 2)}\n`, /not in that format/],
    ['line over 64 KiB', `heap profile: 1: 2 [1: 2] @ heapprofile\n1: 2 [1: 2] @ ${'0x1 '.repeat(20_000)}\n`, /line 2 is longer than 64 KiB/],
  ];
  for (const [name, text, err] of cases) {
    const f = put(`hostile-${name.replace(/ /g, '-')}.txt`, text);
    const t0 = performance.now();
    const r = await leakscope(['top', f]);
    const ms = performance.now() - t0;
    assert.ok(ms < 3000, `${name}: ${ms.toFixed(0)} ms`);
    if (err) {
      assert.equal(r.code, 1, `${name}: ${r.stdout}`);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, err, name);
    } else assert.equal(r.code, 0, `${name}: ${r.stderr}`);
  }
});

test('fuzz: mutated and truncated legacy profiles give a profile or a LeakscopeError, never a crash', () => {
  const enc = new TextEncoder();
  const seeds = [
    enc.encode(G.heapText(1, 'heap_v2/524288', { alloc: true })),
    enc.encode(G.goCountText(2)),
    enc.encode(G.threadzText(3)),
    enc.encode(G.contentionText(4, { cyclesPerSecond: 2e9, period: 10 })),
    enc.encode(G.javaHeapText(5)),
    enc.encode(G.javaContentionText(6)),
    G.cppCpuBinary(7, { wordSize: 8, little: true }),
    G.cppCpuBinary(8, { wordSize: 4, little: false }),
    G.javaCpuBinary(9, { wordSize: 8, little: true }),
  ];
  const r = rng(42);
  let read = 0;
  let refused = 0;
  for (let iter = 0; iter < 3000; iter++) {
    const src = seeds[iter % seeds.length]!;
    const b = src.slice(0, Math.max(1, Math.floor(src.length * (r() < 0.3 ? r() : 1))));
    const flips = Math.floor(r() * 8);
    for (let k = 0; k < flips; k++) {
      const i = Math.floor(r() * b.length);
      const mode = r();
      b[i] = mode < 0.3 ? Math.floor(r() * 256) : mode < 0.6 ? '0123456789 :@x-\n[]#'.charCodeAt(Math.floor(r() * 20)) : b[Math.floor(r() * b.length)]!;
    }
    try {
      const p = parseProfileBytes(b, `fuzz-${iter}`);
      renderTopText(topReport(prepareReport(p, {}), {}, 0));
      read++;
    } catch (e) {
      assert.ok(e instanceof LeakscopeError, `iteration ${iter}: ${(e as Error).stack}`);
      refused++;
    }
  }
  assert.ok(read > 500 && refused > 100, `${read} read, ${refused} refused`);
});

test('convert --to pprof turns a legacy profile into a profile.proto go tool pprof reports the same way', { skip: hasGo() ? false : SKIP_NO_GO }, async () => {
  const picks = files.filter((f) => /^(heap-heap_v2_524288|goroutine|threadz|contentionz|java-heapz|cpu-64l|javacpu-32b)\./.test(path.basename(f)));
  assert.equal(picks.length, 7);
  for (const f of picks) {
    const out = path.join(dir, `${path.basename(f)}.pb.gz`);
    const c = await leakscope(['convert', '--to', 'pprof', '-o', out, f]);
    assert.equal(c.code, 0, c.stderr);
    assert.equal(pprof(['-top', out]), pprof(['-top', f]), path.basename(f));
  }
});
