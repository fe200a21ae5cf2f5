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

test('a gzip\'d snapshot whose header claims more nodes than the bound can hold is refused before anything is allocated', async () => {
  // 3 KB on disk; a header announcing a billion nodes (21 GB of columns) — a claim, not a fact
  const text = `{"snapshot":{"meta":${JSON.stringify(META)},"node_count":1000000000,"edge_count":0},"nodes":[6,0,1,0,0,0,0],"edges":[],"strings":[""]}`;
  const file = join(dir, 'claims.heapsnapshot.gz');
  writeFileSync(file, gzipSync(text));
  await assert.rejects(loadHeapSnapshot(file, { maxBytes: 1 << 30 }), (e: unknown) => {
    assert.ok(e instanceof LeakscopeError);
    assert.equal(e.code, 'E_TOO_LARGE');
    assert.equal(e.message, `${file}: heap snapshot header announces 1000000000 nodes and 0 edges, more than the 1 GiB bound (raise the limit with --max-bytes or LEAKSCOPE_MAX_BYTES) can hold`);
    return true;
  });
});

// ---------------------------------------------------------------------------------------------
// 2. Gzip bombs: refused as soon as the output passes the bound; memory bounded by the bound
// ---------------------------------------------------------------------------------------------

test('sizes: --max-bytes and LEAKSCOPE_MAX_BYTES accept 512MiB, 2GB, 1.5G, plain bytes', () => {
  assert.equal(parseByteSize('512MiB'), 512 * 2 ** 20);
  assert.equal(parseByteSize('2GB'), 2e9);
  assert.equal(parseByteSize('1.5G'), 1.5 * 2 ** 30);
  assert.equal(parseByteSize('64k'), 65536);
  assert.equal(parseByteSize(' 1048576 '), 1048576);
  for (const bad of ['', 'lots', '-1', '0', '12Q', '1e9']) assert.equal(parseByteSize(bad), undefined, bad);
});

test('gzip bombs are refused as soon as the output passes the bound, whatever the trailer claims; members count together (Node 20, 22, 24)', async (t) => {
  if (missingNodes.length > 0) t.diagnostic(`not installed, skipped: ${missingNodes.join(', ')}`);
  // 160 gzip members of 64 MiB of zeros each: 10 MB on disk, 10 GiB inflated
  const member = gzipSync(Buffer.alloc(64 << 20));
  const bomb = join(dir, 'bomb.pb.gz');
  writeFileSync(bomb, Buffer.concat(new Array<Buffer>(160).fill(member)));
  const raise = '\\(raise the limit with --max-bytes or LEAKSCOPE_MAX_BYTES\\)';
  for (const node of NODES) {
    // (before: inflated to 4 GiB — RSS 4.1 GB, ~20 s — before it was refused)
    const r = await cli(node.path, ['top', bomb], { rss: true, timeoutMs: 60_000 });
    assertOneLineFailure(r, new RegExp(`^leakscope top: ${bomb.replace(/[.]/g, '\\.')}: gzip data inflates to more than 512 MiB; stopped inflating ${raise}$`), `${node.label} top bomb`);
    assert.ok(r.rssMB! < 512 + 350, `${node.label}: peak RSS ${r.rssMB!.toFixed(0)} MB for a 512 MiB bound`);
    t.diagnostic(`${node.label}: refused after ${Math.round(r.ms)} ms, peak RSS ${r.rssMB!.toFixed(0)} MB`);
  }
  const node20 = NODES[0]!.path;
  // the flag and the environment set the bound
  const flag = await cli(node20, ['top', '--max-bytes', '100MiB', bomb], { rss: true });
  assertOneLineFailure(flag, /gzip data inflates to more than 100 MiB; stopped inflating/, 'top --max-bytes 100MiB');
  assert.ok(flag.rssMB! < 100 + 300, `peak RSS ${flag.rssMB!.toFixed(0)} MB for a 100 MiB bound`);
  const env = await cli(node20, ['convert', '--to', 'collapsed', bomb], { env: { LEAKSCOPE_MAX_BYTES: '64MiB' } });
  assertOneLineFailure(env, /^leakscope convert: .*: gzip data inflates to more than 64 MiB; stopped inflating/, 'convert with LEAKSCOPE_MAX_BYTES=64MiB');
  const badEnv = await cli(node20, ['top', bomb], { env: { LEAKSCOPE_MAX_BYTES: 'lots' } });
  assert.equal(badEnv.code, 2, badEnv.stderr);
  assert.match(badEnv.stderr, /^leakscope top: LEAKSCOPE_MAX_BYTES must be a size such as 512MiB or 2GB, got "lots"\n$/);
  // one member alone is bounded the same way; a raised bound lets a genuine large input through
  const one = join(dir, 'one-member.pb.gz');
  writeFileSync(one, member);
  assertOneLineFailure(await cli(node20, ['top', '--max-bytes', '16MiB', one]), /gzip data inflates to more than 16 MiB/, 'one member past 16 MiB');
  const fine = await cli(node20, ['top', '--max-bytes', '65MiB', one]);
  assert.doesNotMatch(fine.stderr, /inflates/, 'under the bound, the input is read (and found not to be a profile)');

  // heap snapshots stream through zlib: a header in one member, then 1 GiB of whitespace in 16
  const head = gzipSync(`{"snapshot":{"meta":${JSON.stringify(META)},"node_count":2,"edge_count":1},"nodes":[6,0,1,0,1,0,0,`);
  const spaces = gzipSync(Buffer.alloc(64 << 20, 32));
  const snapBomb = join(dir, 'bomb.heapsnapshot.gz');
  writeFileSync(snapBomb, Buffer.concat([head, ...new Array<Buffer>(16).fill(spaces)]));
  for (const node of NODES) {
    const s = await cli(node.path, ['snapshot', 'summary', '--max-bytes', '256MiB', snapBomb], { rss: true, timeoutMs: 60_000 });
    assertOneLineFailure(s, new RegExp(`^leakscope snapshot: ${snapBomb.replace(/[.]/g, '\\.')}: gzip data inflates to more than 256 MiB; stopped inflating ${raise}$`), `${node.label} snapshot bomb`);
    assert.ok(s.rssMB! < 300, `${node.label}: streaming: peak RSS ${s.rssMB!.toFixed(0)} MB`);
  }
});

