/**
 * `watch --snapshots`: the snapshots' verdict completes the sampler's (issue 14). A heap suspect
 * whose function stores into what the snapshots call a possible cache becomes a near miss that
 * says so; a near miss whose function stores into a container rising in every snapshot becomes a
 * suspect. The source text is read through a function, as the pure core asks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LeakAnalysis, NearMiss, Suspect } from '../src/core/leak/analyze.js';
import { boundedCaches, confirmFromSnapshots, enclosingFunctionName, functionBodyLines, pathVariables, setAsideSnapshotCaches, storesInto, type CacheEvidenceGroup } from '../src/core/leak/snapshot-evidence.js';

const FILE = '/srv/app/server.js';
const SRC = [
  "const productCache = new LRUCache({ max: 500 });", // 1
  'const sessions = new Map();', // 2
  'function getProduct(id) {', // 3
  "  const p = { id, data: 'x'.repeat(100) };", // 4
  '  productCache.set(id, p);', // 5
  '  return p;', // 6
  '}', // 7
  'function createSession(id) {', // 8
  '  const s = { id };', // 9
  '  sessions.set(id, s);', // 10
  '  return s;', // 11
  '}', // 12
  'function both(id) {', // 13
  '  productCache.set(id, {});', // 14
  '  sessions.set(id, {});', // 15
  '}', // 16
  'const handler = (req: Req): Promise<void> => {', // 17
  "  const s = '}';", // 18
  '  pending[req.id] = req;', // 19
  '};', // 20
].join('\n');
const read = (f: string): string | null => (f === FILE ? SRC : null);

const cacheGroup: CacheEvidenceGroup = { status: 'possible-cache', name: 'LRUCache entries', retainerPath: ['(module scope)', 'productCache', 'LRUCache', '#map'], cacheEvidence: ['a configured maximum (max 500)'], growth: [40, 80, 90] };
const leakGroup: CacheEvidenceGroup = { status: 'leak', name: 'Map entries (Object)', owner: { retainerPath: ['(module scope)', 'sessions', 'Map'] }, growth: [300, 600, 900] };

function suspect(name: string, line: number): Suspect {
  return { profile: 'heap', name, file: FILE, line, stack: [`${name} ${FILE}:${line}`], origin: 'user', growthPerMinute: 1e6, unit: 'bytes', confidence: 0.99, pValue: 0.01, tau: 0.9, totalGrowth: 2e6, firstValue: 1e6, lastValue: 3e6, firstDetectedSample: 6, firstDetectedMs: 12_000, share: 0.1 } as Suspect;
}
function nearMiss(name: string, line: number): NearMiss {
  return { profile: 'heap', name, file: FILE, line, unit: 'bytes', reason: 'immaterial', slopePerMinute: 5e5, growth: 1e6, pValue: 0.2, first: 5e5, last: 1.5e6 } as NearMiss;
}
function analysis(suspects: Suspect[], nearMisses: NearMiss[]): LeakAnalysis {
  return { suspects, nearMisses, kinds: [{ kind: 'heap', totals: [1e7, 1.2e7, 1.5e7], times: [0, 2000, 4000] }] } as unknown as LeakAnalysis;
}

test('the pieces: a function body (plain, TypeScript arrow with a return type, a brace in a string), stores into a variable, path variables', () => {
  assert.deepEqual(functionBodyLines(SRC, 3), { from: 3, to: 7 });
  assert.deepEqual(functionBodyLines(SRC, 17), { from: 17, to: 20 });
  assert.equal(functionBodyLines('nothing here', 1), null);
  assert.ok(storesInto('  sessions.set(id, s);', 'sessions'));
  assert.ok(storesInto('  pending[req.id] = req;', 'pending'));
  assert.ok(!storesInto('  if (pending[req.id] === req) {}', 'pending'));
  assert.ok(!storesInto('  this.sessions.set(id, s);', 'sessions'));
  assert.ok(!storesInto('  sessions.get(id);', 'sessions'));
  assert.deepEqual(pathVariables(cacheGroup), ['productCache']);
  assert.deepEqual(pathVariables(leakGroup), ['sessions']);
});

test('bounded library caches in the source: lru-cache and QuickLRU with a maximum, TypeScript forms; not without one', () => {
  const src = [
    'const productCache = new LRUCache({ max: 1500 });', // 1
    'const typed: LRUCache<string, Product> = new LRUCache<string, Product>({ ttl: 60_000, max: MAX_PRODUCTS });', // 2
    'let old = new LRU({ max, maxAge: 1000 });', // 3
    'const q = new QuickLRU({ maxSize: 1000 });', // 4
    'const ttlOnly = new LRUCache({ ttl: 1000, ttlAutopurge: true });', // 5
    'const plain = new Map();', // 6
    'const sized = new lru.LRUCache({\n  maxSize: 5_000_000,\n  sizeCalculation: (v) => v.length,\n});', // 7-10
  ].join('\n');
  assert.deepEqual(boundedCaches(src), [
    { name: 'productCache', line: 1, bound: 'max: 1500' },
    { name: 'typed', line: 2, bound: 'max: MAX_PRODUCTS' },
    { name: 'old', line: 3, bound: 'max' },
    { name: 'q', line: 4, bound: 'maxSize: 1000' },
    { name: 'sized', line: 7, bound: 'maxSize: 5_000_000' },
  ]);
});

test('a suspect that stores into a possible cache becomes a near miss that says why; one that stores into a leak too stays', () => {
  const a = analysis([suspect('getProduct', 3), suspect('both', 13)], []);
  const aside = setAsideSnapshotCaches(a, [cacheGroup, leakGroup], read);
  assert.deepEqual(aside.map((s) => s.name), ['getProduct']);
  assert.deepEqual(a.suspects.map((s) => s.name), ['both']);
  assert.equal(a.nearMisses[0]!.name, 'getProduct');
  assert.match(a.nearMisses[0]!.cache!, /stores into a cache \(productCache: a configured maximum \(max 500\)\)/);
  // no cache in the snapshots (it was full before the first one): the source builds productCache
  // with a maximum, and nothing the function stores rises in the snapshots
  const b = analysis([suspect('getProduct', 3), suspect('both', 13)], []);
  assert.deepEqual(setAsideSnapshotCaches(b, [leakGroup], read).map((s) => s.name), ['getProduct']);
  assert.deepEqual(b.suspects.map((s) => s.name), ['both']);
  assert.equal(
    b.nearMisses[0]!.cache,
    'it grew like a leak, but it stores into a cache bounded by its configuration (productCache: built with max: 500 at server.js:1; nothing it stores rises in the heap snapshots)',
  );
  // the same source with an unbounded Map: nothing changes
  const unbounded = SRC.replace('new LRUCache({ max: 500 })', 'new Map()');
  const b2 = analysis([suspect('getProduct', 3)], []);
  assert.deepEqual(setAsideSnapshotCaches(b2, [leakGroup], (f) => (f === FILE ? unbounded : null)), []);
  assert.equal(b2.suspects.length, 1);
  // the source cannot be read: the suspect stays
  const c = analysis([suspect('getProduct', 3)], []);
  assert.deepEqual(setAsideSnapshotCaches(c, [cacheGroup], () => null), []);
});

test('a near miss that stores into a container rising in every snapshot becomes a suspect, once per group', () => {
  const a = analysis([], [nearMiss('createSession', 8), nearMiss('getProduct', 3)]);
  const added = confirmFromSnapshots(a, [cacheGroup, leakGroup], read);
  assert.deepEqual(added.map((s) => s.name), ['createSession']);
  assert.match(added[0]!.snapshotConfirmed!, /Map entries \(Object\), rising in every heap snapshot \(300 → 600 → 900\)/);
  assert.deepEqual(a.nearMisses.map((m) => m.name), ['getProduct']);
  // a group already claimed by a suspect that stores into it confirms no near miss
  const b = analysis([suspect('both', 13)], [nearMiss('createSession', 8)]);
  assert.deepEqual(confirmFromSnapshots(b, [leakGroup], read), []);
  // a group that did not rise in every snapshot confirms nothing
  const c = analysis([], [nearMiss('createSession', 8)]);
  assert.deepEqual(confirmFromSnapshots(c, [{ ...leakGroup, growth: [300, 600, 500] }], read), []);
});

test('a group rising in every snapshot, stored in the user code that no suspect or near miss accounts for, is a suspect of its own at its store line', () => {
  const located: CacheEvidenceGroup = { ...leakGroup, name: 'Map entries (Object)', location: `${FILE}:10`, count: 640, retainedSize: 51_200 };
  const a = analysis([], []);
  const added = confirmFromSnapshots(a, [located, cacheGroup], read);
  assert.deepEqual(added.map((s) => `${s.name} ${s.file}:${s.line}`), [`Map entries (Object) ${FILE}:10`]);
  assert.deepEqual(added[0]!.snapshotOnly, { count: 640, retainedSize: 51_200, growth: [300, 600, 900] });
  assert.match(added[0]!.snapshotConfirmed!, /rising in every heap snapshot \(300 → 600 → 900: 600 more/);
  // a suspect with the storing function in its stack (a helper it calls allocated the objects)
  // already names it
  const helper = { ...suspect('makeSession', 3), stack: [`makeSession ${FILE}:3`, `createSession ${FILE}:8`, `handle /srv/app/node_modules/express/lib/router.js:40`] };
  assert.deepEqual(confirmFromSnapshots(analysis([helper], []), [located], read), []);
  // ... unless that suspect is charged to where a library is configured: its own function's
  // stores are not its (the 'reconnect' listeners beside a session save)
  const configured = { ...helper, configuredAt: { name: 'session', file: FILE, line: 1 } } as Suspect;
  assert.equal(confirmFromSnapshots(analysis([configured], []), [located], read).length, 1);
  // a near miss whose function stores into it is confirmed instead (once)
  const b = analysis([], [nearMiss('createSession', 8)]);
  assert.deepEqual(confirmFromSnapshots(b, [located], read).map((s) => [s.name, s.line, s.snapshotOnly]), [['createSession', 8, undefined]]);
  // in a library, not rising in every snapshot, or with no location: nothing
  assert.deepEqual(confirmFromSnapshots(analysis([], []), [{ ...located, location: '/srv/app/node_modules/lib/index.js:5' }], read), []);
  assert.deepEqual(confirmFromSnapshots(analysis([], []), [{ ...located, growth: [300, 600, 500] }], read), []);
  assert.deepEqual(confirmFromSnapshots(analysis([], []), [leakGroup], read), []);
});

test('a suspect whose function calls the helper that stores into a group accounts for it (a helper V8 inlined into its caller)', () => {
  const file = '/srv/app/geo.ts';
  const src = [
    'const geoCache = new Map<string, Geo>();', // 1
    'function geocode(address: string): Geo {', // 2
    '  let hit = geoCache.get(address);', // 3
    '  if (!hit) {', // 4
    '    hit = { address };', // 5
    '    geoCache.set(address, hit);', // 6
    '  }', // 7
    '  return hit;', // 8
    '}', // 9
    "app.get('/api/geocode', (req: Request, res: Response) => {", // 10
    '  res.json(geocode(String(req.query.address)));', // 11
    '});', // 12
    'const lookup = async (id: string): Promise<void> => {', // 13
    '  if (id) {', // 14
    '    pending.push(id);', // 15
    '  }', // 16
    '};', // 17
    'class Store {', // 18
    '  private add(key: string): void {', // 19
    '    this.items.push(key);', // 20
    '  }', // 21
    '}', // 22
  ].join('\n');
  assert.equal(enclosingFunctionName(src, 6), 'geocode');
  assert.equal(enclosingFunctionName(src, 15), 'lookup');
  assert.equal(enclosingFunctionName(src, 20), 'add');
  assert.equal(enclosingFunctionName(src, 11), null); // an anonymous arrow at module scope
  assert.equal(enclosingFunctionName(src, 1), null);
  const rd = (f: string): string | null => (f === file ? src : null);
  const group: CacheEvidenceGroup = { status: 'leak', name: 'Object', location: `${file}:6`, growth: [100, 400, 700], count: 600, retainedSize: 1e6 };
  const handler = { ...suspect('(anonymous)', 10), file, stack: [`stringify /srv/app/node_modules/express/lib/response.js:1155`, `(anonymous) ${file}:10`] };
  assert.deepEqual(confirmFromSnapshots(analysis([handler], []), [group], rd), []);
  // without the call, the group is a suspect of its own
  const other = { ...handler, line: 13, stack: [`lookup ${file}:13`] };
  assert.deepEqual(confirmFromSnapshots(analysis([other], []), [group], rd).map((s) => s.line), [6]);
});

test('a suspect of another profile named at a group\'s own line accounts for it (an interval\'s Timeouts)', () => {
  const timeouts: CacheEvidenceGroup = { status: 'leak', name: 'Timeout', location: `${FILE}:10`, growth: [50, 90, 130], count: 130, retainedSize: 20_000 };
  const asyncSuspect = { ...suspect('(anonymous)', 10), profile: 'async', stack: [] } as unknown as Suspect;
  assert.deepEqual(confirmFromSnapshots(analysis([asyncSuspect], []), [timeouts], read), []);
  assert.equal(confirmFromSnapshots(analysis([{ ...asyncSuspect, line: 11 }], []), [timeouts], read).length, 1);
});
