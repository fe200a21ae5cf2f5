/**
 * The accuracy suite of issue 14: three services on real npm frameworks (examples/real-services:
 * express + express-session + lru-cache, fastify + prom-client, express in TypeScript with source
 * maps), each with planted leaks and look-alikes and an answer key. Each runs on Node 20, 22 and 24
 * under a randomized request rate while `leakscope watch --profiles heap,async --snapshots` watches
 * it (the CLI, as a user runs it); the report is scored against the key. The bar is the issue's:
 * every planted leak found at the user's file:line, by `watch` and by `snapshot leaks`, and nothing
 * else reported. No retries: a verdict that holds one run in two is not one a user can trust.
 *
 * First the scorer itself, on hand-made reports (it decides what passes, so it is tested too).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import {
  checkAnswerKey,
  explainScore,
  parseMemlabTraces,
  scoreLine,
  scoreSnapshot,
  scoreWatch,
  type AnswerKey,
  type ToolScore,
} from './helpers/accuracy.js';
import { NODE_BINARIES, SERVICES, loadAnswerKey, readRepoFile, runWatchCli, startService, varyingLoad, pickRequest } from './helpers/accuracy-run.js';

const express = () => loadAnswerKey('express-session');
const SRV = '/home/u/repo/examples/real-services/express-session/server.js';
const frame = (name: string, file: string, line: number) => `${name} ${file}:${line}`;

test('answer keys agree with their sources: every leak line holds the code the key quotes', () => {
  for (const s of SERVICES) {
    const key = loadAnswerKey(s);
    assert.deepEqual(checkAnswerKey(key, readRepoFile), [], s);
    assert.ok(key.leaks.length >= 3 && key.lookalikes.length >= 1, s);
    assert.ok(key.load.length > 0, s);
  }
  // and the check can fail: a key whose line moved
  const key = express();
  const moved: AnswerKey = { ...key, leaks: key.leaks.map((l, i) => (i === 0 ? { ...l, watch: { ...l.watch, line: l.watch.line + 1 } } : l)) };
  const problems = checkAnswerKey(moved, readRepoFile);
  assert.ok(problems.some((p) => p.includes('not "app.use(session({"')), problems.join('; '));
});

test('the request mix fills its placeholders and follows the weights', () => {
  let n = 0;
  const mix = [
    { weight: 3, method: 'GET', path: '/a/{rand:10}' },
    { weight: 1, method: 'POST', path: '/b/{seq}', body: '{}', headers: { 'content-type': 'application/json' } },
  ];
  const counts = { a: 0, b: 0 };
  for (let i = 0; i < 4000; i++) {
    const r = pickRequest(mix, () => ++n);
    if (r.method === 'GET') {
      assert.match(r.path, /^\/a\/\d$/);
      counts.a++;
    } else {
      assert.equal(r.path, `/b/${n}`);
      assert.equal(r.body, '{}');
      counts.b++;
    }
  }
  assert.ok(counts.a > 2 * counts.b && counts.a < 4 * counts.b, JSON.stringify(counts));
});

test('scoreWatch: found at the user line, misattributed at the library line, false positives for runtime sites and look-alikes', () => {
  const key = express();
  const s = scoreWatch(key, [
    // the MemoryStore leak named at the library's line (issue 14 item 2): recognised, wrong place
    { profile: 'heap', name: 'set', file: '/x/node_modules/express-session/session/memory.js', line: 119, stack: [frame('set', '/x/node_modules/express-session/session/memory.js', 119), frame('save', '/x/node_modules/express-session/session/session.js', 71)] },
    // the audit closures at the handler's first line: found
    { profile: 'heap', name: '(anonymous)', file: SRV, line: 66, stack: [frame('(anonymous)', SRV, 66)] },
    // the same leak again at another line of the handler: extra, not a false positive
    { profile: 'heap', name: '(anonymous)', file: SRV, line: 67, stack: [frame('(anonymous)', SRV, 67)] },
    // a Node-internal site with no user frame (item 1)
    { profile: 'heap', name: 'parserOnHeadersComplete', file: 'node:_http_common', line: 71, stack: ['parserOnHeadersComplete node:_http_common:71'] },
    // the bounded lru-cache
    { profile: 'heap', name: 'set', file: '/x/node_modules/lru-cache/dist/esm/index.js', line: 1400, stack: [frame('set', '/x/node_modules/lru-cache/dist/esm/index.js', 1400), frame('(anonymous)', SRV, 44)] },
  ]);
  assert.deepEqual(s.found.map((f) => f.leak), ['pending-audit-closures']);
  assert.deepEqual(s.misattributed.map((m) => m.leak), ['session-memorystore']);
  assert.deepEqual(s.missed, ['broker-reconnect-listeners']);
  assert.deepEqual(s.falsePositives.map((f) => f.lookalike ?? 'unattributed'), ['unattributed', 'lru-cache-max']);
  assert.equal(s.extra.length, 1);
  assert.equal(scoreLine(s, 3), '1/3 found, 1 misattributed, 1 missed, 2 false positives');
  // the session leak at the configuring line is found; a heap suspect for an async leak is not enough
  const f = scoreWatch(key, [{ profile: 'heap', name: 'set', file: SRV, line: 23, stack: [frame('set', '/x/node_modules/express-session/session/memory.js', 119), frame('(anonymous)', SRV, 23)] }]);
  assert.deepEqual(f.found.map((x) => x.leak), ['session-memorystore']);
  const fk = loadAnswerKey('fastify-metrics');
  const fsrv = '/r/examples/real-services/fastify-metrics/server.js';
  const a = scoreWatch(fk, [{ profile: 'heap', name: '(anonymous)', file: fsrv, line: 74, stack: [] }]);
  assert.deepEqual(a.found, []);
  assert.match(a.misattributed[0]!.reason, /in the heap profile/);
  const b = scoreWatch(fk, [{ profile: 'async', name: '(anonymous)', file: fsrv, line: 76, stack: [] }]);
  assert.deepEqual(b.found.map((x) => x.leak), ['follow-job-intervals']);
  // a MemoryStore site charged to the route it runs under (the orders route, where the audit leak
  // lives) is the session leak named at the wrong line, not the audit leak found
  const m = scoreWatch(key, [{ profile: 'heap', name: '(anonymous)', file: SRV, line: 66, stack: [frame('set', '/x/node_modules/express-session/session/memory.js', 119), frame('(anonymous)', SRV, 66)] }]);
  assert.deepEqual(m.found, []);
  assert.deepEqual(m.misattributed.map((x) => x.leak), ['session-memorystore']);
  // the frame nearest the leaf decides: a middleware that calls next() (trackTiming, an ancestor of
  // every route) does not claim what the geocode route allocates
  const tk = loadAnswerKey('ts-express');
  const app = '/r/examples/real-services/ts-express/app.ts';
  const c = scoreWatch(tk, [
    { profile: 'heap', name: 'stringify', file: '/x/node_modules/express/lib/response.js', line: 1155, stack: [frame('stringify', '/x/node_modules/express/lib/response.js', 1155), frame('(anonymous)', app, 88), frame('handle', '/x/node_modules/express/lib/router/layer.js', 86), frame('trackTiming', app, 40)] },
    { profile: 'heap', name: 'restore', file: '/x/node_modules/express/lib/router/index.js', line: 631, stack: [frame('restore', '/x/node_modules/express/lib/router/index.js', 631), frame('trackTiming', app, 40)] },
  ]);
  assert.deepEqual(c.misattributed.map((x) => x.leak), ['geocode-cache-no-ttl', 'request-timings-map']);
  assert.deepEqual(c.falsePositives, []);
  assert.deepEqual(c.missed, ['pool-error-listeners']);
  // a user frame the key does not name ends the walk: the suspect is nobody's leak
  const d = scoreWatch(tk, [{ profile: 'heap', name: 'x', file: '/x/node_modules/express/lib/response.js', line: 1, stack: [frame('x', '/x/node_modules/express/lib/response.js', 1), frame('(anonymous)', app, 107), frame('trackTiming', app, 40)] }]);
  assert.deepEqual(d.falsePositives.map((f) => f.lookalike ?? 'unattributed'), ['unattributed']);
});

test('scoreSnapshot: the deepest owner decides; a path through another leak or a wrong location is misattributed', () => {
  const key = express();
  const s = scoreSnapshot(key, [
    // item 4 of the issue: the MemoryStore group reached through the audit closures
    { className: '(string)', retainerPath: ['(module scope)', 'pendingAudit', 'Array', '[]', '(anonymous function)', '(closure scope)', 'req', 'IncomingMessage', 'sessionStore', 'MemoryStore', 'sessions', 'Object'], location: null },
    { className: '(anonymous function)', retainerPath: ['(module scope)', 'pendingAudit', 'Array', '[]'], location: `${SRV}:69` },
    { className: '(anonymous function)', retainerPath: ['(module scope)', 'broker', 'EventEmitter', '_events', 'Object', 'reconnect', 'Array', '[]'], location: `${SRV}:12` },
    { className: 'Object', retainerPath: ['(module scope)', 'productCache', 'c', '#t', 'Array', '[]'], location: null },
    { className: 'Object', retainerPath: ['(module scope)', 'somethingElse', 'Map'], location: null },
  ]);
  assert.deepEqual(s.found.map((f) => f.leak), ['pending-audit-closures']);
  assert.deepEqual(s.misattributed.map((m) => [m.leak, /through another leak/.test(m.reason) ? 'through' : /location/.test(m.reason) ? 'location' : m.reason]), [
    ['session-memorystore', 'through'],
    ['broker-reconnect-listeners', 'location'],
  ]);
  assert.deepEqual(s.missed, []);
  assert.deepEqual(s.falsePositives.map((f) => f.lookalike ?? 'unattributed'), ['lru-cache-max', 'unattributed']);
  // memlab knows no locations: scored on owners only
  const m = scoreSnapshot(key, [{ className: '(anonymous function)', retainerPath: ['x', 'broker', '_events', 'reconnect'], location: null }], { requireLocation: false });
  assert.deepEqual(m.found.map((f) => f.leak), ['broker-reconnect-listeners']);
});

test('parseMemlabTraces reads find-leaks clusters into retainer paths', () => {
  const out = `MemLab found 2 leak(s)
--Similar leaks in this run: 3690--
--Retained size of leaked objects: 1.3MB--
[<synthetic>] (synthetic) @1 [19MB]
  --27 (element)--->  [Node / TCPServerWrap] (synthetic) @1313516256 [408 bytes]
  --context (internal)--->  [<function scope>] (object) @7423 [4.7MB]
  --httpDuration (variable)--->  [Histogram] (object) @97859 [2MB]
  --hashMap (property)--->  [Object] (object) @97869 [2MB]
  --bucketValues (property)--->  [Object] (object) @384485 [264 bytes]


--Similar leaks in this run: 2--
--Retained size of leaked objects: 272 bytes--
[<synthetic>] (synthetic) @1 [19MB]
  --5 (element)--->  [Node / Environment] (synthetic) @1314823200 [13.4KB]
`;
  const g = parseMemlabTraces(out);
  assert.equal(g.length, 2);
  assert.equal(g[0]!.count, 3690);
  assert.deepEqual(g[0]!.retainerPath, ['<synthetic>', '27', 'Node / TCPServerWrap', 'context', '<function scope>', 'httpDuration', 'Histogram', 'hashMap', 'Object', 'bucketValues']);
  assert.equal(g[0]!.className, 'Object');
  const s = scoreSnapshot(loadAnswerKey('fastify-metrics'), g, { requireLocation: false });
  assert.deepEqual(s.found.map((f) => f.leak), ['prom-client-label-cardinality']);
  assert.equal(s.falsePositives.length, 1);
});

test('scoreSnapshot: a group the tool calls a possible cache is neither a find nor a false positive', () => {
  const key = loadAnswerKey('express-session');
  const lru = { className: 'Object', retainerPath: ['(module scope)', 'productCache', 'c', '#t', 'Array', '[]', 'Object'], location: null };
  const asLeak = scoreSnapshot(key, [lru], { requireLocation: false });
  assert.equal(asLeak.falsePositives.length, 1);
  const asCache = scoreSnapshot(key, [{ ...lru, status: 'possible-cache' }], { requireLocation: false });
  assert.equal(asCache.falsePositives.length, 0);
  assert.equal(asCache.possibleCaches!.length, 1);
  const audit = { className: '(anonymous function)', retainerPath: ['(module scope)', 'pendingAudit', 'Array', '[]', '(anonymous function)'], location: null };
  assert.deepEqual(scoreSnapshot(key, [audit], { requireLocation: false }).found.map((f) => f.leak), ['pending-audit-closures']);
  assert.deepEqual(scoreSnapshot(key, [{ ...audit, status: 'possible-cache' }], { requireLocation: false }).found, []);
});

// ---- the suite: each service on each Node version, watched and scored ----
// The strict runs (every planted leak at its file:line, zero false positives) take about 10
// minutes; scripts/run-tests.mjs runs this file last and alone. They run in every `npm test` (and
// so in CI) since 2026-12-07 (BENCHMARKS.md "Seventh round": 45 live service runs in a row clean,
// then one false positive in each of the first two CIs with them on — per-request timers in
// flight, and a retainer path through a request in flight — each now a rule of the engine, and a
// clean CI after); LEAKSCOPE_ACCURACY=0 skips them, with a message.
// `node bench/accuracy.mjs` prints the table.
const STRICT = process.env.LEAKSCOPE_ACCURACY !== '0';

/** What must hold, as one readable failure: the leaks not found and the false positives. */
function verdict(s: ToolScore): { notFound: string[]; falsePositives: string[] } {
  return {
    notFound: [...s.misattributed.map((m) => `${m.leak} (misattributed: ${m.reason})`), ...s.missed.map((m) => `${m} (missed)`)],
    falsePositives: s.falsePositives.map((f) => `${f.lookalike ? `${f.lookalike}: ` : ''}${f.at}`),
  };
}

