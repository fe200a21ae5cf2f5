/**
 * Hostile inputs to the CLI (issue 16): a snapshot built to make the parser rescan (whitespace
 * runs, long numbers and strings, escapes split across chunks) must parse in time linear in its
 * size; a gzip bomb is refused as soon as its output passes the bound, with memory bounded by it;
 * a URL that never ends or stalls is cut off with one line; and Ctrl-C during `watch --snapshots`
 * still prints the report and leaves no torn file. The CLI runs under Node 20, 22 and 24.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { HeapSnapshotParser, type RawHeapSnapshot } from '../src/formats/heapsnapshot.js';
import { LeakscopeError } from '../src/core/errors.js';
import { maybeGunzip } from '../src/node/source.js';
import { parseByteSize } from '../src/node/limits.js';
import { loadHeapSnapshot } from '../src/node/snapshot-source.js';
import { cliPath, repoRoot } from './helpers/paths.js';
import { nodeBinaries } from './helpers/snapshot-node.js';

/** Node 20 (this process), 22 and 24: the versions users run the CLI with. */
const NODES = nodeBinaries().present.filter((b) => !/node 18/.test(b.label));
const missingNodes = nodeBinaries().missing.filter((m) => !m.startsWith('node18'));

let dir = '';
/** a preload that reports the process's peak RSS on stderr as it exits */
let rssHook = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'leakscope-hostile-'));
  rssHook = join(dir, 'rss-hook.cjs');
  writeFileSync(rssHook, "process.on('exit', () => require('fs').writeSync(2, `MAXRSS_KB=${process.resourceUsage().maxRSS}\\n`));\n");
});
after(() => rmSync(dir, { recursive: true, force: true }));

interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  /** stderr without the RSS line */
  stderr: string;
  ms: number;
  /** peak RSS in MB, when measured */
  rssMB?: number;
}

/** Runs the CLI under `node`; killed after `timeoutMs` (a hang is a failure, not a stuck test). */
function cli(node: string, args: string[], opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv; rss?: boolean; onSpawn?: (child: import('node:child_process').ChildProcess) => void } = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(node, [...(opts.rss ? ['-r', rssHook] : []), cliPath, ...args], { cwd: dir, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const kill = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    opts.onSpawn?.(child);
    child.on('close', (code, signal) => {
      clearTimeout(kill);
      const m = /MAXRSS_KB=(\d+)\n/.exec(stderr);
      resolve({ code, signal, stdout, stderr: stderr.replace(/MAXRSS_KB=\d+\n/, ''), ms: performance.now() - t0, ...(m ? { rssMB: Number(m[1]) / 1024 } : {}) });
    });
  });
}

/** exit 1 with exactly one line on stderr, matching `re` */
function assertOneLineFailure(r: CliRun, re: RegExp, what: string): void {
  assert.equal(r.signal, null, `${what}: killed (${r.signal}) after ${Math.round(r.ms)} ms: it hung. stderr: ${r.stderr}`);
  assert.equal(r.code, 1, `${what}: exit ${r.code}; stderr: ${r.stderr}`);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `${what}: one line on stderr, got:\n${r.stderr}`);
  assert.match(lines[0]!, re, what);
}

// ---------------------------------------------------------------------------------------------
// 1. The streaming parser: linear time, and any chunking gives JSON.parse's result
// ---------------------------------------------------------------------------------------------

const META = {
  node_fields: ['type', 'name', 'id', 'self_size', 'edge_count', 'trace_node_id', 'detachedness'],
  node_types: [['hidden', 'array', 'string', 'object', 'closure', 'native', 'synthetic'], 'string', 'number', 'number', 'number', 'number', 'number'],
  edge_fields: ['type', 'name_or_index', 'to_node'],
  edge_types: [['context', 'element', 'property', 'internal', 'hidden', 'shortcut', 'weak'], 'string_or_number', 'node'],
  location_fields: ['object_index', 'script_id', 'line', 'column'],
};
const NF = META.node_fields.length;

test('the audit case: a small gzip holding 64 MB of whitespace inside "nodes" is summarized in seconds (Node 20, 22, 24)', async (t) => {
  if (missingNodes.length > 0) t.diagnostic(`not installed, skipped: ${missingNodes.join(', ')}`);
  // root → Session (by property "s"); the whitespace sits between the two rows
  const ws = ' '.repeat(64 << 20);
  const text = `{"snapshot":{"meta":${JSON.stringify(META)},"node_count":2,"edge_count":1},"nodes":[6,0,1,0,1,0,0,${ws}3,1,3,100,0,0,0],"edges":[2,2,${NF}],"strings":["","Session","s"]}`;
  const gz = gzipSync(text, { level: 9 });
  assert.ok(gz.length < 200_000, `small on disk (${gz.length} bytes)`);
  const file = join(dir, 'whitespace-nodes.heapsnapshot.gz');
  writeFileSync(file, gz);
  for (const node of NODES) {
    // (before the fix: minutes — each whitespace byte rescanned the rest of the run in its chunk)
    const r = await cli(node.path, ['snapshot', 'summary', '--json', file], { timeoutMs: 60_000 });
    assert.equal(r.signal, null, `${node.label}: still parsing after ${Math.round(r.ms)} ms`);
    assert.equal(r.code, 0, `${node.label}: ${r.stderr}`);
    const rows = (JSON.parse(r.stdout) as { rows: { className: string; count: number; shallowSize: number }[] }).rows;
    const session = rows.find((x) => x.className === 'Session');
    assert.ok(session && session.count === 1 && session.shallowSize === 100, `${node.label}: ${r.stdout.slice(0, 300)}`);
    t.diagnostic(`${node.label}: ${gz.length} B gzip, ${text.length >> 20} MB inflated: ${Math.round(r.ms)} ms`);
  }
});

