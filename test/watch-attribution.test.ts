/**
 * Where `watch` puts a leak on Node services built on real frameworks (issue 14): the frames here
 * are those the V8 sampler recorded in an express 4 + express-session + prom-client service
 * (test/programs/watch-express.mjs), converted by the agent's own converter.
 *
 * - a stack with no user frame (node internals, V8 builtins) is never a suspect, and a frame
 *   without a file is never printed as `:0`;
 * - a leak inside a library (node_modules) is named at the user's frame that calls into it, with
 *   the library's frame after it;
 * - the agent's census is "async resources" with its resource type, not "goroutines";
 * - Node heap suspects carry no "objects/min" (the sampler counts samples, not objects);
 * - a site confirmed earlier in the run and not at the end is listed with the reason; near
 *   misses and the sampler's resolution explain a "No leak".
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeLeaks, type Observation } from '../src/core/leak/analyze.js';
import { mannKendall } from '../src/core/leak/stats.js';
import { judgeSeries, verdictParams } from '../src/core/leak/verdict.js';
import { prng } from '../bench/leak-synth.js';
import { summarizeProfile, libraryPackage, type LeakKind } from '../src/core/leak/summary.js';
import { censusToPprof, heapProfileToPprof, type CensusEntry, type V8CallFrame, type V8HeapNode, type V8SamplingHeapProfile } from '../src/formats/v8-profiles.js';
import { leakReportJson, renderLeakMarkdown, renderLeakText, renderLiveView } from '../src/report/watch.js';

const INTERVAL = 512 * 1024;
const APP = '/srv/shop/app.js';
const NM = '/srv/shop/node_modules';

type F = [name: string, url: string, line: number];
/** call frames of the service, root first (as V8's tree holds them) */
const ROUTER: F[] = [
  ['processImmediate', 'node:internal/timers', 437],
  ['emit', 'node:events', 500],
  ['parserOnIncoming', 'node:_http_server', 1100],
  ['app', `${NM}/express/lib/application.js`, 0],
  ['handle', `${NM}/express/lib/router/index.js`, 135],
  ['next', `${NM}/express/lib/router/index.js`, 176],
  ['handle', `${NM}/express/lib/router/layer.js`, 85],
];
const STACKS: Record<string, F[]> = {
  // express-session's MemoryStore, saved from the user's handler through res.json
  session: [
    ...ROUTER,
    ['(anonymous)', APP, 61],
    ['json', `${NM}/express/lib/response.js`, 249],
    ['send', `${NM}/express/lib/response.js`, 110],
    ['end', `${NM}/express-session/index.js`, 264],
    ['save', `${NM}/express-session/session/session.js`, 70],
    ['set', `${NM}/express-session/session/memory.js`, 118],
    ['stringify', '', -1],
  ],
  // the same MemoryStore, saved from two other routes (MemoryStore.set inlined into save in one)
  sessionProducts: [
    ...ROUTER,
    ['(anonymous)', APP, 43],
    ['json', `${NM}/express/lib/response.js`, 249],
    ['end', `${NM}/express-session/index.js`, 264],
    ['save', `${NM}/express-session/session/session.js`, 70],
    ['set', `${NM}/express-session/session/memory.js`, 118],
  ],
  sessionSearch: [
    ...ROUTER,
    ['(anonymous)', APP, 100],
    ['send', `${NM}/express/lib/response.js`, 110],
    ['end', `${NM}/express-session/index.js`, 264],
    ['save', `${NM}/express-session/session/session.js`, 70],
  ],
  // a middleware that only called next(): what express does after it is not its doing
  bodyParser: [
    ...ROUTER,
    ['(anonymous)', APP, 24],
    ['next', `${NM}/express/lib/router/index.js`, 176],
    ['jsonParser', `${NM}/body-parser/lib/types/json.js`, 104],
    ['readStream', `${NM}/raw-body/index.js`, 154],
  ],
  // leakscope's own setTimeout wrapper (source-mapped to its TypeScript), keeping WeakRefs
  timerWrapper: [...ROUTER, ['(anonymous)', APP, 61], ['lookupProduct', APP, 38], ['wrapper', '/opt/leakscope/src/agent/timer-registry.ts', 77], ['setTimeout', 'node:timers', 140]],
  // the user's own array, in plain user code
  audit: [...ROUTER, ['(anonymous)', APP, 61], ['recordAudit', APP, 30]],
  // the handler's own allocations (closures it keeps), next to the session its res.json saves
  handlerOwn: [...ROUTER, ['(anonymous)', APP, 61]],
  // the handler calling a library itself
  handlerCache: [...ROUTER, ['(anonymous)', APP, 61], ['set', `${NM}/lru-cache/dist/esm/index.js`, 1200]],
  // in-flight requests under load: node's own objects, no user frame
  incoming: [['emit', 'node:events', 500], ['parserOnIncoming', 'node:_http_server', 1166], ['IncomingMessage', 'node:_http_incoming', 49]],
  // native glue: a builtin with no file at all
  bind: [['processTicksAndRejections', 'node:internal/process/task_queues', 66], ['bind', '', -1]],
  // express's own per-request work, no user frame (library only)
  router: [...ROUTER, ['query', `${NM}/express/lib/middleware/query.js`, 30]],
  // a warming cache in user code: fills then stays
  cache: [...ROUTER, ['(anonymous)', APP, 61], ['lookupProduct', APP, 38], ['set', `${NM}/lru-cache/dist/esm/index.js`, 1200]],
};