for (const service of SERVICES) {
  for (const v of ['20', '22', '24']) {
    test(`${service} on Node ${v}: watch and snapshot leaks find every planted leak at its file:line and nothing else`, { timeout: 240000 }, async (t) => {
      if (!STRICT) return t.skip('LEAKSCOPE_ACCURACY=0: the strict real-service accuracy runs (about 10 minutes) are skipped');
      const bin = NODE_BINARIES[v]!;
      if (!existsSync(bin)) return t.skip(`${bin} is missing (npm install the node22/node24 devDependencies)`);
      const key = loadAnswerKey(service);
      const connections = 4 + Math.floor(Math.random() * 8);
      const svc = await startService(bin, key);
      const work = mkdtempSync(join(tmpdir(), `leakscope-real-${service}-`));
      let load: ReturnType<typeof varyingLoad> | undefined;
      let run: Awaited<ReturnType<typeof runWatchCli>>;
      let kept = false;
      try {
        load = varyingLoad(svc.url, key.load, 100, 300, connections);
        await new Promise((r) => setTimeout(r, 1000));
        // 2 s polls for 60 s: 30 heap samples, the three snapshots once a heap site is confirmed
        run = await runWatchCli(svc.agent, join(work, 'run'), { interval: '2s', duration: '60s' });
      } finally {
        load?.stop();
        await svc.stop();
      }
      try {
        const ctx = `rates ${load.rates.join(', ')}/s, ${connections} connections${run.notes.length ? `; notes: ${run.notes.join('; ')}` : ''}`;
        const watch = scoreWatch(key, run.suspects);
        t.diagnostic(`watch: ${scoreLine(watch, key.leaks.length)}`);
        assert.ok(run.snapshotGroups, `watch --snapshots took no snapshots (${ctx})`);
        const snap = scoreSnapshot(key, run.snapshotGroups);
        t.diagnostic(`snapshot leaks: ${scoreLine(snap, key.leaks.length)}`);
        const got = { watch: verdict(watch), snapshotLeaks: verdict(snap) };
        const clean = { watch: { notFound: [], falsePositives: [] }, snapshotLeaks: { notFound: [], falsePositives: [] } };
        if (!isDeepStrictEqual(got, clean)) {
          // a failing run is kept, and its report goes into the failure: a CI log is all there is
          // of a run on a machine that is gone
          kept = true;
          const report = JSON.stringify({ suspects: run.suspects, nearMisses: (run.raw as { nearMisses?: unknown }).nearMisses, snapshotLeaks: run.snapshotGroups }).slice(0, 12000);
          const why = `\n${explainScore('watch', watch)}\n${explainScore('snapshot leaks', snap)}\n(${ctx})\nkept: ${work}\nthe report: ${report}`;
          assert.deepEqual(got, clean, why);
        }
      } finally {
        if (!kept) rmSync(work, { recursive: true, force: true });
      }
    });
  }
}
