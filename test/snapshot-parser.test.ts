/**
 * The streaming heap-snapshot parser: real snapshots written by Node 18, 20, 22 and 24 read exactly
 * as JSON.parse reads them (every field resolved by name from meta), any chunking, JSON string
 * escapes, and one-line typed errors for inputs that are not snapshots or end early.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { HeapSnapshotParser, parseHeapSnapshot, type RawHeapSnapshot } from '../src/formats/heapsnapshot.js';
import { LeakscopeError } from '../src/core/errors.js';
import { SnapshotReader, loadHeapSnapshot, loadIdHorizons } from '../src/node/snapshot-source.js';
import { idHorizon } from '../src/core/heap/ids.js';
import { analyzeSnapshot } from '../src/core/heap/analysis.js';
import { buildSnapshot } from './helpers/snapshot-build.js';
import { nodeBinaries, runNode } from './helpers/snapshot-node.js';

let dir = '';
before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'leakscope-snapshot-parser-'));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

interface Json {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]]; edge_fields: string[] }; node_count: number; edge_count: number };
  nodes: number[];
  edges: number[];
  strings: string[];
  locations: number[];
}

/** compares the parser's columns with JSON.parse of the same text, field by field, by name */
function assertSameAsJson(s: RawHeapSnapshot, text: string): void {
  const j = JSON.parse(text) as Json;
  const nfNames = j.snapshot.meta.node_fields;
  const nf = nfNames.length;
  const efNames = j.snapshot.meta.edge_fields;
  const ef = efNames.length;
  assert.equal(s.nodeCount, j.snapshot.node_count);
  assert.equal(s.edgeCount, j.snapshot.edge_count);
  assert.deepEqual(s.meta.nodeFields, nfNames);
  assert.deepEqual(s.strings, j.strings);
  const [ty, nm, id, self, ec] = ['type', 'name', 'id', 'self_size', 'edge_count'].map((f) => nfNames.indexOf(f));
  let e = 0;
  for (let i = 0; i < s.nodeCount; i++) {
    const o = i * nf;
    if (s.nodeType[i] !== j.nodes[o + ty!] || s.nodeName[i] !== j.nodes[o + nm!] || s.nodeId[i] !== j.nodes[o + id!] || s.nodeSelfSize[i] !== j.nodes[o + self!] || s.firstEdge[i] !== e) {
      assert.fail(`node ${i} differs from JSON.parse`);
    }
    e += j.nodes[o + ec!]!;
  }
  assert.equal(s.firstEdge[s.nodeCount], e);
  const [et, en, to] = ['type', 'name_or_index', 'to_node'].map((f) => efNames.indexOf(f));
  for (let k = 0; k < s.edgeCount; k++) {
    const o = k * ef;
    if (s.edgeType[k] !== j.edges[o + et!] || s.edgeNameOrIndex[k] !== j.edges[o + en!] || s.edgeTo[k] * nf !== j.edges[o + to!]) assert.fail(`edge ${k} differs from JSON.parse`);
  }
  assert.equal(s.locations.length, j.locations.length);
  // the parser sorts locations by node; V8 writes them in its own order
  const mine: string[] = [];
  const theirs: string[] = [];
  for (let k = 0; k < s.locations.length; k += 4) {
    mine.push(`${s.locations[k]! * nf},${s.locations[k + 1]},${s.locations[k + 2]},${s.locations[k + 3]}`);
    theirs.push(j.locations.slice(k, k + 4).join(','));
  }
  assert.deepEqual(mine.sort(), theirs.sort());
  for (let k = 4; k < s.locations.length; k += 4) assert.ok(s.locations[k]! >= s.locations[k - 4]!, 'locations sorted by node');
}