let ordinal = 1;
/** A V8 sampling heap profile with `counts[stack]` live samples of one interval each. */
function v8Heap(counts: Record<string, number>): V8SamplingHeapProfile {
  let nextId = 1;
  const head: V8HeapNode = { callFrame: { functionName: '(root)', url: '', lineNumber: -1, columnNumber: -1 }, selfSize: 0, id: nextId++, children: [] };
  const samples: V8SamplingHeapProfile['samples'] = [];
  for (const [name, n] of Object.entries(counts)) {
    let node = head;
    for (const [fn, url, line] of STACKS[name]!) {
      const cf: V8CallFrame = { functionName: fn, url: url && !url.startsWith('node:') ? `file://${url}` : url, lineNumber: line, columnNumber: line >= 0 ? 4 : -1 };
      let child = node.children.find((c) => c.callFrame.functionName === cf.functionName && c.callFrame.url === cf.url && c.callFrame.lineNumber === cf.lineNumber);
      if (!child) node.children.push((child = { callFrame: cf, selfSize: 0, id: nextId++, children: [] }));
      node = child;
    }
    for (let i = 0; i < n; i++) samples.push({ size: INTERVAL + 24, nodeId: node.id, ordinal: ordinal++ });
  }
  return { head, samples };
}

const T0 = Date.parse('2026-12-01T10:00:00Z');

function heapRun(n: number, counts: (i: number) => Record<string, number>, intervalMs = 10_000): Observation[] {
  const catalog = new Map();
  const out: Observation[] = [];
  for (let i = 0; i < n; i++) {
    const p = heapProfileToPprof(v8Heap(counts(i)), { interval: INTERVAL, comments: [`V8 sampling heap profiler, interval ${INTERVAL} bytes; lines are function start lines`] });
    out.push({ kind: 'heap', timeMs: T0 + i * intervalMs, summary: summarizeProfile(p, 'heap', catalog) });
  }
  return out;
}

function censusRun(n: number, kind: LeakKind, entries: (i: number) => CensusEntry[]): Observation[] {
  const catalog = new Map();
  return Array.from({ length: n }, (_, i) => ({ kind, timeMs: T0 + i * 10_000, summary: summarizeProfile(censusToPprof(entries(i)), kind, catalog) }));
}

const meta = { target: 'http://127.0.0.1:6060/debug/pprof', samples: 12, durationMs: 110_000, gaps: 0 };

test('library frames: the npm package of a node_modules file', () => {
  assert.equal(libraryPackage('/srv/shop/node_modules/express-session/session/memory.js'), 'express-session');
  assert.equal(libraryPackage('/srv/shop/node_modules/@fastify/cookie/plugin.js'), '@fastify/cookie');
  assert.equal(libraryPackage('/srv/node_modules/.pnpm/prom-client@15/node_modules/prom-client/lib/histogram.js'), 'prom-client');
  assert.equal(libraryPackage('C:\\srv\\node_modules\\express\\lib\\router\\index.js'), 'express');
  assert.equal(libraryPackage('/srv/shop/app.js'), '');
});

