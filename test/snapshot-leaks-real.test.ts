/**
 * `snapshot leaks` on an ordinary express 4 service (express-session, lru-cache, a hand-written
 * LRU; test/programs/snapshot-real-express.mjs) — the failure classes of issue 14 seen on real
 * frameworks, each as a regression test, on every installed Node version:
 *  - item 3: the lru-cache with `max` still filling and the hand-written LRU that replaces its
 *    entries are not called leaks: they come out as `possible-cache` with the evidence;
 *  - item 4: the session store's path does not run through the leaked audit closures that
 *    captured `req` (which holds the store), and the group names its owner, the MemoryStore;
 *  - item 5: the anonymous 'reconnect' listener is named by its event and enclosing callback;
 *  - item 8: one leak, one group: the request Map's keys, values and their URL strings are one
 *    group placed at the line that stores into the Map; the store's keys and values are one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { cliPath, repoRoot } from './helpers/paths.js';
import { fileTempDir, runNode, snapshotLeaksOnEachNode } from './helpers/snapshot-node.js';

const program = path.join(repoRoot, 'test', 'programs', 'snapshot-real-express.mjs');
const PER_PHASE = 200;
const tmp = fileTempDir('leakscope-snapshot-real-');

interface Group {
  name: string;
  className: string;
  status: 'leak' | 'possible-cache';
  cacheEvidence: string[];
  count: number;
  growth: number[];
  classes: { className: string; count: number }[];
  retainerPath: string[];
  location: string | null;
  owner: { className: string; location: string | null; retainerPath: string[] } | null;
}

function lineOf(marker: string): number {
  const i = readFileSync(program, 'utf8').split('\n').findIndex((l) => l.includes(marker));
  assert.ok(i >= 0, marker);
  return i + 1;
}

function leaks(files: string[]): Group[] {
  const r = spawnSync(process.execPath, [cliPath, 'snapshot', 'leaks', '--json', ...files], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  return (JSON.parse(r.stdout) as { groups: Group[] }).groups;
}

const held = (g: Group, name: string): boolean => g.retainerPath.includes(name);

test('express service: four leaks, four groups, both caches told apart', async (t) => {
  await snapshotLeaksOnEachNode<Group>(t, tmp(), program, [String(PER_PHASE)], (groups, bin) => {
    const ctx = JSON.stringify(groups, null, 1);
    const real = groups.filter((g) => g.status === 'leak');
    const caches = groups.filter((g) => g.status === 'possible-cache');

    // item 8: one group per leak (audit closures, requests Map, session store, listeners)
    assert.equal(real.length, 4, ctx);
    const audit = real.find((g) => held(g, 'pendingAudit'));
    const requests = real.find((g) => held(g, 'requests'));
    const sessions = real.find((g) => held(g, 'sessions'));
    const listeners = real.find((g) => held(g, 'reconnect'));
    assert.ok(audit && requests && sessions && listeners, ctx);

    // item 8: keys, values and the URL strings only leaked records reach are one group, placed
    // where the Map is filled; the record class leads, not its strings
    assert.equal(requests.className, 'Object', ctx);
    assert.deepEqual(requests.retainerPath.slice(-3), ['requests', 'Map', 'Object'], ctx);
    assert.equal(requests.location, `${program}:${lineOf('LEAK:requests')}`, ctx);
    assert.ok(requests.count >= 2 * PER_PHASE / 4, ctx);
    assert.ok(requests.classes.some((c) => c.className === '(string)'), ctx);

    // item 4: the store's path avoids the audit closures (which captured req → sessionStore),
    // and its owner is the MemoryStore; keys and values of its dictionary are one group
    assert.ok(!held(sessions, 'pendingAudit'), ctx);
    assert.ok(!sessions.retainerPath.includes('req'), ctx);
    assert.equal(sessions.owner?.className, 'MemoryStore', ctx);
    assert.match(sessions.owner?.location ?? '', /express-session[\\/]session[\\/]memory\.js:\d+$/, ctx);
    assert.ok(sessions.count >= 2 * (PER_PHASE / 4), ctx);

    // item 5: the listener is named by its event and the callback it is added in
    assert.equal(listeners.className, '(anonymous function)');
    assert.equal(listeners.name, "'reconnect' listener in app.get('/stream') callback", ctx);
    assert.equal(listeners.location, `${program}:${lineOf('LEAK:reconnect')}`, ctx);
    assert.equal(listeners.owner?.className, 'EventEmitter', ctx);
    assert.equal(audit.location, `${program}:${lineOf('LEAK:audit')}`, ctx);
    assert.equal(audit.className, '(anonymous function)');

    // item 3: the two caches are reported apart, with the evidence, and never as leaks
    const products = caches.find((g) => held(g, 'products'));
    const profiles = caches.find((g) => held(g, 'profiles'));
    assert.ok(products && profiles, ctx);
    assert.ok(!real.some((g) => held(g, 'products') || held(g, 'profiles')), ctx);
    assert.ok(products.cacheEvidence.some((e) => e.includes('lru-cache')), ctx);
    // (Node 20 and 22 also write the free `undefined` slots of its preallocated value list)
    if (!bin.label.includes('24')) assert.ok(products.cacheEvidence.some((e) => /preallocated array \(\d+ of 5000 slots/.test(e)), ctx);
    assert.equal(products.location, `${program}:${lineOf('products.set(')}`, ctx);
    assert.ok(profiles.cacheEvidence.some((e) => /its Map removes entries/.test(e)), ctx);
    assert.equal(profiles.owner?.className, 'ProfileCache', ctx);
    // get() re-inserts a hit, set() inserts: either is where the Map is filled
    assert.match(readFileSync(program, 'utf8').split('\n')[Number(profiles.location?.split(':').pop()) - 1] ?? '', /this\.entries\.set\(/, ctx);
    assert.equal(caches.length, 2, ctx);
  }, 120_000);
});

test('text report: leaks first, possible caches apart with why, owners shown', () => {
  const out = path.join(tmp(), 'text');
  mkdirSync(out);
  runNode(process.execPath, [program, out, '120'], 120_000);
  const r = spawnSync(process.execPath, [cliPath, 'snapshot', 'leaks', ...['s1', 's2', 's3'].map((s) => path.join(out, `${s}.heapsnapshot`))], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^4 leak group\(s\) and 2 possible cache\(s\) across 3 snapshots:\n/);
  const blocks = r.stdout.split('\n\n').slice(1);
  const firstCache = blocks.findIndex((b) => b.includes('[possible cache, not called a leak]'));
  assert.equal(firstCache, 4, r.stdout);
  assert.match(r.stdout, /#\d 'reconnect' listener in app\.get\('\/stream'\) callback: \d+ leaked/);
  assert.match(r.stdout, /\n {3}why: {3}it is kept by lru-cache, a cache bounded by its configured maximum\n/);
  assert.match(r.stdout, /\n {3}owner: MemoryStore @\d+ \(retains [^)]+\) at \S+memory\.js:\d+: /);
});

test('item 3, four snapshots under a load that drops by 15% a phase: the leaks stay leaks, the caches stay caches', () => {
  // every request-driven leak rises less when fewer requests come (+200, +170, +144): that is the
  // workload slowing, not a cache filling up; it slows alike for every group, and a rise is judged
  // against the pace of the others (in the accuracy suite, Node 24's express-session run called
  // the MemoryStore and the 'reconnect' listeners possible caches: "its rise slows (+305, +271, +219)")
  const out = path.join(tmp(), 'declining');
  mkdirSync(out);
  runNode(process.execPath, [program, out, '200', '4', '0.15'], 120_000);
  const groups = leaks(['s1', 's2', 's3', 's4'].map((s) => path.join(out, `${s}.heapsnapshot`)));
  const ctx = JSON.stringify(groups.map((g) => ({ path: g.retainerPath.slice(-4), status: g.status, why: g.cacheEvidence, growth: g.growth })), null, 1);
  const real = groups.filter((g) => g.status === 'leak');
  for (const name of ['pendingAudit', 'requests', 'sessions', 'reconnect']) assert.ok(real.some((g) => held(g, name)), `${name} is a leak: ${ctx}`);
  assert.equal(real.length, 4, ctx);
  assert.ok(!groups.some((g) => g.cacheEvidence.some((e) => e.includes('rise slows')) && ['pendingAudit', 'requests', 'sessions', 'reconnect'].some((n) => held(g, n))), ctx);
  const caches = groups.filter((g) => g.status === 'possible-cache');
  assert.ok(caches.some((g) => held(g, 'products')) && caches.some((g) => held(g, 'profiles')), ctx);
  // the warming currency Map: its rise drops to under two thirds and levels out there, not in a
  // strict order (a leak before the rule)
  const currencies = groups.find((g) => held(g, 'currencyFormats'));
  assert.equal(currencies?.status, 'possible-cache', ctx);
  assert.ok(currencies!.cacheEvidence.some((e) => e.includes('rise slows')), ctx);
});

test('item 3/7, load that drops by 45% a phase (+200, +112, +60): every leak still grows at the workload pace', () => {
  // before the pace, "each later rise at least half the first" dropped every leak at once: in the
  // accuracy suite's fastify run on Node 22, `snapshot leaks` reported no group at all
  const out = path.join(tmp(), 'steep');
  mkdirSync(out);
  runNode(process.execPath, [program, out, '200', '4', '0.45'], 120_000);
  const groups = leaks(['s1', 's2', 's3', 's4'].map((s) => path.join(out, `${s}.heapsnapshot`)));
  const ctx = JSON.stringify(groups.map((g) => ({ path: g.retainerPath.slice(-4), status: g.status, why: g.cacheEvidence, growth: g.growth })), null, 1);
  const real = groups.filter((g) => g.status === 'leak');
  for (const name of ['pendingAudit', 'requests', 'sessions', 'reconnect']) assert.ok(real.some((g) => held(g, name)), `${name} is a leak: ${ctx}`);
  assert.equal(real.length, 4, ctx);
  assert.ok(!real.some((g) => held(g, 'products') || held(g, 'profiles') || held(g, 'currencyFormats')), ctx);
});

test('item 3, the pace is weighted by group size: forty small arrays growing +2 a phase do not set it', () => {
  // in the accuracy suite (express-session on Node 24) the many small groups of a heap, growing at
  // their own pace, made the plain median of rise ratios 1 while the load dropped, and the audit
  // closures were called a possible cache ("its rise slows (+608, +586, +428)")
  const out = path.join(tmp(), 'tiny');
  mkdirSync(out);
  runNode(process.execPath, [program, out, '200', '4', '0.15', '40'], 120_000);
  const groups = leaks(['s1', 's2', 's3', 's4'].map((s) => path.join(out, `${s}.heapsnapshot`)));
  const ctx = JSON.stringify(groups.map((g) => ({ path: g.retainerPath.slice(-4), status: g.status, why: g.cacheEvidence, growth: g.growth })), null, 1);
  for (const name of ['pendingAudit', 'requests', 'sessions', 'reconnect']) assert.ok(groups.some((g) => held(g, name) && g.status === 'leak'), `${name} is a leak: ${ctx}`);
  assert.ok(!groups.some((g) => g.status === 'leak' && (held(g, 'products') || held(g, 'profiles'))), ctx);
});