test('parse time is linear in the input for every hostile shape, chunking and reader mode (Node 20, 22, 24)', async (t) => {
  // test/programs/parse-linearity.mjs times each shape at 1 MB and 4 MB (least of three runs): a
  // linear parser takes ~4× as long; the rescanning one took 16× — in practice hours, so a hang
  // past the timeout is the failure that shows it.
  const program = join(repoRoot, 'test', 'programs', 'parse-linearity.mjs');
  for (const node of NODES) {
    const r = await new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
      const child = spawn(node.path, [program, join(repoRoot, 'dist'), String(1 << 20)], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (err += d));
      const kill = setTimeout(() => child.kill('SIGKILL'), 180_000);
      child.on('close', (code) => {
        clearTimeout(kill);
        resolve({ code, out, err });
      });
    });
    assert.equal(r.code, 0, `${node.label}: the linearity run failed or hung: ${r.err}`);
    const times = JSON.parse(r.out) as Record<string, { small: number; large: number }>;
    assert.ok(Object.keys(times).length >= 25, 'every shape was timed');
    const worst = Object.entries(times).sort((a, b) => b[1].large / b[1].small - a[1].large / a[1].small)[0]!;
    for (const [shape, { small, large }] of Object.entries(times)) {
      // 4× the input: at most 10× the time, plus slack for a loaded machine's pauses
      assert.ok(large <= 10 * small + 150, `${node.label} ${shape}: ${small.toFixed(1)} ms for 1 MB but ${large.toFixed(1)} ms for 4 MB: not linear`);
    }
    t.diagnostic(`${node.label}: largest ratio ${worst[0]} ${worst[1].small.toFixed(1)} → ${worst[1].large.toFixed(1)} ms`);
  }
});

interface Doc {
  nodes: number[];
  edges: number[];
  locations: number[];
  strings: string[];
}

/** What the parser must return, computed from JSON.parse of the whole text. */
function expected(doc: Doc): Partial<RawHeapSnapshot> {
  const n = doc.nodes.length / NF;
  const firstEdge = new Uint32Array(n + 1);
  for (let i = 0; i < n; i++) firstEdge[i + 1] = firstEdge[i]! + doc.nodes[i * NF + 4]!;
  const m = doc.edges.length / 3;
  const locs = doc.locations;
  const quads: number[][] = [];
  for (let k = 0; k < locs.length; k += 4) quads.push([locs[k]! / NF, locs[k + 1]!, locs[k + 2]!, locs[k + 3]!]);
  quads.sort((a, b) => a[0]! - b[0]!);
  return {
    nodeCount: n,
    edgeCount: m,
    nodeType: Uint8Array.from({ length: n }, (_, i) => doc.nodes[i * NF]!),
    nodeName: Uint32Array.from({ length: n }, (_, i) => doc.nodes[i * NF + 1]!),
    nodeId: Uint32Array.from({ length: n }, (_, i) => doc.nodes[i * NF + 2]!),
    nodeSelfSize: Float64Array.from({ length: n }, (_, i) => doc.nodes[i * NF + 3]!),
    firstEdge,
    edgeType: Uint8Array.from({ length: m }, (_, e) => doc.edges[e * 3]!),
    edgeNameOrIndex: Uint32Array.from({ length: m }, (_, e) => doc.edges[e * 3 + 1]!),
    edgeTo: Uint32Array.from({ length: m }, (_, e) => doc.edges[e * 3 + 2]! / NF),
    locations: Uint32Array.from(quads.flat()),
    strings: doc.strings,
  };
}