test('snapshots written by each Node version parse exactly as JSON.parse reads them', async (t) => {
  const { present, missing } = nodeBinaries();
  for (const m of missing) t.diagnostic(`not installed, skipped: ${m}`);
  for (const bin of present) {
    await t.test(bin.label, async () => {
      const file = path.join(dir, `bare-${bin.label.replace(/\W+/g, '_')}.heapsnapshot`);
      const script = `globalThis.keep = new Map([[1, { name: 'caf\\u00e9 "q" \\n ✓' }]]); require('v8').writeHeapSnapshot(${JSON.stringify(file)});`;
      runNode(bin.path, ['-e', script]);
      const text = readFileSync(file, 'utf8');
      const s = await loadHeapSnapshot(file, { splitMinBytes: Infinity });
      assertSameAsJson(s, text);
      // the two-thread parse (edges in a worker) gives the very same snapshot
      assert.deepEqual(await loadHeapSnapshot(file, { splitMinBytes: 0 }), s);
      assert.ok(s.strings.includes('caf\u00e9 "q" \n ✓'), 'escaped non-ASCII string decoded');
      const j = JSON.parse(text) as Json;
      if (!j.snapshot.meta.node_fields.includes('trace_node_id')) assert.equal(s.meta.nodeFields.length, 6);
      // the whole graph is accounted for: the root retains every byte
      const a = analyzeSnapshot(s);
      let total = 0;
      for (let i = 0; i < s.nodeCount; i++) total += s.nodeSelfSize[i]!;
      assert.equal(a.dom.retained[0], total);
    });
  }
});

test('any chunking gives the same result, including 1-byte and string chunks', () => {
  const text = buildSnapshot(
    [
      { type: 'synthetic', name: '', id: 1, self: 0, edges: [{ type: 'element', name: 1, to: 1 }, { type: 'shortcut', name: 'x', to: 2 }] },
      { type: 'synthetic', name: '(GC roots)', id: 3, self: 0, edges: [{ type: 'property', name: 'a\\"\u00e9\u2713\ud83d\ude00', to: 2 }] },
      { type: 'object', name: 'Caf\u00e9 \n\t"quoted"\\', id: 5, self: 32, edges: [] },
    ],
    { locations: [[2, 7, 3, 4]], extra: '"unknown_section":{"a":[1,{"b":"]}"}],"c":"\\"}"},\n' },
  );
  const bytes = new TextEncoder().encode(text);
  const whole = parseHeapSnapshot(bytes);
  assertSameAsJson(whole, text);
  for (const size of [1, 2, 3, 7, 64]) {
    const p = new HeapSnapshotParser();
    for (let o = 0; o < bytes.length; o += size) p.push(bytes.subarray(o, o + size));
    const s = p.finish();
    assert.deepEqual(s.strings, whole.strings, `chunk size ${size}`);
    assert.deepEqual([...s.edgeTo], [...whole.edgeTo]);
    assert.deepEqual([...s.locations], [2, 7, 3, 4]);
  }
  // one buffer refilled for every chunk, as the file reader does: nothing may be kept by reference
  for (const size of [1, 7, 64, 1000]) {
    const p = new HeapSnapshotParser();
    const buf = new Uint8Array(size);
    for (let o = 0; o < bytes.length; o += size) {
      const k = Math.min(size, bytes.length - o);
      buf.set(bytes.subarray(o, o + k));
      p.push(buf.subarray(0, k));
      buf.fill(0x20);
    }
    assertSameAsJson(p.finish(), text);
  }
  const p = new HeapSnapshotParser();
  for (let o = 0; o < text.length; o += 5) p.push(text.slice(o, o + 5));
  assert.deepEqual(p.finish().strings, whole.strings);
});

test('fields are found by name in any order, with extra fields', () => {
  const nodes = [
    { type: 'synthetic', name: '', id: 1, self: 0, edges: [{ type: 'element', name: 1, to: 1 }] },
    { type: 'object', name: 'Thing', id: 7, self: 40, edges: [{ type: 'weak', name: 'w', to: 0 }] },
  ];
  const text = buildSnapshot(nodes, { nodeFields: ['edge_count', 'extra1', 'self_size', 'id', 'name', 'type'], nodeTypes: ['object', 'synthetic', 'hidden'] });
  const s = parseHeapSnapshot(text);
  assert.deepEqual([...s.nodeId], [1, 7]);
  assert.deepEqual([...s.nodeSelfSize], [0, 40]);
  assert.equal(s.meta.nodeTypes[s.nodeType[1]!], 'object');
  assert.equal(s.strings[s.nodeName[1]!], 'Thing');
  assert.deepEqual([...s.firstEdge], [0, 1, 2]);
});

