/**
 * convert: collapsed stacks (writer and reader), speedscope JSON, gzip'd pprof, and the CLI
 * command end to end.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { LeakscopeError } from '../src/core/errors.js';
import { type Profile, SampleTableBuilder, emptyProfile } from '../src/core/profile.js';
import { decodeCollapsed, encodeCollapsed, locationFrameNames, looksLikeCollapsed } from '../src/formats/collapsed.js';
import { decodeProfile, encodeProfile } from '../src/formats/pprof.js';
import { toSpeedscope } from '../src/formats/speedscope.js';
import { main } from '../src/cli/main.js';
import type { CliIO } from '../src/cli/io.js';
import { parseProfileBytes } from '../src/node/source.js';
import fc from 'fast-check';
import { makeProfile, profileSnapshot } from './helpers/profiles.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const cli = path.join(repoRoot, 'dist', 'src', 'cli', 'main.js');

/** main → handler (with render inlined into it) → alloc, plus an unsymbolized frame. */
/** Text equality without dumping megabytes: reports the first differing line. */
function sameText(actual: string, expected: string, what: string): void {
  if (actual === expected) return;
  const a = actual.split('\n');
  const e = expected.split('\n');
  let i = 0;
  while (i < a.length && i < e.length && a[i] === e[i]) i++;
  assert.fail(`${what}: line ${i + 1} differs (${a.length} vs ${e.length} lines)\n  actual:   ${a[i]?.slice(0, 300)}\n  expected: ${e[i]?.slice(0, 300)}`);
}

function handMade(): Profile {
  const p = emptyProfile([
    { type: 'alloc_objects', unit: 'count' },
    { type: 'alloc_space', unit: 'bytes' },
  ]);
  const fn = (id: number, name: string) => ({ id, name, systemName: name, filename: `${name}.go`, startLine: id * 10 });
  p.functions = [fn(1, 'main.main'), fn(2, 'main.handler'), fn(3, 'main.render'), fn(4, 'runtime.mallocgc')];
  p.locations = [
    { id: 1, mapping: -1, address: 0x1000n, isFolded: false, lines: [{ fn: 0, line: 12, column: 0 }] },
    // render inlined into handler: innermost first
    { id: 2, mapping: -1, address: 0x2000n, isFolded: false, lines: [{ fn: 2, line: 31, column: 0 }, { fn: 1, line: 22, column: 0 }] },
    { id: 3, mapping: -1, address: 0x3000n, isFolded: false, lines: [{ fn: 3, line: 41, column: 0 }] },
    { id: 4, mapping: -1, address: 0xdeadn, isFolded: false, lines: [] },
  ];
  const b = new SampleTableBuilder(2);
  const add = (stack: number[], objects: number, bytes: number) => {
    for (const l of stack) b.pushLocation(l);
    b.setValue(0, objects);
    b.setValue(1, bytes);
    b.endSample();
  };
  add([2, 1, 0], 10, 1000);
  add([2, 1, 0], 5, 500); // same stack: summed
  add([1, 0], 3, 300);
  add([3, 0], 7, 0); // zero bytes: dropped from alloc_space
  add([0], 0, 0); // zero everywhere: never written
  p.samples = b.build();
  return p;
}

test('collapsed: root → leaf, inlined frames outermost first, identical stacks summed, sorted', () => {
  const p = handMade();
  assert.equal(
    encodeCollapsed(p),
    'main.main;main.handler;main.render 300\nmain.main;main.handler;main.render;runtime.mallocgc 1500\n',
  );
  assert.equal(
    encodeCollapsed(p, { sampleIndex: 0 }),
    'main.main;0xdead 7\nmain.main;main.handler;main.render 3\nmain.main;main.handler;main.render;runtime.mallocgc 15\n',
  );
  assert.throws(() => encodeCollapsed(p, { sampleIndex: 2 }), (e: unknown) => e instanceof LeakscopeError && e.code === 'E_SAMPLE_INDEX');
});

test('collapsed: values beyond 2^53 and negative values are written exactly', () => {
  const p = emptyProfile([{ type: 'x', unit: 'count' }]);
  p.functions = [{ id: 1, name: 'f', systemName: 'f', filename: '', startLine: 0 }];
  p.locations = [{ id: 1, mapping: -1, address: 0n, isFolded: false, lines: [{ fn: 0, line: 0, column: 0 }] }];
  const b = new SampleTableBuilder(1);
  b.pushLocation(0);
  b.setBigValue(0, (1n << 60n) + 1n);
  b.endSample();
  b.pushLocation(0);
  b.setValue(0, 2);
  b.endSample();
  p.samples = b.build();
  assert.equal(encodeCollapsed(p), `f ${(1n << 60n) + 3n}\n`);
  const q = decodeCollapsed(encodeCollapsed(p));
  assert.equal(q.samples.bigValues?.get(0), (1n << 60n) + 3n);
  assert.equal(encodeCollapsed(decodeCollapsed('a;b -5\na;b 2\n')), 'a;b -3\n');
});