test('fast-check: chunk boundaries anywhere, whitespace anywhere, escapes anywhere: the parse is JSON.parse\'s', () => {
  const wsArb = fc.oneof({ weight: 4, arbitrary: fc.constant('') }, fc.stringMatching(/^[ \t\r\n]{1,6}$/), fc.constantFrom(' '.repeat(300), '\n'.repeat(20_000)));
  const strArb = fc.oneof(fc.string({ maxLength: 12 }), fc.string({ unit: 'grapheme', maxLength: 6 }), fc.constantFrom('', 'x'.repeat(5000), 'a"b\\c\n\u00e9\u2028'));
  const docArb = fc
    .record({
      nodes: fc.array(fc.record({ type: fc.nat(6), id: fc.nat(2 ** 32 - 1), self: fc.nat(2 ** 40), trace: fc.nat(5) }), { minLength: 1, maxLength: 6 }),
      strings: fc.array(strArb, { minLength: 1, maxLength: 6 }),
      edgeSeeds: fc.array(fc.tuple(fc.nat(), fc.nat(6), fc.nat(), fc.nat()), { maxLength: 10 }),
      locSeeds: fc.array(fc.tuple(fc.nat(), fc.nat(99), fc.nat(9999), fc.nat(99)), { maxLength: 4 }),
      nameSeeds: fc.array(fc.nat(), { minLength: 6, maxLength: 6 }),
    })
    .map(({ nodes, strings, edgeSeeds, locSeeds, nameSeeds }): Doc => {
      const n = nodes.length;
      // edges grouped by their source node, as V8 writes them
      const edges = edgeSeeds.map(([from, type, name, to]) => ({ from: from % n, type, name: type === 1 || type === 4 ? name % 1000 : name % strings.length, to: to % n })).sort((a, b) => a.from - b.from);
      const counts = new Array<number>(n).fill(0);
      for (const e of edges) counts[e.from]!++;
      return {
        nodes: nodes.flatMap((x, i) => [x.type, nameSeeds[i]! % strings.length, x.id, x.self, counts[i]!, x.trace, 0]),
        edges: edges.flatMap((e) => [e.type, e.name, e.to * NF]),
        locations: locSeeds.flatMap(([o, s, l, c]) => [(o % n) * NF, s, l, c]),
        strings,
      };
    });
  /** JSON text with whitespace from `ws` between all tokens, and some characters \u-escaped */
  const serialize = (doc: Doc, ws: string[], escapeEvery: number): string => {
    let k = 0;
    const w = () => ws[k++ % ws.length]!;
    const nums = (xs: number[]) => `[${w()}${xs.map((x) => `${x}${w()}`).join(`,${w()}`)}]`;
    // each UTF-16 unit as JSON.stringify writes it, or (every escapeEvery-th) as \uXXXX
    const str = (s: string) =>
      `"${[...s]
        .map((ch, i) => {
          const plain = JSON.stringify(ch).slice(1, -1);
          if (escapeEvery === 0 || i % escapeEvery !== 0) return plain;
          return [...Array(ch.length).keys()].map((u) => `\\u${ch.charCodeAt(u).toString(16).padStart(4, '0')}`).join('');
        })
        .join('')}"`;
    const head = `{${w()}"snapshot"${w()}:${w()}{"meta":${JSON.stringify(META)},"node_count":${doc.nodes.length / NF},"edge_count":${doc.edges.length / 3}}${w()},${w()}`;
    return `${head}"nodes"${w()}:${w()}${nums(doc.nodes)}${w()},${w()}"edges"${w()}:${nums(doc.edges)},"locations":${w()}${nums(doc.locations)},${w()}"trace_tree"${w()}:${w()}[${w()}"  \\"]"${w()}]${w()},"strings"${w()}:${w()}[${w()}${doc.strings.map((s) => `${str(s)}${w()}`).join(`,${w()}`)}]${w()}}${w()}`;
  };
  fc.assert(
    fc.property(docArb, fc.array(wsArb, { minLength: 1, maxLength: 20 }), fc.nat(5), fc.array(fc.nat(), { maxLength: 12 }), fc.constantFrom(1, 7, 4096, 65536), (doc, ws, escapeEvery, cuts, small) => {
      const text = serialize(doc, ws, escapeEvery);
      const parsed = JSON.parse(text) as typeof doc;
      const bytes = Buffer.from(text);
      // chunks: cut at random offsets, and some stretches in tiny pieces
      const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
      const chunks: Uint8Array[] = [];
      let prev = 0;
      for (const c of [...at, bytes.length]) {
        const piece = bytes.subarray(prev, c);
        // (at most a few thousand pieces: 1-byte chunks of a long run would only be slow)
        const step = Math.max(1, chunks.length % 3 === 0 ? Math.max(small, Math.ceil(piece.length / 4000)) : piece.length);
        for (let o = 0; o < piece.length; o += step) chunks.push(piece.subarray(o, o + step));
        prev = c;
      }
      const p = new HeapSnapshotParser();
      for (const c of chunks) p.push(c);
      const got = p.finish();
      const want = expected(parsed);
      for (const k of Object.keys(want) as (keyof RawHeapSnapshot)[]) assert.deepEqual(got[k], want[k], `${k} differs`);
      // the readers' other modes see the same numbers
      const h = new HeapSnapshotParser({ horizonOnly: true });
      for (const c of chunks) if (!h.done) h.push(c);
      const ids = [...(want.nodeId as Uint32Array)];
      assert.equal(h.horizon().maxJsId, Math.max(0, ...ids.filter((x) => x % 2 === 1)));
      const side = new HeapSnapshotParser({ edgesOnly: true });
      for (const c of chunks) if (!side.done) side.push(c);
      assert.deepEqual(side.edges().edgeTo, want.edgeTo);
    }),
    { numRuns: 300, seed: 1616 },
  );
});