/** a real snapshot of a process holding 3000 small objects, as JSON.parse reads it */
function realSnapshot(name: string): Json {
  const file = path.join(dir, `${name}.heapsnapshot`);
  runNode(process.execPath, ['-e', `globalThis.keep = Array.from({ length: 3000 }, (_, i) => ({ i })); require('v8').writeHeapSnapshot(${JSON.stringify(file)})`]);
  return JSON.parse(readFileSync(file, 'utf8')) as Json;
}

/** parses `text` pushed in chunks of each size and checks each result against JSON.parse */
function assertParsesAsJson(text: string, sizes: number[]): void {
  const bytes = new TextEncoder().encode(text);
  for (const size of sizes) {
    const p = new HeapSnapshotParser();
    for (let o = 0; o < bytes.length; o += size) p.push(bytes.subarray(o, Math.min(bytes.length, o + size)));
    assertSameAsJson(p.finish(), text);
  }
}

function errorOf(input: string | Uint8Array): LeakscopeError {
  try {
    parseHeapSnapshot(input, 3);
  } catch (e) {
    assert.ok(e instanceof LeakscopeError, `expected LeakscopeError, got ${String(e)}`);
    assert.ok(!e.message.includes('\n'), 'one line');
    return e;
  }
  assert.fail('expected an error');
}

test('bad inputs fail with one-line typed errors', () => {
  const good = buildSnapshot([
    { type: 'synthetic', name: '', id: 1, self: 0, edges: [{ type: 'element', name: 1, to: 1 }] },
    { type: 'object', name: 'A', id: 3, self: 8 },
  ]);
  assert.equal(errorOf('').code, 'E_SNAPSHOT');
  assert.match(errorOf('hello world').message, /not a heap snapshot/);
  assert.match(errorOf('{"a":1}').message, /not a heap snapshot/);
  assert.match(errorOf(gzipSync(Buffer.from(good))).message, /not a heap snapshot/);
  for (const cut of [good.indexOf('"nodes"') + 12, good.indexOf('"edges"') + 10, good.indexOf('"strings"') + 14, good.length - 1]) {
    assert.equal(errorOf(good.slice(0, cut)).code, 'E_TRUNCATED', `cut at ${cut}`);
  }
  assert.match(errorOf(good.replace('"node_count":2', '"node_count":3')).message, /nodes/);
  assert.match(errorOf(good.replace('"edge_count":1', '"edge_count":2')).message, /edge/);
  assert.match(errorOf(good.replace('"edges":[1,1,7]', '"edges":[1,1,8]')).message, /not a node/);
  assert.match(errorOf(good.replace('"edges":[1,1,7]', '"edges":[1,1,-7]')).message, /unexpected character/);
  assert.match(errorOf(good.replace('"strings":["<dummy>",', '"strings":[')).message, /string/);
  assert.match(errorOf(good + 'x').message, /after the end/);
  // string indexes past the strings section: a node's name, a property edge's name; an element
  // edge's index is a number, not a string index
  const named = buildSnapshot([
    { type: 'synthetic', name: '', id: 1, self: 0, edges: [{ type: 'element', name: 1, to: 1 }, { type: 'property', name: 'p', to: 1 }] },
    { type: 'object', name: 'A', id: 3, self: 8 },
  ]);
  const nStrings = (JSON.parse(named) as { strings: string[] }).strings.length;
  const edgesOf = (text: string): string => /"edges":\[[^\]]*\]/.exec(text)![0];
  assert.equal(parseHeapSnapshot(named.replace(edgesOf(named), `"edges":[1,99999,7,2,${nStrings - 1},7]`)).edgeNameOrIndex[0], 99999, 'an element index is not a string index');
  assert.equal(
    errorOf(named.replace(edgesOf(named), `"edges":[1,1,7,2,${nStrings},7]`)).message,
    `malformed heap snapshot: edge 1 names string ${nStrings}, only ${nStrings} strings`,
  );
  const nodesOf = (text: string): string => /"nodes":\[[^\]]*\]/.exec(text)![0];
  const badNode = nodesOf(named).replace(/^("nodes":\[\d+,)\d+/, `$1${nStrings + 5}`);
  assert.equal(errorOf(named.replace(nodesOf(named), badNode)).message, `malformed heap snapshot: node 0 names string ${nStrings + 5}, only ${nStrings} strings`);
  const lying = good.replace('"node_count":2', '"node_count":900000000');
  assert.throws(() => {
    const p = new HeapSnapshotParser({ inputBytes: lying.length });
    p.push(lying);
  }, /more than \d+ bytes can hold/);
});