/** The obvious implementation: a string per sample, summed in a Map. */
function naiveCollapsed(p: Profile, t: number): string {
  const nt = p.sampleTypes.length;
  const sums = new Map<string, bigint>();
  for (let s = 0; s < p.samples.count; s++) {
    const names: string[] = [];
    for (let k = p.samples.stackStart[s + 1]! - 1; k >= p.samples.stackStart[s]!; k--) names.push(...locationFrameNames(p, p.samples.stack[k]!));
    const key = names.join(';');
    const v = p.samples.bigValues?.get(s * nt + t) ?? BigInt(p.samples.values[s * nt + t]!);
    sums.set(key, (sums.get(key) ?? 0n) + v);
  }
  const lines = [...sums].filter(([, v]) => v !== 0n).map(([k, v]) => `${k} ${v}`);
  lines.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return lines.length ? lines.join('\n') + '\n' : '';
}

test('collapsed: the folding trie agrees with the naive string-per-sample sum', () => {
  // large enough to grow and rehash the tables, with repeated stacks and inlined frames
  const big = makeProfile({ samples: 30000, functions: 2000, stacks: 3000, depth: [5, 40], seed: 99, inlined: 0.2, negative: true });
  for (const t of [1, 3]) sameText(encodeCollapsed(big, { sampleIndex: t }), naiveCollapsed(big, t), `type ${t}`);
  fc.assert(
    fc.property(
      fc.record({
        samples: fc.integer({ min: 0, max: 300 }),
        functions: fc.integer({ min: 1, max: 60 }),
        stacks: fc.option(fc.integer({ min: 1, max: 50 }), { nil: undefined }),
        seed: fc.nat(),
        inlined: fc.double({ min: 0, max: 1, noNaN: true }),
        negative: fc.boolean(),
        bigValues: fc.boolean(),
        rich: fc.boolean(),
      }),
      (o) => {
        const p = makeProfile({ ...o, depth: [1, 12] });
        const t = p.sampleTypes.length - 1;
        assert.equal(encodeCollapsed(p, { sampleIndex: t }), naiveCollapsed(p, t));
      },
    ),
    { numRuns: 200, seed: 5 },
  );
});

test('collapsed: reading and writing again gives the same text', () => {
  for (const seed of [1, 2, 3]) {
    const p = makeProfile({ samples: 500, functions: 80, depth: [1, 25], seed, inlined: 0.3 });
    const text = encodeCollapsed(p);
    assert.ok(text.split('\n').length > 100);
    const q = decodeCollapsed(text);
    sameText(encodeCollapsed(q), text, `seed ${seed}: collapsed → profile → collapsed`);
    // and through profile.proto
    sameText(encodeCollapsed(decodeProfile(encodeProfile(q))), text, `seed ${seed}: via profile.proto`);
    // totals are kept
    const total = (x: Profile, t: number) => {
      let s = 0;
      for (let i = 0; i < x.samples.count; i++) s += x.samples.values[i * x.sampleTypes.length + t]!;
      return s;
    };
    assert.equal(total(q, 0), total(p, p.sampleTypes.length - 1));
  }
});

test('collapsed reader: frame names with spaces, CRLF, blank lines; bad lines name their number', () => {
  const q = decodeCollapsed('main;(anonymous function) at x.js;leaf 4\r\n\n  \nmain;leaf 1\n');
  assert.equal(q.samples.count, 2);
  assert.deepStrictEqual(q.functions.map((f) => f.name), ['main', '(anonymous function) at x.js', 'leaf']);
  assert.equal(encodeCollapsed(q), 'main;(anonymous function) at x.js;leaf 4\nmain;leaf 1\n');
  for (const [bad, line] of [['a;b 1\nno value here\n', 2], ['a;b 1.5\n', 1], [' 3\n', 1], [`a ${2n ** 64n}\n`, 1]] as const) {
    assert.throws(
      () => decodeCollapsed(bad),
      (e: unknown) => e instanceof LeakscopeError && e.code === 'E_MALFORMED' && e.message.includes(`line ${line}`),
      bad,
    );
  }
  assert.ok(looksLikeCollapsed('main;foo 12\n'));
  assert.ok(!looksLikeCollapsed('hello world\n'));
  assert.ok(!looksLikeCollapsed('\x0a\x04\x08\x01\x10\x02 1\n'));
});