test('heap: runtime-only and library-only stacks are never suspects; a leak inside a library is named at the user frame first', () => {
  // 12 polls 10 s apart; session, audit and the runtime/library stacks grow by about one sampler
  // sample per poll (~3 MB/min each), the cache fills for four polls then stays
  const obs = heapRun(12, (i) => ({
    session: i,
    audit: Math.round(i * 0.9),
    incoming: 2 + i,
    bind: i,
    router: 1 + i,
    cache: Math.min(i, 4) * 2,
  }));
  const a = analyzeLeaks(obs);
  const sus = a.suspects.map((s) => `${s.name}@${s.file}:${s.line}`);
  assert.deepEqual(sus.sort(), [`(anonymous)@${APP}:62`, `recordAudit@${APP}:31`].sort(), sus.join(', '));
  // the session leak: the user's handler, inside express-session's MemoryStore.set
  const session = a.suspects.find((s) => s.name === '(anonymous)')!;
  assert.equal(session.origin, 'user');
  assert.deepEqual(session.library, { name: 'set', file: `${NM}/express-session/session/memory.js`, line: 119 });
  assert.equal(session.stack[0], `set ${NM}/express-session/session/memory.js:119`, 'the stack starts at the library frame');
  assert.equal(session.objectsPerMinute, undefined, 'the V8 sampler counts samples, not objects');
  // the runtime's and express's own growth: reported apart, ranked below
  const outside = a.outside.map((s) => `${s.origin}:${s.name}`).sort();
  assert.deepEqual(outside, ['library:query', 'runtime:IncomingMessage', 'runtime:bind']);
  const text = renderLeakText(a, meta);
  assert.ok(!/:0\b/.test(text), `a frame without a file is never printed as :0:\n${text}`);
  assert.ok(!/objects\/min/.test(text), text);
  assert.match(text, /heap {6}\(anonymous\) {2}at \/srv\/shop\/app\.js:62, inside set at \/srv\/shop\/node_modules\/express-session\/session\/memory\.js:119/);
  assert.ok(text.indexOf('Also growing outside your code') > text.indexOf('recordAudit'), 'outside sites come after every user site');
  assert.match(text, /bind at \(no file\)/);
  // the warming cache is not a suspect; its growth stopped, it is a near miss with the reason
  assert.ok(!a.suspects.some((s) => s.name === 'lookupProduct'));
  const j = leakReportJson(a, meta);
  assert.equal(j.suspects.find((s) => s.name === '(anonymous)')!.library!.line, 119);
  assert.equal(j.outside.length, 3);
  assert.equal(j.profiles[0]!.runtime, 'node');
  assert.equal(j.profiles[0]!.samplingInterval, INTERVAL);
  for (const s of [...j.suspects, ...j.outside]) assert.equal(s.objectsPerMinute, undefined);
  const md = renderLeakMarkdown(a, meta);
  assert.match(md, /inside `set` at `\/srv\/shop\/node_modules\/express-session\/session\/memory\.js:119`/);
});

test('heap: a suspect confirmed earlier and not at the end is listed with the reason', () => {
  // a cache that fills steadily for 10 polls (confirmed then), then stays for 10
  const obs = heapRun(20, (i) => ({ cache: Math.min(i, 9) * 2, audit: 1 }));
  const a = analyzeLeaks(obs);
  assert.equal(a.suspects.length, 0);
  const m = a.nearMisses.find((x) => x.name === 'lookupProduct');
  assert.ok(m && m.heldAtSample !== undefined && m.heldAtSample <= 10, JSON.stringify(a.nearMisses));
  assert.equal(m.reason, 'plateau');
  const text = renderLeakText(a, meta);
  assert.match(text, /Confirmed earlier in the run, not at the end:\n {2}- heap {6}lookupProduct at \/srv\/shop\/app\.js:39, inside set at \S+lru-cache\S+: confirmed at sample \d+ \(\d+s in\), not at the end: it stopped growing/);
  // the live view (no first-detection scan) still ranks it among the growing sites
  const live = renderLiveView({ target: meta.target, runDir: '/tmp/x', elapsedMs: 1000, samples: 20, gaps: 0, analysis: analyzeLeaks(obs.slice(0, 10), { firstDetected: false }) });
  assert.match(live, /Suspects:\n {2}heap {6}lookupProduct at/);
});

test('heap: "No leak" explains the sampler resolution and lists near misses', () => {
  // a slow leak: one sampler sample every fourth poll (about 0.75 MB/min), over 8 polls
  const obs = heapRun(8, (i) => ({ audit: Math.floor(i / 4), session: 1 }));
  const a = analyzeLeaks(obs);
  assert.equal(a.suspects.length, 0);
  const text = renderLeakText(a, meta);
  assert.match(text, /No leak: nothing in your code grew steadily enough/);
  assert.match(text, /Resolution: the heap sampler records about one allocation per 512kB, so a site must grow by 1MB or more to be judged; over the 1m10s analyzed that is a leak of about 877.71kB\/min/);
  assert.match(text, /LEAKSCOPE_HEAP_INTERVAL/);
  assert.match(text, /Near misses \(grew, but failed a rule of the verdict\):\n {2}- heap {6}recordAudit at \/srv\/shop\/app\.js:31 .*: its growth is below the floor/);
  assert.equal(leakReportJson(a, meta).profiles[0]!.minDetectablePerMinute! > 0.8 * 1024 * 1024, true);
});