// ---------------------------------------------------------------------------------------------
// 3. URLs: a body past --max-bytes is cut off; a body that never ends or stalls times out
// ---------------------------------------------------------------------------------------------

const SNAPSHOT_HEAD = `{"snapshot":{"meta":${JSON.stringify(META)},"node_count":2,"edge_count":1},"nodes":[6,0,1,0,1,0,0,`;

/** A server whose answers never end (`/endless…`), stall (`/stall…`) or claim 3 GB (`/claim`). */
async function hostileServer(): Promise<{ server: Server; base: string; close: () => void }> {
  const chunk = Buffer.alloc(64 << 10, 32);
  const endless = (res: ServerResponse, prefix: string) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    res.write(prefix);
    const pump = () => {
      while (!res.destroyed && res.write(chunk));
      if (!res.destroyed) res.once('drain', pump);
    };
    pump();
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/endless' || path.startsWith('/debug/pprof/')) endless(res, '');
    else if (path === '/endless-snapshot') endless(res, SNAPSHOT_HEAD);
    else if (path === '/stall') {
      res.writeHead(200);
      res.write('\x0a\x02');
    } else if (path === '/stall-snapshot') {
      res.writeHead(200);
      res.write(SNAPSHOT_HEAD);
    } else if (path === '/claim') {
      res.writeHead(200, { 'content-length': String(3 * 2 ** 30) });
      res.write('\x0a\x02');
    } else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    server,
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

test('every command that reads URLs stops at --max-bytes with one line, whatever the body or its Content-Length (Node 20, 22, 24)', async (t) => {
  if (missingNodes.length > 0) t.diagnostic(`not installed, skipped: ${missingNodes.join(', ')}`);
  const srv = await hostileServer();
  try {
    const u = `${srv.base}/endless`;
    const commands: [string, string[]][] = [
      ['top', ['top', u]],
      ['list', ['list', 'main', u]],
      ['peek', ['peek', 'main', u]],
      ['traces', ['traces', u]],
      ['tree', ['tree', u]],
      ['convert', ['convert', '--to', 'collapsed', u]],
      ['merge', ['merge', '-o', join(dir, 'merged.pb.gz'), u]],
      ['info', ['info', u]],
      ['snapshot', ['snapshot', 'summary', `${srv.base}/endless-snapshot`]],
    ];
    for (const node of NODES) {
      for (const [name, args] of commands) {
        // (before: read into memory until the 60 s timeout, or forever for snapshots)
        const r = await cli(node.path, [...args, '--max-bytes', '2MiB'], { timeoutMs: 30_000 });
        assertOneLineFailure(r, new RegExp(`^leakscope ${name}: ${srv.base}/\\S+: the answer is larger than 2 MiB; stopped reading \\(raise the limit with --max-bytes or LEAKSCOPE_MAX_BYTES\\)$`), `${node.label} ${name}`);
      }
    }
    const node20 = NODES[0]!.path;
    // the documented default, and the environment variable
    const def = await cli(node20, ['top', u], { rss: true, timeoutMs: 60_000 });
    assertOneLineFailure(def, /: the answer is larger than 512 MiB; stopped reading/, 'top with the default limit');
    assert.ok(def.rssMB! < 512 + 400, `peak RSS ${def.rssMB!.toFixed(0)} MB for a 512 MiB limit`);
    assertOneLineFailure(await cli(node20, ['top', u], { env: { LEAKSCOPE_MAX_BYTES: '3MiB' } }), /: the answer is larger than 3 MiB; stopped reading/, 'LEAKSCOPE_MAX_BYTES=3MiB');
    // a Content-Length past the limit is refused before the body is read
    const claim = await cli(node20, ['top', `${srv.base}/claim`], { timeoutMs: 20_000 });
    assertOneLineFailure(claim, /\/claim: the answer is larger than 512 MiB; stopped reading/, 'Content-Length: 3 GB');
    assert.ok(claim.ms < 10_000, `refused at once (${Math.round(claim.ms)} ms)`);
  } finally {
    srv.close();
  }
});

test('a URL that stalls mid-body times out with a clear line (top, snapshot; Node 20, 22, 24)', async () => {
  const srv = await hostileServer();
  try {
    for (const node of NODES) {
      const top = await cli(node.path, ['top', '--timeout', '1', `${srv.base}/stall`], { timeoutMs: 30_000 });
      assertOneLineFailure(top, new RegExp(`^leakscope top: ${srv.base}/stall: the answer did not end within 1s \\(2 bytes read; --timeout gives more time\\)$`), `${node.label} top`);
      assert.ok(top.ms < 15_000, `${node.label}: top gave up after ${Math.round(top.ms)} ms`);
      const snap = await cli(node.path, ['snapshot', 'summary', '--timeout', '1', `${srv.base}/stall-snapshot`], { timeoutMs: 30_000 });
      assertOneLineFailure(snap, new RegExp(`^leakscope snapshot: ${srv.base}/stall-snapshot: the answer did not end within 1s \\(\\d+ bytes read\\)$`), `${node.label} snapshot`);
      assert.ok(snap.ms < 15_000, `${node.label}: snapshot gave up after ${Math.round(snap.ms)} ms`);
    }
  } finally {
    srv.close();
  }
});

test('watch: a poll past --max-bytes is a gap with that reason, not unbounded memory (Node 20, 22, 24)', async () => {
  const srv = await hostileServer();
  try {
    for (const node of NODES) {
      const out = join(dir, `watch-cap-${node.label.replace(/\W+/g, '-')}`);
      const r = await cli(node.path, ['watch', srv.base, '--interval', '200ms', '--duration', '1500ms', '--max-bytes', '1MiB', '-q', '--out', out], { timeoutMs: 30_000 });
      assertOneLineFailure(r, /^leakscope watch: no profile could be fetched from .*: the answer is larger than 1 MiB; stopped reading/, `${node.label} watch`);
      const index = readFileSync(join(out, 'index.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { gap?: boolean; error?: string });
      assert.ok(index.length >= 2, `${node.label}: polls recorded`);
      for (const e of index) {
        assert.equal(e.gap, true);
        assert.match(e.error!, /the answer is larger than 1 MiB; stopped reading/);
      }
    }
  } finally {
    srv.close();
  }
});

// ---------------------------------------------------------------------------------------------
// 4. Ctrl-C during `watch --snapshots`: the report of what was collected, and no torn file
// ---------------------------------------------------------------------------------------------

/**
 * An agent stand-in: `/debug/pprof/heap` answers .heapprofile JSON in which one JavaScript site
 * grows by 1 MB a poll (a leak watch confirms within a few polls); `/debug/pprof/heapsnapshot`
 * sends the start of a snapshot and then nothing more, as a service writing a big heap would.
 */
async function fakeAgent(): Promise<{ base: string; close: () => void; snapshots: () => number }> {
  let polls = 0;
  let snapshots = 0;
  const frame = (functionName: string, url: string, lineNumber: number) => ({ functionName, scriptId: '1', url, lineNumber, columnNumber: 4 });
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/debug/pprof/heap') {
      polls++;
      const head = {
        callFrame: frame('(root)', '', -1),
        selfSize: 0,
        id: 1,
        children: [
          { callFrame: frame('rememberRequest', 'file:///srv/app/leak.js', 9), selfSize: polls * 1_000_000, id: 2, children: [] },
          { callFrame: frame('steadyCache', 'file:///srv/app/cache.js', 20), selfSize: 4_000_000, id: 3, children: [] },
        ],
      };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ head }));
    } else if (path === '/debug/pprof/heapsnapshot') {
      snapshots++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(SNAPSHOT_HEAD + '3,1,3,100,0,0,0,'.repeat(20_000));
    } else res.writeHead(404).end('no such profile\n');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    snapshots: () => snapshots,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