test('gzip input and progress through the file source', async () => {
  const text = buildSnapshot([
    { type: 'synthetic', name: '', id: 1, self: 0, edges: [{ type: 'element', name: 1, to: 1 }] },
    { type: 'object', name: 'A', id: 3, self: 8 },
  ]);
  const file = path.join(dir, 'small.heapsnapshot.gz');
  writeFileSync(file, gzipSync(Buffer.from(text)));
  const seen: number[] = [];
  const s = await loadHeapSnapshot(file, { onProgress: (p) => seen.push(p.bytes) });
  assert.equal(s.nodeCount, 2);
  assert.ok(seen.length >= 1);
  // gzip'd bytes are not at their file offsets: parsed on one thread even when a split is asked for
  assert.deepEqual(await loadHeapSnapshot(file, { splitMinBytes: 0 }), s);
  await assert.rejects(loadHeapSnapshot(path.join(dir, 'missing.heapsnapshot')), /no such file/);
  await assert.rejects(loadHeapSnapshot(path.join(dir, 'missing.heapsnapshot'), { splitMinBytes: 0 }), /no such file/);
});

test('ids-only mode reads the nodes and stops', () => {
  const text = buildSnapshot([
    { type: 'synthetic', name: '', id: 1, self: 0, edges: [{ type: 'element', name: 1, to: 1 }] },
    { type: 'object', name: 'A', id: 3, self: 8, edges: [{ type: 'property', name: 'x', to: 2 }] },
    { type: 'object', name: 'B', id: 4294967301, self: 8 },
  ]);
  const bytes = new TextEncoder().encode(text);
  const p = new HeapSnapshotParser({ idsOnly: true });
  let fed = 0;
  for (let o = 0; o < bytes.length && !p.done; o += 16) {
    p.push(bytes.subarray(o, o + 16));
    fed = o + 16;
  }
  assert.ok(p.done);
  assert.ok(fed < bytes.length, 'stopped before the end of the input');
  const s = p.finish();
  assert.deepEqual([...s.nodeId], [1, 3, 4294967301], 'ids above 2^32 kept exactly');
  assert.equal(s.edgeCount, 0);
});

test('id horizons read in a worker thread equal those read here', async () => {
  const file = path.join(dir, 'worker.heapsnapshot');
  runNode(process.execPath, ['-e', `require('v8').writeHeapSnapshot(${JSON.stringify(file)})`]);
  const raw = await loadHeapSnapshot(file);
  const here = idHorizon(raw);
  const [inWorker] = await loadIdHorizons([file], { workerMinBytes: 0 });
  assert.equal(inWorker!.maxJsId, here.maxJsId);
  assert.deepEqual([...inWorker!.nativeIds], [...here.nativeIds]);
  // the horizon is the largest odd id and every even id, sorted
  const ids = [...raw.nodeId];
  assert.equal(here.maxJsId, Math.max(...ids.filter((x) => x % 2 === 1)));
  assert.deepEqual([...here.nativeIds], ids.filter((x) => x % 2 === 0).sort((a, b) => a - b));
  assert.ok(here.nativeIds.length > 0 && here.nativeIds.length < ids.length / 10);
  // the horizon-only scanner at any chunking, and the same from a full parse
  const bytes = readFileSync(file);
  for (const size of [1, 7, 1013, 1 << 20]) {
    const p = new HeapSnapshotParser({ horizonOnly: true });
    for (let o = 0; o < bytes.length && !p.done; o += size) p.push(bytes.subarray(o, Math.min(bytes.length, o + size)));
    const h = p.horizon();
    assert.equal(h.maxJsId, here.maxJsId, `chunks of ${size}`);
    assert.deepEqual([...h.nativeIds], [...here.nativeIds], `chunks of ${size}`);
  }
  const cut = new HeapSnapshotParser({ horizonOnly: true });
  cut.push(bytes.subarray(0, bytes.indexOf('"edges"') - 5000));
  assert.throws(() => cut.horizon(), (e: unknown) => e instanceof LeakscopeError && e.code === 'E_TRUNCATED');
  await assert.rejects(loadIdHorizons([path.join(dir, 'nope.heapsnapshot')], { workerMinBytes: 0 }), /no such file/);
  const bad = path.join(dir, 'bad.heapsnapshot');
  writeFileSync(bad, '{"snapshot":{"meta":{}}, "nodes":[1]}');
  // a malformed file fails inside the worker; the error crosses back with its code
  await assert.rejects(loadIdHorizons([bad], { workerMinBytes: 0 }), (e: unknown) => e instanceof LeakscopeError && e.code === 'E_SNAPSHOT');
});