test('async census: Node resources are "async resources" with their type, never "goroutines"; unknown callbacks are not suspects', () => {
  const poll: V8CallFrame = { functionName: 'pollUpstream', url: 'file:///srv/shop/app.js', lineNumber: 80, columnNumber: 2 };
  const lib: V8CallFrame = { functionName: 'onTimeout', url: 'file:///srv/shop/node_modules/some-client/index.js', lineNumber: 9, columnNumber: 2 };
  const obs = censusRun(10, 'goroutine', (i) => [
    { type: 'Interval', frame: poll, count: 3 + 4 * i },
    { type: 'Timeout', frame: lib, count: 1 + 3 * i },
    { type: 'Timeout', count: 2 + 5 * i },
    { type: 'TCPSocket', frame: { functionName: 'connectionListener', url: 'node:_http_server', lineNumber: 500, columnNumber: 0 }, count: 4 + 2 * i },
  ]);
  const a = analyzeLeaks(obs);
  assert.equal(a.kinds[0]!.runtime, 'node');
  const sus = a.suspects.map((s) => `${s.resource} ${s.name} ${s.origin}`);
  assert.deepEqual(sus.sort(), ['Interval pollUpstream user', 'Timeout onTimeout library']);
  assert.deepEqual(a.outside.map((s) => s.resource).sort(), ['TCPSocket', 'Timeout']);
  const text = renderLeakText(a, meta);
  assert.ok(!/goroutine/.test(text), text);
  assert.match(text, /async {5}Interval pollUpstream {2}at \/srv\/shop\/app\.js:81\n {4}\+24 async resources\/min/);
  assert.match(text, /samples of heap|samples of async/);
});

test('promises: the census with promises=1 is summarized as its pending promises only', () => {
  const obs = censusRun(8, 'promises', (i) => [
    { type: 'Promise', count: 100 + 50 * i },
    { type: 'Interval', frame: { functionName: 'tick', url: 'file:///srv/shop/app.js', lineNumber: 3, columnNumber: 0 }, count: 2 + 3 * i },
  ]);
  assert.equal(obs[7]!.summary.total, 450);
  const a = analyzeLeaks(obs);
  assert.equal(a.suspects.length, 0, 'promises have no location: no suspect of their own');
  assert.equal(a.outside.length, 1);
  assert.match(renderLeakText(a, meta), /pending promises\/min/);
  // too few polls of the promises (they are spaced out) are said, not silently skipped
  const few = analyzeLeaks([...heapRun(8, () => ({ session: 1 })), ...obs.slice(0, 3)]);
  assert.match(renderLeakText(few, meta), /No verdict on promises: 3 samples, at least 5 needed \(pending promises are polled every third interval at most\)/);
});

test('sampled heap series: Kendall tau-b does not count the flat stretches of a step series against it', () => {
  // a site that gains one sampler sample every other poll
  const y = [0, 0, 1, 1, 2, 2, 3, 3, 4, 4];
  const mk = mannKendall(y);
  assert.ok(Math.abs(mk.tau - 40 / 45) < 1e-12, `tau-a ${mk.tau}`);
  assert.ok(Math.abs(mk.tauB - 40 / Math.sqrt(45 * 40)) < 1e-12, `tau-b ${mk.tauB}`);
  const noTies = mannKendall([1, 3, 2, 4, 5]);
  assert.equal(noTies.tauB, noTies.tau);
});

test('sampled heap series: a 3-5 MB/min leak is confirmed within 10-12 polls at 10 s in most runs; quantized plateaus rarely', () => {
  // V8's sampler at 512 KiB: a leak adds Poisson-many samples per poll, in-flight requests add a
  // few that come and go; a warming cache fills for the first 25-40 % of the run, then stays.
  const p = verdictParams('normal');
  const MB = 1 << 20;
  const poisson = (r: () => number, lam: number) => {
    const L = Math.exp(-lam);
    let k = 0;
    let q = 1;
    do {
      k++;
      q *= r();
    } while (q > L);
    return k - 1;
  };
  const sim = (seed: number, n: number, rateMB: number, plateau: boolean) => {
    const r = prng(seed);
    const x = Float64Array.from({ length: n }, (_, i) => i / 6);
    const lam = (rateMB * MB) / 6 / INTERVAL;
    const fill = Math.round(n * (0.25 + r() * 0.15));
    const y = new Float64Array(n);
    let live = 0;
    for (let i = 0; i < n; i++) {
      if (i > 0 && (!plateau || i <= fill)) live += poisson(r, plateau ? (lam * n) / fill / 2 : lam);
      y[i] = (live + poisson(r, 0.3)) * (INTERVAL + 100);
    }
    return judgeSeries(x, y, 40 * MB, 'bytes', p).leak;
  };
  const runs = 300;
  for (const [rate, n, minRecall] of [
    [3, 12, 0.85],
    [5, 10, 0.88],
  ] as const) {
    let found = 0;
    let fp = 0;
    for (let s = 1; s <= runs; s++) {
      if (sim(s, n, rate, false)) found++;
      if (sim(s + 1e6, n, rate, true)) fp++;
    }
    assert.ok(found / runs >= minRecall, `${rate} MB/min over ${n} polls: recall ${found / runs}`);
    assert.ok(fp / runs <= 0.03, `${rate} MB/min plateau over ${n} polls: ${fp} false positives`);
  }
});