/** Resolves with the temp file once one appears in `runDir` holding bytes (the download is under way). */
async function partialDownload(runDir: string, timeoutMs: number): Promise<string | undefined> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const tmp = existsSync(runDir) ? readdirSync(runDir).find((f) => /^snapshot-1\.heapsnapshot\.tmp-/.test(f)) : undefined;
    if (tmp && statSync(join(runDir, tmp), { throwIfNoEntry: false })?.size) return tmp;
    await new Promise((r) => setTimeout(r, 50));
  }
  return undefined;
}

test('watch --snapshots: Ctrl-C while a snapshot downloads prints the report at once and leaves no torn file; a second Ctrl-C leaves none either (Node 20, 22, 24)', async (t) => {
  if (missingNodes.length > 0) t.diagnostic(`not installed, skipped: ${missingNodes.join(', ')}`);
  const agent = await fakeAgent();
  try {
    for (const node of NODES) {
      for (const presses of [1, 2]) {
        const runDir = join(dir, `watch-sigint-${presses}-${node.label.replace(/\W+/g, '-')}`);
        let sigintAt = 0;
        let tmpSeen: string | undefined;
        const r = await cli(node.path, ['watch', agent.base, '--profiles', 'heap', '--interval', '200ms', '--min-samples', '3', '--snapshots', '--out', runDir], {
          timeoutMs: 60_000,
          onSpawn: (child) => {
            void partialDownload(runDir, 45_000).then((tmp) => {
              tmpSeen = tmp;
              if (!tmp) return;
              sigintAt = performance.now();
              child.kill('SIGINT');
              if (presses === 2) setTimeout(() => child.kill('SIGINT'), 20);
            });
          },
        });
        const what = `${node.label}, ${presses} Ctrl-C`;
        assert.ok(tmpSeen, `${what}: no snapshot download started (stderr: ${r.stderr})`);
        // (a second press that lands after the report, as the process ends, may end it by the signal)
        if (presses === 1 || r.signal !== 'SIGINT') assert.equal(r.signal, null, `${what}: still running ${Math.round(performance.now() - sigintAt)} ms after Ctrl-C (killed): the download was not interrupted`);
        const left = readdirSync(runDir);
        assert.deepEqual(left.filter((f) => /\.tmp-/.test(f)), [], `${what}: a temp file is left: ${left.join(', ')}`);
        assert.ok(!left.includes('snapshot-1.heapsnapshot'), `${what}: a partial snapshot was kept under its final name`);
        assert.ok(left.includes('heap-0001.pb.gz'), `${what}: the polls are saved`);
        if (presses === 1) {
          assert.equal(r.code, 0, `${what}: ${r.stderr}`);
          assert.match(r.stdout, /stopped by Ctrl-C: this report covers what was collected/, what);
          assert.match(r.stdout, /rememberRequest/, `${what}: the report names the growing site`);
          assert.match(r.stdout, /--snapshots failed: interrupted while a heap snapshot was downloading \(the partial file was removed\)/, what);
        } else {
          // the second press exits at once (130) unless the first already finished the report (0)
          assert.ok(r.code === 130 || /stopped by Ctrl-C/.test(r.stdout), `${what}: exit ${r.code ?? r.signal}: ${r.stderr}`);
        }
      }
    }
    assert.ok(agent.snapshots() >= NODES.length * 2, 'every run asked for a snapshot');
  } finally {
    agent.close();
  }
});