test('one reader thread serves a command: the last snapshot\'s edges, then the horizons, in order', async () => {
  const a = path.join(dir, 'reader-a.heapsnapshot');
  const b = path.join(dir, 'reader-b.heapsnapshot');
  runNode(process.execPath, ['-e', `globalThis.k = [1]; require('v8').writeHeapSnapshot(${JSON.stringify(a)}); globalThis.k2 = new Array(5000).fill(0).map((_, i) => ({ i })); require('v8').writeHeapSnapshot(${JSON.stringify(b)})`]);
  const reader = await SnapshotReader.start();
  try {
    const lastP = loadHeapSnapshot(b, { reader, splitMinBytes: 0 });
    const earlierP = loadIdHorizons([a, b], { reader, workerMinBytes: 0 });
    const [last, earlier] = await Promise.all([lastP, earlierP]);
    assert.deepEqual(last, await loadHeapSnapshot(b, { splitMinBytes: Infinity }));
    const here = [idHorizon(await loadHeapSnapshot(a)), idHorizon(last)];
    assert.deepEqual(earlier.map((h) => [h.maxJsId, [...h.nativeIds]]), here.map((h) => [h.maxJsId, [...h.nativeIds]]));
    assert.ok(earlier[1]!.maxJsId > earlier[0]!.maxJsId, 'the later snapshot has newer objects');
    // a failed task fails alone: the reader goes on with the next
    await assert.rejects(reader.edges(path.join(dir, 'nope.heapsnapshot')), /no such file|ENOENT/);
    assert.equal((await reader.horizon(a)).maxJsId, earlier[0]!.maxJsId);
  } finally {
    reader.close();
  }
  await assert.rejects(reader.horizon(a), /snapshot reader closed/);
  // a reader that is gone leaves the work to the calling thread
  assert.deepEqual(await loadHeapSnapshot(b, { reader, splitMinBytes: 0 }), await loadHeapSnapshot(b, { splitMinBytes: Infinity }));
  const [again] = await loadIdHorizons([a], { reader, workerMinBytes: 0 });
  assert.equal(again!.maxJsId, idHorizon(await loadHeapSnapshot(a)).maxJsId);
});