test('speedscope: one sampled profile per sample type over shared frames, stacks root first', () => {
  const p = handMade();
  const doc = toSpeedscope(p, { name: 'hand.pb.gz' });
  assert.equal(doc.$schema, 'https://www.speedscope.app/file-format-schema.json');
  assert.equal(doc.activeProfileIndex, 1);
  assert.equal(doc.profiles.length, 2);
  assert.deepStrictEqual(
    doc.profiles.map((x) => [x.type, x.unit, x.name, x.startValue, x.endValue]),
    [
      ['sampled', 'none', 'hand.pb.gz alloc_objects', 0, 25],
      ['sampled', 'bytes', 'hand.pb.gz alloc_space', 0, 1800],
    ],
  );
  const names = (stack: number[]) => stack.map((i) => doc.shared.frames[i]!.name).join(';');
  const folded = doc.profiles.map((x) => x.samples.map((s, i) => `${names(s)} ${x.weights[i]}`).sort().join('\n') + '\n');
  sameText(folded[0]!, encodeCollapsed(p, { sampleIndex: 0 }), 'speedscope alloc_objects');
  sameText(folded[1]!, encodeCollapsed(p, { sampleIndex: 1 }), 'speedscope alloc_space');
  // frames are per function and carry file and start line
  assert.deepStrictEqual(doc.shared.frames.find((f) => f.name === 'main.render'), { name: 'main.render', file: 'main.render.go', line: 30 });
  assert.equal(new Set(doc.shared.frames.map((f) => f.name)).size, doc.shared.frames.length);
});

test('speedscope: generated profile weights sum to the sample type totals', () => {
  const p = makeProfile({ samples: 800, functions: 100, depth: [2, 30], seed: 8, inlined: 0.2 });
  const doc = JSON.parse(JSON.stringify(toSpeedscope(p, { sampleIndex: 0 }))) as ReturnType<typeof toSpeedscope>;
  assert.equal(doc.activeProfileIndex, 0);
  p.sampleTypes.forEach((st, t) => {
    let total = 0;
    for (let i = 0; i < p.samples.count; i++) total += p.samples.values[i * p.sampleTypes.length + t]!;
    const prof = doc.profiles[t]!;
    assert.equal(prof.weights.reduce((a, b) => a + b, 0), total, st.type);
    assert.equal(prof.endValue, total);
    assert.equal(prof.samples.length, prof.weights.length);
    assert.equal(prof.unit, st.unit === 'bytes' ? 'bytes' : 'none');
    for (const s of prof.samples) for (const i of s) assert.ok(i >= 0 && i < doc.shared.frames.length);
  });
});

// ---- the CLI ----

function run(args: string[], input?: Uint8Array): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out), stderr });
    });
    child.stdin.end(input ?? Buffer.alloc(0));
  });
}