test('heap: a leak inside a library fed from several routes is judged over all of them, named at the caller that grew most', () => {
  // each of three routes gains one sampler sample in the run (one step, below the floor: no
  // verdict of its own); the store over all routes gains one every third poll. A middleware that
  // called next() is not charged with the body parser's buffers.
  const obs = heapRun(12, (i) => ({ sessionProducts: i >= 3 ? 1 : 0, sessionSearch: i >= 6 ? 1 : 0, session: i >= 9 ? 1 : 0, bodyParser: i }));
  const a = analyzeLeaks(obs);
  assert.equal(a.suspects.length, 1, a.suspects.map((s) => `${s.name}:${s.line}`).join(', '));
  const s = a.suspects[0]!;
  assert.equal(s.file, APP);
  assert.match(s.library!.file, /\/node_modules\/express-session\/session\/(memory|session)\.js$/);
  assert.deepEqual([s.line, ...s.callers!.map((c) => c.line)].sort((x, y) => x - y), [44, 62, 101]);
  const text = renderLeakText(a, meta);
  assert.match(text, /also called into from: \(anonymous\) at \/srv\/shop\/app\.js:\d+, \(anonymous\) at \/srv\/shop\/app\.js:\d+\n/);
  // the route handlers are no near misses of their own: the suspect covers them
  assert.ok(!a.nearMisses.some((m) => [44, 62, 101].includes(m.line)), JSON.stringify(a.nearMisses));
  assert.deepEqual(a.outside.map((o) => `${o.origin}:${o.name}`), ['library:readStream']);
  assert.equal(leakReportJson(a, meta).suspects[0]!.callers!.length, 2);
});

test("heap: the agent's own timer wrappers are never charged to the code that called setTimeout", () => {
  const a = analyzeLeaks(heapRun(12, (i) => ({ timerWrapper: i, session: 1 })));
  assert.deepEqual(a.suspects, []);
  assert.deepEqual(a.outside.map((o) => `${o.origin}:${o.name}@${o.file}`), ['runtime:wrapper@/opt/leakscope/src/agent/timer-registry.ts']);
});

test('heap: one handler, two leaks — the session its res.json saves (configured elsewhere) and its own closures are two suspects', () => {
  // the handler at APP:61 grows through express → express-session (the MemoryStore) and by its
  // own allocations; the first is a library reached through another one (named where it is
  // configured), so the handler's own growth is judged apart and is a suspect of its own
  const obs = heapRun(12, (i) => ({ session: Math.floor(1.5 * i), handlerOwn: i }));
  const a = analyzeLeaks(obs);
  const at61 = a.suspects.filter((s) => s.file === APP && s.name === '(anonymous)');
  assert.equal(at61.length, 2, JSON.stringify(a.suspects.map((s) => [s.name, s.line, s.library?.file])));
  const store = at61.find((s) => s.library)!;
  assert.match(store.library!.file, /express-session/);
  assert.equal(store.entryPackage, 'express');
  const own = at61.find((s) => !s.library)!;
  assert.equal(own.line, 62, 'V8 lines are 0-based: frame line 61 is line 62');
  assert.equal(own.lastValue - own.firstValue, 11 * (INTERVAL + 24));
  assert.deepEqual(own.stack.slice(0, 1), [`(anonymous) ${APP}:62`]);
  // a handler calling a library itself (the lru-cache: the package it calls is the one that
  // allocates) is one suspect, named at its own line
  const b = analyzeLeaks(heapRun(12, (i) => ({ handlerCache: Math.floor(1.5 * i), handlerOwn: i })));
  assert.equal(b.suspects.filter((s) => s.file === APP && s.name === '(anonymous)').length, 1, JSON.stringify(b.suspects.map((s) => [s.name, s.line])));
});