test('the two-thread parse reports bad edges and truncation as one-line errors naming the file', async () => {
  const text = buildSnapshot([
    { type: 'synthetic', name: '', id: 1, self: 0, edges: [{ type: 'element', name: 1, to: 1 }] },
    { type: 'object', name: 'A', id: 3, self: 8, edges: [{ type: 'property', name: 'b', to: 2 }] },
    { type: 'object', name: 'B', id: 5, self: 16 },
  ]);
  const edgesAt = text.indexOf('"edges"');
  const cases: [string, string, RegExp][] = [
    ['truncated', text.slice(0, edgesAt + 14), /truncated heap snapshot/],
    ['letter', text.slice(0, edgesAt + 12) + 'x' + text.slice(edgesAt + 13), /unexpected character 'x' in "edges"/],
    ['not a node', text.replace(/"edges":\[(\d+),(\d+),(\d+)/, '"edges":[$1,$2,4'), /points to 4, not a node/],
  ];
  for (const [name, body, want] of cases) {
    const file = path.join(dir, `split-${name}.heapsnapshot`);
    writeFileSync(file, body);
    await assert.rejects(loadHeapSnapshot(file, { splitMinBytes: 0 }), (e: unknown) => {
      assert.ok(e instanceof LeakscopeError, String(e));
      assert.match(e.message, want);
      assert.ok(e.message.startsWith(file), e.message);
      assert.ok(!e.message.includes('\n'));
      return true;
    }, name);
  }
});

test('skipEdges mode keeps nodes and strings, drops edges', () => {
  const text = buildSnapshot([
    { type: 'synthetic', name: '', id: 1, self: 0, edges: [{ type: 'element', name: 1, to: 1 }] },
    { type: 'object', name: 'A', id: 3, self: 8, edges: [{ type: 'property', name: 'x', to: 2 }] },
    { type: 'object', name: 'B', id: 5, self: 16 },
  ]);
  const bytes = new TextEncoder().encode(text);
  for (const size of [1, 5, 4096]) {
    const p = new HeapSnapshotParser({ skipEdges: true });
    for (let o = 0; o < bytes.length; o += size) p.push(bytes.subarray(o, o + size));
    const s = p.finish();
    assert.deepEqual([...s.nodeId], [1, 3, 5]);
    assert.deepEqual([...s.nodeSelfSize], [0, 8, 16]);
    assert.equal(s.strings[s.nodeName[2]!], 'B');
    assert.equal(s.edgeCount, 0);
    assert.equal(s.firstEdge.length, 4);
  }
});

test('strings: the line-at-a-time fast path gives exactly what JSON.parse gives, at any chunking', () => {
  // A real snapshot of a process holding strings with escapes, quotes, backslashes, newlines,
  // non-ASCII and astral characters, and a long line (V8 writes one string per line).
  const file = path.join(dir, 'strings.heapsnapshot');
  const script = `
    globalThis.keep = ['caf\\u00e9 \\u2713 \\ud83d\\ude00', 'line1\\nline2\\r\\n', 'tab\\there', 'quote " and \\\\ backslash',
      '\\u0000\\u0001 controls', '/slash/', 'x'.repeat(5000) + '\\u00ff', '[not, "an", array]', '",\\n"'];
    require('v8').writeHeapSnapshot(${JSON.stringify(file)});`;
  runNode(process.execPath, ['-e', script]);
  const bytes = readFileSync(file);
  const want = (JSON.parse(bytes.toString('utf8')) as { strings: string[] }).strings;
  // (V8 does not write astral characters as they are: only the start is checked)
  for (const s of ['café ✓', 'line1\nline2\r\n', 'quote " and \\ backslash', '",\n"']) assert.ok(want.some((w) => w.startsWith(s)), `the snapshot holds ${JSON.stringify(s)}`);
  for (const size of [7, 1013, 65536, 1 << 22]) {
    const p = new HeapSnapshotParser();
    for (let o = 0; o < bytes.length; o += size) p.push(bytes.subarray(o, Math.min(bytes.length, o + size)));
    const got = p.finish().strings;
    assert.equal(got.length, want.length, `chunks of ${size}`);
    const first = got.findIndex((s, k) => s !== want[k]);
    assert.equal(first, -1, `chunks of ${size}: string ${first} is ${JSON.stringify(got[first])}, JSON.parse says ${JSON.stringify(want[first])}`);
  }
});

test('strings: a writer that puts several strings on a line, or none per line, parses the same', () => {
  const base = buildSnapshot([{ type: 'synthetic', name: '', id: 1, self: 0, edges: [] }]);
  const doc = JSON.parse(base) as { strings: string[] };
  doc.strings = ['', 'a', 'b\nc', 'd"e', 'ü'];
  const oneLine = JSON.stringify(doc);
  const manyPerLine = oneLine.replace('"strings":[', '"strings":[\n').replace('"a",', '"a",\n').replace(/\]\}$/, '\n]}');
  for (const text of [oneLine, manyPerLine]) {
    for (const size of [3, 16, 1 << 16]) {
      const p = new HeapSnapshotParser();
      const bytes = new TextEncoder().encode(text);
      for (let o = 0; o < bytes.length; o += size) p.push(bytes.subarray(o, Math.min(bytes.length, o + size)));
      assert.deepEqual(p.finish().strings, doc.strings, `chunks of ${size}`);
    }
  }
});