test('CLI: convert to collapsed, speedscope and pprof, from pprof and from collapsed input', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'leakscope-convert-'));
  try {
    const p = makeProfile({ samples: 300, functions: 50, seed: 17, rich: true, inlined: 0.3 });
    const src = path.join(dir, 'heap.pb.gz');
    writeFileSync(src, gzipSync(encodeProfile(p)));

    const c = await run(['convert', '--to', 'collapsed', '-sample_index=inuse_space', src]);
    assert.equal(c.code, 0, c.stderr);
    sameText(c.stdout.toString(), encodeCollapsed(p, { sampleIndex: 3 }), 'CLI collapsed');
    const cDefault = await run(['convert', '--to=collapsed', src]);
    sameText(cDefault.stdout.toString(), encodeCollapsed(p, { sampleIndex: 1 }), 'default_sample_type is alloc_space');

    const folded = path.join(dir, 'heap.folded');
    const o = await run(['convert', '--to', 'collapsed', '--sample-index', '3', '-o', folded, src]);
    assert.equal(o.code, 0, o.stderr);
    assert.equal(o.stdout.length, 0);
    sameText(readFileSync(folded, 'utf8'), c.stdout.toString(), '-o file');
    // collapsed input, read back
    const again = await run(['convert', '--to', 'collapsed', folded]);
    sameText(again.stdout.toString(), c.stdout.toString(), 'collapsed input');

    const s = await run(['convert', '--to', 'speedscope', src]);
    assert.equal(s.code, 0, s.stderr);
    const doc = JSON.parse(s.stdout.toString());
    assert.equal(doc.name, 'heap.pb.gz');
    assert.equal(doc.profiles.length, 4);
    assert.equal(doc.activeProfileIndex, 1);

    // pprof to a pipe: gzip'd profile.proto holding the same data
    const b = await run(['convert', '--to', 'pprof', src]);
    assert.equal(b.code, 0, b.stderr);
    assert.equal(b.stdout[0], 0x1f);
    assert.equal(b.stdout[1], 0x8b);
    assert.deepStrictEqual(profileSnapshot(decodeProfile(gunzipSync(b.stdout))), profileSnapshot(p));
    // pprof from collapsed input, to a file; --sample-index becomes default_sample_type
    const out = path.join(dir, 'from-folded.pb.gz');
    const f = await run(['convert', '--to', 'pprof', '-o', out, '--sample-index', 'inuse_space', src]);
    assert.equal(f.code, 0, f.stderr);
    assert.equal(parseProfileBytes(readFileSync(out), out).defaultSampleType, 'inuse_space');
    const g = await run(['convert', '--to', 'pprof', '-o', out, folded]);
    assert.equal(g.code, 0, g.stderr);
    const back = parseProfileBytes(readFileSync(out), out);
    sameText(encodeCollapsed(back), c.stdout.toString(), 'collapsed → pprof');
    // stdin
    const stdin = await run(['convert', '--to', 'collapsed', '-'], gzipSync(encodeProfile(p)));
    sameText(stdin.stdout.toString(), cDefault.stdout.toString(), 'stdin');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('CLI: binary pprof output is refused on a terminal', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'leakscope-convert-tty-'));
  try {
    const src = path.join(dir, 'p.pb.gz');
    writeFileSync(src, gzipSync(encodeProfile(makeProfile({ samples: 5, functions: 3, seed: 1 }))));
    let out = '';
    let err = '';
    const io: CliIO = { stdout: (s) => (out += s), stderr: (s) => (err += s), isTTY: true };
    assert.equal(await main(['convert', '--to', 'pprof', src], io), 2);
    assert.match(err, /terminal/);
    assert.equal(out, '');
    // text formats are fine on a terminal
    err = '';
    assert.equal(await main(['convert', '--to', 'collapsed', src], io), 0, err);
    assert.ok(out.length > 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('CLI: convert the project\'s real Go heap profile; collapsed sums match the totals', async (t) => {
  const heap = path.join(repoRoot, 'testdata', 'profiles', 'heap.pb.gz');
  if (!existsSync(heap)) return t.skip('testdata/profiles/heap.pb.gz missing (run scripts/gen-fixtures.sh)');
  const p = parseProfileBytes(readFileSync(heap), heap);
  const r = await run(['convert', '--to', 'collapsed', '-inuse_space', heap]);
  assert.equal(r.code, 0, r.stderr);
  const text = r.stdout.toString();
  let sum = 0;
  for (const line of text.trimEnd().split('\n')) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  let total = 0;
  for (let i = 0; i < p.samples.count; i++) total += p.samples.values[i * 4 + 3]!;
  assert.equal(sum, total);
  // the inlined main.render appears below (*store).get, which is its caller
  assert.match(text, /main\.\(\*store\)\.get;main\.render /);
});

test('CLI: several inputs are merged (collapsed values are the sums); incompatible ones refused', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'leakscope-convert-merge-'));
  try {
    const a = makeProfile({ samples: 200, functions: 30, seed: 41 });
    const b = makeProfile({ samples: 150, functions: 30, seed: 42 });
    const fa = path.join(dir, 'a.pb.gz');
    const fb = path.join(dir, 'b.pb');
    writeFileSync(fa, gzipSync(encodeProfile(a)));
    writeFileSync(fb, encodeProfile(b));
    const sums = new Map<string, number>();
    for (const text of [encodeCollapsed(a), encodeCollapsed(b)]) {
      for (const line of text.trimEnd().split('\n')) {
        const i = line.lastIndexOf(' ');
        sums.set(line.slice(0, i), (sums.get(line.slice(0, i)) ?? 0) + Number(line.slice(i + 1)));
      }
    }
    const expected = [...sums].filter(([, v]) => v !== 0).map(([k, v]) => `${k} ${v}`).sort((x, y) => (x < y ? -1 : x > y ? 1 : 0)).join('\n') + '\n';
    const r = await run(['convert', '--to', 'collapsed', fa, fb]);
    assert.equal(r.code, 0, r.stderr);
    sameText(r.stdout.toString(), expected, 'merged collapsed');

    const cpu = path.join(dir, 'cpu.pb');
    writeFileSync(cpu, encodeProfile(makeProfile({ samples: 5, functions: 3, seed: 1, sampleTypes: [{ type: 'cpu', unit: 'nanoseconds' }] })));
    const bad = await run(['convert', '--to', 'collapsed', fa, cpu]);
    assert.equal(bad.code, 1);
    assert.equal(bad.stderr.split('\n').filter((l) => l).length, 1, bad.stderr);
    assert.ok(!bad.stderr.includes('    at '));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
