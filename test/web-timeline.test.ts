/**
 * Heap over time and the snapshot views of `leakscope web`, in a real browser (Debian's chromium
 * through playwright-core): a real `watch --http` run against a pprof server that serves the
 * leakysvc fixture's profiles (five growing samples, two failed polls, a restarted process) shows
 * new samples without a reload; `web <run-dir>` marks every suspect of `analyze --json` with its
 * numbers, a click on a point opens that sample's flame graph (its total is the profile's), a
 * suspect opens its segment's diff; a torn profile is one line on stderr and in the page while the
 * rest is served; `web s1 s2 s3` shows `snapshot leaks --json`'s groups, each expanding into its
 * retainer path and example object. Screenshots go to bench/out/screenshots/.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { cliPath, fixturesDir, hasFixtures, repoRoot, SKIP_NO_FIXTURES } from './helpers/paths.js';
import { leakyProgram, nodeBinaries, runNode } from './helpers/snapshot-node.js';
import { CHROMIUM, launchChromium } from './helpers/browser.js';

// Code passed to page.evaluate runs in the page; the test program itself is compiled without the DOM library.
declare const window: any;
declare const document: any;

const hasChromium = existsSync(CHROMIUM);
const SKIP_NO_CHROMIUM = `${CHROMIUM} not found: browser tests of leakscope web's heap-over-time and snapshot views skipped (CI installs Debian's chromium)`;
const skip = !hasChromium ? SKIP_NO_CHROMIUM : !hasFixtures ? SKIP_NO_FIXTURES : false;
if (skip) console.log(`# SKIP web-timeline.test: ${skip}`);

const P = join(fixturesDir, 'go', 'leakysvc', 'profiles');
const shots = join(repoRoot, 'bench', 'out', 'screenshots');

function cli(args: string[]) {
  return spawnSync(process.execPath, [cliPath, ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
}

/** A pprof server answering the k-th request for a profile with script[k] (a fixture phase or 'fail'); the last step repeats. */
async function fakePprof(script: (number | 'fail')[]): Promise<{ server: HttpServer; base: string }> {
  const served: Record<string, number> = { heap: 0, goroutine: 0 };
  const server = createServer((req, res) => {
    const m = /^\/debug\/pprof\/(heap|goroutine)$/.exec(new URL(req.url ?? '/', 'http://x').pathname);
    if (!m) return void res.writeHead(404).end('no such profile\n');
    const k = served[m[1]!]!++;
    const step = script[Math.min(k, script.length - 1)]!;
    if (step === 'fail') return void res.writeHead(503).end('restarting\n');
    res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(readFileSync(join(P, `${m[1]}.${step}.pb.gz`)));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

interface Proc {
  child: ChildProcess;
  url: string;
  err: () => string;
  out: () => string;
  exited: Promise<number | null>;
}
const procs: Proc[] = [];

/** Starts the CLI and resolves once `pattern` (with the URL as group 1) shows on stdout or stderr. */
function start(args: string[], pattern: RegExp): Promise<Proc> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const timer = setTimeout(() => reject(new Error(`${args[0]} did not print its URL: ${err}`)), 60_000);
    const check = () => {
      const m = pattern.exec(out + '\n' + err);
      if (!m) return;
      clearTimeout(timer);
      const p = { child, url: m[1]!, err: () => err, out: () => out, exited };
      procs.push(p);
      resolve(p);
    };
    child.stdout!.on('data', (b: Buffer) => ((out += b.toString()), check()));
    child.stderr!.on('data', (b: Buffer) => ((err += b.toString()), check()));
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${args[0]} exited ${code}: ${err}`));
    });
  });
}
const startWeb = (args: string[]) => start(['web', ...args], /^(http:\/\/\S+)$/m);

let browser: Browser | undefined;
let dir = '';
/** the run directory a real `watch --http` wrote (made by the first test) */
let runDir = '';

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'leakscope-web-timeline-'));
  mkdirSync(shots, { recursive: true });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  for (const p of procs) p.child.kill();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Opens a page and waits for window[ready][flag] (`complete`: the run directory's analysis is drawn too). */
async function open(url: string, ready: string, viewport = { width: 1200, height: 900 }, flag = 'ready'): Promise<{ page: Page; errors: string[] }> {
  const page = await browser!.newPage({ viewport });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  await page.waitForFunction(([k, f]) => window[k]?.[f] === true, [ready, flag], { timeout: 60_000 });
  return { page, errors };
}

test('watch --http: the live page shows new samples without a reload', { skip }, async () => {
  // five growing phases, two failed polls, then the restarted process (phases 1, 2)
  const fake = await fakePprof([1, 2, 3, 4, 5, 'fail', 'fail', 1, 2, 'fail']);
  try {
    runDir = join(dir, 'run');
    const w = await start(['watch', '--interval', '700ms', '--duration', '12s', '--http', '127.0.0.1:0', '-o', runDir, '--json', fake.base], /live view at (http:\/\/\S+)/);
    const { page, errors } = await open(w.url, '__leakscopeTimeline');
    await page.evaluate(() => (window.__sameDocument = true));
    const count = () => page.evaluate(() => (window.__leakscopeTimeline.points.find((k: { kind: string }) => k.kind === 'heap')?.files.length ?? 0) as number);
    const first = await count();
    assert.ok(first < 7, `the page opened before the run ended (${first} heap samples)`);
    await page.waitForFunction((n) => (window.__leakscopeTimeline.points.find((k: { kind: string }) => k.kind === 'heap')?.files.length ?? 0) > n, first, { timeout: 30_000, polling: 200 });
    assert.equal(await page.evaluate(() => window.__sameDocument), true, 'no reload: the same document got the new sample');
    assert.ok((await count()) > first);
    assert.deepEqual(errors, []);
    assert.equal(await w.exited, 0, w.err());
    const report = JSON.parse(w.out());
    assert.ok(report.suspects.length >= 2, `the run found its suspects: ${w.out()}\n${w.err()}`);
    await page.close();
  } finally {
    fake.server.close();
  }
});

test('web <run-dir>: every suspect of analyze --json is marked; a point opens its flame graph, a suspect its diff', { skip }, async (t) => {
  if (!runDir) return t.skip('needs the run directory of the watch test');
  const a = cli(['analyze', '--json', runDir]);
  assert.equal(a.status, 0, a.stderr);
  const analyzed = JSON.parse(a.stdout) as { suspects: { profile: string; name: string; confidence: number; firstDetectedSample: number }[]; gaps: number };
  assert.ok(analyzed.suspects.length >= 2);
  const w = await startWeb([runDir]);
  const { page, errors } = await open(w.url, '__leakscopeTimeline', { width: 1200, height: 1400 }, 'complete');
  const tl = await page.evaluate(() => ({ marks: window.__leakscopeTimeline.marks, suspects: window.__leakscopeTimeline.suspects }));
  // each suspect: marked on its kind's total chart, inside the plot
  for (const s of analyzed.suspects) {
    const m = tl.marks.find((x: { chart: string; name: string; profile: string }) => x.name === s.name && x.profile === s.profile && x.chart === s.profile);
    assert.ok(m, `suspect ${s.profile}:${s.name} is marked on the ${s.profile} chart`);
    assert.ok(m.x >= 0 && m.x <= 1200, `inside the plot (${m.x})`);
  }
  assert.deepEqual(tl.suspects.map((s: { name: string }) => s.name), analyzed.suspects.map((s) => s.name), 'the same suspects, in the same order');
  // the table: analyze's numbers
  const rows = await page.$$eval('#suspects-table tr.suspect', (trs: any[]) => trs.map((tr) => ({ name: tr.dataset.name, confidence: Number(tr.dataset.confidence), first: Number(tr.dataset.firstDetectedSample), text: tr.textContent })));
  assert.deepEqual(
    rows.map((r) => [r.name, r.confidence, r.first]),
    analyzed.suspects.map((s) => [s.name, s.confidence, s.firstDetectedSample]),
  );
  const status = await page.textContent('#status');
  assert.match(status!, new RegExp(`${analyzed.gaps} failed polls · 2 restarts`), status!);
  await page.screenshot({ path: join(shots, 'web-timeline.png'), fullPage: true });
  // the sample type switch: the total chart follows, and the URL keeps it
  await page.selectOption('#timeline-type', 'alloc_space');
  assert.equal(new URL(page.url()).searchParams.get('si'), 'alloc_space');
  assert.match((await page.textContent('#timeline-charts .chart[data-chart="heap"] .u-title'))!, /alloc_space/);
  const again = await open(page.url(), '__leakscopeTimeline', undefined, 'complete');
  assert.equal(await again.page.inputValue('#timeline-type'), 'alloc_space', 'a link reproduces the view');
  await again.page.close();
  await page.selectOption('#timeline-type', 'inuse_space');

  // a click on the third heap point opens heap-0003's flame graph; its total is that profile's
  const index = readFileSync(join(runDir, 'index.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const files = await page.evaluate(() => window.__leakscopeTimeline.points.find((k: { kind: string }) => k.kind === 'heap').files as string[]);
  const target = files[2]!;
  const pos = await page.evaluate((f) => window.__leakscopeTimeline.pointAt('heap', f), 2);
  await page.mouse.move(pos.x, pos.y);
  await page.mouse.click(pos.x, pos.y);
  await page.waitForURL((u) => u.searchParams.get('p') === target, { timeout: 20_000 });
  await page.waitForFunction(() => window.__leakscope?.ready === true, undefined, { timeout: 20_000 });
  const flame = await page.evaluate(() => ({ total: window.__leakscope.total, si: window.__leakscope.sampleType, frames: window.__leakscope.layoutFrames, diff: window.__leakscope.diff }));
  assert.equal(flame.si, 'inuse_space');
  assert.equal(flame.total, index.find((e: { file?: string }) => e.file === target).totals.inuse_space, 'the flame graph of the clicked sample');
  assert.ok(flame.frames > 10);
  assert.equal(flame.diff, false);
  assert.ok(await page.isVisible('#back-to-timeline'));
  await page.screenshot({ path: join(shots, 'web-timeline-sample-flame.png') });

  // back, then a suspect: its segment's last sample against its first, as a diff flame graph
  await page.click('#back-to-timeline');
  await page.waitForFunction(() => window.__leakscopeTimeline?.complete === true, undefined, { timeout: 60_000 });
  const heapSuspect = analyzed.suspects.find((s) => s.profile === 'heap')!;
  await page.click(`#suspects-table tr.suspect[data-name="${heapSuspect.name}"] td.verdict`);
  await page.waitForURL((u) => u.searchParams.get('b') !== null, { timeout: 20_000 });
  await page.waitForFunction(() => window.__leakscope?.ready === true, undefined, { timeout: 20_000 });
  const u = new URL(page.url());
  assert.equal(u.searchParams.get('b'), 'heap-0001.pb.gz', 'the analyzed segment begins at the first sample');
  assert.equal(u.searchParams.get('p'), 'heap-0005.pb.gz', 'and ends before the restart');
  assert.equal(await page.evaluate(() => window.__leakscope.diff), true);
  const grown = await page.evaluate((n) => window.__leakscope.drawn.filter((f: { name: string }) => f.name === n), heapSuspect.name);
  assert.ok(grown.length > 0, `${heapSuspect.name} is in the diff flame graph`);
  await page.screenshot({ path: join(shots, 'web-timeline-suspect-diff.png') });
  assert.deepEqual(errors, []);
  await page.close();
});

test('web <run-dir> with a torn profile: one error line in the page and on stderr; the rest is served', { skip }, async (t) => {
  if (!runDir) return t.skip('needs the run directory of the watch test');
  const torn = join(dir, 'torn');
  mkdirSync(torn);
  for (const f of readdirSync(runDir)) copyFileSync(join(runDir, f), join(torn, f));
  const bytes = readFileSync(join(torn, 'heap-0003.pb.gz'));
  writeFileSync(join(torn, 'heap-0003.pb.gz'), bytes.subarray(0, bytes.length >> 1));
  const w = await startWeb([torn]);
  const { page, errors } = await open(w.url, '__leakscopeTimeline', undefined, 'complete');
  const line = (await page.textContent('#timeline-errors'))!.trim();
  assert.equal(line.split('\n').length, 1, line);
  assert.match(line, /heap-0003\.pb\.gz/);
  const files = await page.evaluate(() => window.__leakscopeTimeline.points.find((k: { kind: string }) => k.kind === 'heap').files as string[]);
  assert.ok(!files.includes('heap-0003.pb.gz') && files.includes('heap-0004.pb.gz'), files.join(' '));
  // the server keeps serving: a reload and another sample's flame graph
  await page.reload();
  await page.waitForFunction(() => window.__leakscopeTimeline?.complete === true, undefined, { timeout: 60_000 });
  const flame = await open(new URL('?p=heap-0004.pb.gz', w.url).href, '__leakscope');
  assert.ok((await flame.page.evaluate(() => window.__leakscope.layoutFrames)) > 10);
  await flame.page.close();
  const errLines = w.err().trim().split('\n').filter((l) => l !== '');
  assert.equal(errLines.length, 1, `one line on stderr, whatever the number of requests: ${w.err()}`);
  assert.match(errLines[0]!, /^leakscope web: .*heap-0003\.pb\.gz.*\(skipped\)$/);
  assert.deepEqual(errors, []);
  assert.equal(w.child.exitCode, null, 'still running');
  await page.close();
});

interface Group {
  name: string;
  status: string;
  count: number;
  retainedSize: number;
  growth: number[];
  retainerPath: string[];
  location: string | null;
  representativeId: number;
}

test('web s1 s2 s3: the groups of snapshot leaks --json, each expanding into its retainer path and example object (every Node)', { skip }, async () => {
  const bins = nodeBinaries().present.filter((b) => !b.label.startsWith('node 18'));
  for (const [k, bin] of bins.entries()) {
    const out = join(dir, `snap-${k}`);
    mkdirSync(out);
    runNode(bin.path, [leakyProgram, out, '150'], 60_000);
    const snaps = ['s1', 's2', 's3'].map((s) => join(out, `${s}.heapsnapshot`));
    const r = cli(['snapshot', 'leaks', '--json', ...snaps]);
    assert.equal(r.status, 0, r.stderr);
    const groups = (JSON.parse(r.stdout) as { groups: Group[] }).groups;
    assert.ok(groups.length >= 2, `${bin.label}: the leaky program's groups`);
    const w = await startWeb(snaps);
    const { page, errors } = await open(w.url, '__leakscopeSnapshots', { width: 1200, height: 480 });
    const rows = await page.$$eval('#leak-groups tr.group', (trs: any[]) =>
      trs.map((tr) => ({ cells: [...tr.querySelectorAll('td')].map((td: any) => td.textContent), retained: Number(tr.dataset.retainedSize) })),
    );
    assert.equal(rows.length, groups.length, bin.label);
    groups.forEach((g, i) => {
      const c = rows[i]!.cells;
      assert.equal(Number(c[1]), g.count, `${bin.label} group ${i + 1}: count`);
      assert.equal(rows[i]!.retained, g.retainedSize, 'retained size');
      assert.equal(c[3], g.growth.join(' → '), 'growth');
      assert.equal(c[4], g.status);
      assert.equal(c[5], g.name);
      assert.equal(c[6], g.location ?? '');
    });
    // the first group expands into its retainer path and its example object, whose retainers expand a step
    await page.click('#leak-groups tr.group[data-index="0"]');
    const path = await page.$$eval('tr.detail .retainer-path li', (lis: any[]) => lis.map((li) => li.textContent));
    assert.deepEqual(path, groups[0]!.retainerPath);
    const rid = groups[0]!.representativeId;
    await page.waitForSelector(`tr.detail .retainers li[data-id="${rid}"] > ul > li[data-id]`, { timeout: 20_000 });
    const cliRet = cli(['snapshot', 'retainers', '--json', '--id', String(rid), snaps[2]!]);
    assert.equal(cliRet.status, 0, cliRet.stderr);
    const obj = JSON.parse(cliRet.stdout).objects[0];
    const shown = (await page.textContent('tr.detail .retainers .path'))!;
    assert.equal(shown, `shortest retainer path: ${obj.retainerPath.join(' → ')}`, 'retainers --id\'s path');
    // the object's retainer on that path is listed first among its retainers, as retaining
    const steps = obj.steps as { id: number }[];
    assert.equal(steps[steps.length - 1]!.id, rid);
    const direct = await page.$$eval(`tr.detail .retainers li[data-id="${rid}"] > ul > li[data-id]`, (lis: any[]) => lis.map((li) => ({ id: Number(li.dataset.id), weak: li.classList.contains('weak') })));
    const onPath = direct.find((d) => d.id === steps[steps.length - 2]!.id);
    assert.ok(onPath && !onPath.weak && !direct[0]!.weak, `${bin.label}: the path's retainer is a retaining one: ${JSON.stringify(direct)}`);
    // one step further: the first retainer's own retainers
    const firstRetainer = await page.$(`tr.detail .retainers li[data-id="${rid}"] > ul > li[data-id]`);
    const before = await page.$$eval('tr.detail .retainers li[data-id]', (l: any[]) => l.length);
    await (await firstRetainer!.$('.toggle'))!.click();
    await page.waitForFunction((n) => document.querySelectorAll('tr.detail .retainers li[data-id]').length > n, before, { timeout: 20_000 });
    if (k === 0) await page.screenshot({ path: join(shots, 'web-snapshots.png'), fullPage: true });
    assert.deepEqual(errors, []);
    await page.close();
    w.child.kill();
  }
});

test('web one.heapsnapshot: the classes of snapshot summary --json (sortable) and one object\'s retainers', { skip }, async () => {
  const out = join(dir, 'snap-0');
  const snap = existsSync(join(out, 's3.heapsnapshot')) ? join(out, 's3.heapsnapshot') : (runNode(process.execPath, [leakyProgram, (mkdirSync(out, { recursive: true }), out), '40']), join(out, 's3.heapsnapshot'));
  const r = cli(['snapshot', 'summary', '--json', snap]);
  assert.equal(r.status, 0, r.stderr);
  const sum = JSON.parse(r.stdout) as { rows: { className: string; count: number; shallowSize: number; retainedSize: number }[] };
  const w = await startWeb([snap]);
  const { page, errors } = await open(w.url, '__leakscopeSnapshots');
  const byClass = new Map(sum.rows.map((x) => [x.className, x]));
  const shown = await page.$$eval('#summary-table tbody tr', (trs: any[]) => trs.slice(0, 20).map((tr) => ({ cls: tr.dataset.class, count: Number(tr.querySelector('td').textContent) })));
  for (const s of shown) assert.equal(s.count, byClass.get(s.cls)!.count, s.cls);
  // sorted by retained size, as summary lists them; then by count
  assert.deepEqual(shown.map((s) => s.cls).slice(0, 10), sum.rows.slice(0, 10).map((x) => x.className));
  await page.click('#summary-table th[data-sort="count"]');
  const counts = await page.$$eval('#summary-table tbody tr', (trs: any[]) => trs.slice(0, 30).map((tr) => Number(tr.querySelector('td').textContent)));
  assert.deepEqual(counts, [...counts].sort((a, b) => b - a));
  assert.equal(counts[0], Math.max(...sum.rows.map((x) => x.count)));
  // retainers of one object, by id
  const leaks = JSON.parse(cli(['snapshot', 'leaks', '--json', ...['s1', 's2', 's3'].map((s) => join(out, `${s}.heapsnapshot`))]).stdout) as { groups: Group[] };
  const id = leaks.groups[0]!.representativeId;
  await page.fill('#object-id', String(id));
  await page.click('#show-retainers');
  await page.waitForSelector(`#object-retainers li[data-id="${id}"] > ul > li[data-id]`, { timeout: 20_000 });
  const obj = JSON.parse(cli(['snapshot', 'retainers', '--json', '--id', String(id), snap]).stdout).objects[0];
  assert.equal(await page.textContent('#object-retainers .path'), `shortest retainer path: ${obj.retainerPath.join(' → ')}`);
  // an unknown id: one error line, the page keeps working
  await page.fill('#object-id', '999999999');
  await page.click('#show-retainers');
  await page.waitForSelector('#object-retainers .error', { timeout: 20_000 });
  assert.match((await page.textContent('#object-retainers .error'))!, /no object with id @999999999/);
  assert.deepEqual(errors, []);
  await page.close();
});

/** GET with a chosen Host header (fetch does not let one set it). */
function rawGet(url: string, host: string): Promise<{ status: number; body: string; cors: string | undefined }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: u.hostname, port: u.port, path: u.pathname + u.search, headers: { host } }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, cors: res.headers['access-control-allow-origin'] as string | undefined }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('web <run-dir> and watch --http follow web\'s rules: loopback or a token, Host checked, only known files', async (t) => {
  if (!hasFixtures) return t.skip(SKIP_NO_FIXTURES);
  const tmp = mkdtempSync(join(tmpdir(), 'leakscope-web-rules-'));
  try {
    // a run directory of three real profiles, written with the run-dir code
    const { RunDir, profileTotals } = await import('../src/node/run-dir.js');
    const { parseProfileBytes } = await import('../src/node/source.js');
    const run = await RunDir.create(join(tmp, 'run'), { target: 't', url: 'http://t/debug/pprof', startedAt: new Date(0).toISOString(), intervalMs: 1000, profiles: ['heap'], tool: 'test' });
    for (let k = 1; k <= 3; k++) {
      const bytes = readFileSync(join(P, `heap.${k}.pb.gz`));
      const file = await run.saveProfile('heap', bytes);
      await run.append({ seq: k, time: new Date(k * 1000).toISOString(), timeMs: 1.8e12 + k * 1000, profile: 'heap', file, totals: profileTotals(parseProfileBytes(bytes, file)), segment: 0 });
    }
    // beyond loopback without a token: one line, exit 2, before anything is written
    const bad = cli(['watch', '--http', '0.0.0.0:0', '-o', join(tmp, 'never'), 'http://127.0.0.1:9/']);
    assert.equal(bad.status, 2, bad.stderr);
    assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
    assert.match(bad.stderr, /needs --token/);
    assert.ok(!existsSync(join(tmp, 'never')), 'no run directory for a refused --http');
    const w = await startWeb(['--token', 'sekrit', run.dir]);
    const u = new URL(w.url);
    assert.equal(u.searchParams.get('token'), 'sekrit');
    const api = (path: string, host = u.host, token = 'sekrit') => rawGet(`${u.origin}${path}${path.includes('?') ? '&' : '?'}token=${token}`, host);
    let ok = await api('/api/timeline');
    assert.equal(ok.status, 200, ok.body);
    assert.equal(ok.cors, undefined, 'no CORS headers');
    assert.equal(JSON.parse(ok.body).pending, true, 'the first answer: the totals from the index');
    assert.equal(JSON.parse(ok.body).kinds[0].points.length, 3);
    for (let i = 0; i < 600 && JSON.parse(ok.body).pending; i++) {
      await new Promise((r) => setTimeout(r, 100));
      ok = await api('/api/timeline');
    }
    const full = JSON.parse(ok.body);
    assert.equal(full.pending, false, 'then the analysis');
    assert.equal(full.kinds[0].points.length, 3);
    assert.equal(full.kinds[0].points[1].totals.inuse_space, JSON.parse(cli(['top', '--json', join(run.dir, 'heap-0002.pb.gz')]).stdout).total);
    assert.equal((await api('/api/timeline', 'evil.example:80')).status, 403, 'a foreign Host is refused (DNS rebinding)');
    assert.equal((await api('/api/timeline', u.host, 'wrong')).status, 401);
    const outside = await api('/api/view?p=../run.json');
    assert.equal(outside.status, 400, 'only the run\'s own profiles');
    assert.match(outside.body, /not a profile of this run/);
    const view = await api('/api/view?p=heap-0002.pb.gz');
    assert.equal(view.status, 200, view.body);
    assert.equal(JSON.parse(view.body).top.total, JSON.parse(cli(['top', '--json', join(run.dir, 'heap-0002.pb.gz')]).stdout).total, 'the flame view of a sample is top\'s');
    w.child.kill();
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