test('numbers: rows in any whitespace, at any chunking, parse as JSON.parse reads them (the run-of-rows fast paths)', () => {
  const j = realSnapshot('spacing');
  // every separator JSON allows, cycling, so rows straddle chunk ends in every way
  const seps = [',', ', ', ',\r\n', ' ,\t', ',\n  ', '\n,'];
  let k = 0;
  const spaced = (xs: number[]): string => `[${xs.map((x, i) => (i === 0 ? '' : seps[k++ % seps.length]) + String(x)).join('')}\n]`;
  const text = `{"snapshot":${JSON.stringify(j.snapshot)},\n"nodes":${spaced(j.nodes)},\n"edges":${spaced(j.edges)},\n"locations":${spaced(j.locations)},\n"strings":${JSON.stringify(j.strings)}}`;
  assertParsesAsJson(text, [1 << 22, 1 << 16, 4099]);
});

test('a real snapshot with its node and edge fields in another order parses by name (off the V8-layout fast paths)', () => {
  const j = realSnapshot('reordered');
  // each row's fields rotated by one: edges to_node, type, name_or_index; nodes likewise
  const rotate = <T>(xs: T[]): T[] => [xs[xs.length - 1]!, ...xs.slice(0, -1)];
  const rows = (xs: number[], width: number): number[] => {
    const out: number[] = [];
    for (let o = 0; o < xs.length; o += width) out.push(...rotate(xs.slice(o, o + width)));
    return out;
  };
  const nf = j.snapshot.meta.node_fields.length;
  const ef = j.snapshot.meta.edge_fields.length;
  const snapshot = {
    ...j.snapshot,
    meta: {
      ...j.snapshot.meta,
      // (node_types and edge_types run parallel to the fields)
      node_fields: rotate(j.snapshot.meta.node_fields),
      node_types: rotate(j.snapshot.meta.node_types as unknown[]),
      edge_fields: rotate(j.snapshot.meta.edge_fields),
      edge_types: rotate((j.snapshot.meta as unknown as { edge_types: unknown[] }).edge_types),
    },
  };
  const text = `{"snapshot":${JSON.stringify(snapshot)},\n"nodes":[${rows(j.nodes, nf).join(',\n')}],\n"edges":[${rows(j.edges, ef).join(',\n')}],\n"locations":${JSON.stringify(j.locations)},\n"strings":${JSON.stringify(j.strings)}}`;
  assert.ok(j.edges.length > 30000, 'enough edges for whole runs of rows');
  assertParsesAsJson(text, [1 << 22, 4099]);
});

test('an id past 32 bits in the middle of a long nodes section is kept exactly (the fast path hands over)', () => {
  const j = realSnapshot('bigid');
  const nf = j.snapshot.meta.node_fields.length;
  const idAt = j.snapshot.meta.node_fields.indexOf('id');
  const mid = Math.floor(j.snapshot.node_count / 2);
  j.nodes[mid * nf + idAt] = 2 ** 32 + 7;
  const text = `{"snapshot":${JSON.stringify(j.snapshot)},\n"nodes":[${j.nodes.join(',')}],\n"edges":[${j.edges.join(',')}],\n"locations":${JSON.stringify(j.locations)},\n"strings":${JSON.stringify(j.strings)}}`;
  const bytes = new TextEncoder().encode(text);
  const p = new HeapSnapshotParser();
  p.push(bytes);
  const s = p.finish();
  assert.equal(s.nodeId[mid], 2 ** 32 + 7);
  assertSameAsJson(s, text);
});
