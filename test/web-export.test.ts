/**
 * `leakscope web --export FILE.html` for a watch run directory and for heap snapshots, in a real
 * browser: the exported file opens from file:// with every other request aborted (playwright
 * route) and shows the numbers the served page shows — suspects with their confidence, the GC
 * table, a sample's flame graph total, a suspect's diff; the snapshot groups, their retainer
 * paths and the retainers of the example object a step further. The run is a real `watch
 * --profiles heap,async,metrics` of a Node service with the agent. Screenshots go to
 * bench/out/screenshots/.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { cliPath, repoRoot } from './helpers/paths.js';
import { leakyProgram, runNode } from './helpers/snapshot-node.js';
import { exportRunDir, samplePriority } from '../src/cli/web-export.js';
import { CHROMIUM, launchChromium } from './helpers/browser.js';

declare const window: any;
declare const document: any;

const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} not found: browser tests of leakscope web --export skipped (CI installs Debian's chromium)`;
if (skip) console.log(`# SKIP web-export.test: ${skip}`);
const shots = join(repoRoot, 'bench', 'out', 'screenshots');
const register = join(repoRoot, 'dist', 'src', 'register.js');
const service = join(repoRoot, 'test', 'programs', 'agent-service.mjs');

const children: ChildProcess[] = [];
let browser: Browser | undefined;
let dir = '';
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'leakscope-web-export-'));
  if (skip) return;
  mkdirSync(shots, { recursive: true });
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function cli(args: string[]) {
  return spawnSync(process.execPath, [cliPath, ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
}

function startWeb(args: string[]): Promise<{ url: string; child: ChildProcess }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, 'web', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`web: no URL: ${err}`)), 60_000);
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /^(http:\/\/\S+)$/m.exec(out);
      if (m) clearTimeout(timer), resolve({ url: m[1]!, child });
    });
    child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
    child.on('exit', (code) => reject(new Error(`web exited ${code}: ${err}`)));
  });
}

/** A page in a context that lets only file:// through (the export must need nothing else). */
async function offlinePage(): Promise<{ ctx: BrowserContext; page: Page; blocked: string[]; errors: string[] }> {
  const ctx = await browser!.newContext({ viewport: { width: 1200, height: 900 } });
  const blocked: string[] = [];
  await ctx.route('**/*', (r) => {
    const u = r.request().url();
    if (u.startsWith('file:')) return r.continue();
    blocked.push(u);
    return r.abort();
  });
  const page = await ctx.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  return { ctx, page, blocked, errors };
}

/** What a user reads on the heap-over-time page (with its GC section) */
async function timelineNumbers(page: Page) {
  await page.waitForFunction(() => window.__leakscopeTimeline?.complete === true && window.__leakscopeGc?.ready === true, undefined, { timeout: 60_000 });
  return page.evaluate(() => ({
    status: document.getElementById('status').textContent,
    suspects: [...document.querySelectorAll('#suspects-table tr.suspect')].map((tr: any) => tr.textContent),
    marks: window.__leakscopeTimeline.marks.map((m: any) => `${m.chart}:${m.name}`),
    gcSummary: document.querySelector('#gc-summary')?.textContent,
    gcRows: [...document.querySelectorAll('#gc-table tbody tr')].map((tr: any) => tr.textContent),
  }));
}
async function flameNumbers(page: Page) {
  await page.waitForFunction(() => window.__leakscope?.ready === true, undefined, { timeout: 60_000 });
  return page.evaluate(() => ({ status: document.getElementById('status').textContent, total: window.__leakscope.total, diff: window.__leakscope.diff, error: window.__leakscope.error, rows: window.__leakscope.rows?.length }));
}

test('samplePriority: each segment\'s last, the first, then the gaps halved; every sample once', () => {
  assert.deepEqual(samplePriority(0, []), []);
  assert.deepEqual(samplePriority(1, [0]), [0]);
  const p = samplePriority(10, [4, 9]);
  assert.deepEqual(p.slice(0, 3), [4, 9, 0]);
  assert.deepEqual([...p].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual(p.slice(3, 4), [8], 'then the middle');
});

test('web --export <run-dir>: from file:// with the network blocked, the numbers of the served page', { skip }, async () => {
  // a real run: the agent's service under load (a heap and an async leak), heap, async and metrics
  const proc = spawn(process.execPath, ['--import', register, service], { env: { ...process.env, LEAKSCOPE_ADDR: '127.0.0.1:0' }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(proc);
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const deadline = Date.now() + 20_000;
  while (!(/SERVICE_PORT=\d+/.test(out) && /listening on http/.test(err)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
  const port = /SERVICE_PORT=(\d+)/.exec(out)![1];
  const agent = /listening on (http:\/\/\S+)/.exec(err)![1]!;
  const run = join(dir, 'run');
  const w = spawn(process.execPath, [cliPath, 'watch', '--profiles', 'heap,async,metrics', '--interval', '500ms', '--duration', '7s', '--min-samples', '4', '-o', run, '--json', agent], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(w);
  let werr = '';
  w.stderr!.on('data', (b: Buffer) => (werr += b.toString()));
  const done = new Promise<number | null>((r) => w.on('exit', r));
  let stop = false;
  const loading = (async () => {
    while (!stop) {
      await fetch(`http://127.0.0.1:${port}/leak?n=15`).then((r) => r.arrayBuffer());
      await fetch(`http://127.0.0.1:${port}/poll?n=2`).then((r) => r.arrayBuffer());
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  assert.equal(await done, 0, werr);
  stop = true;
  await loading;

  const file = join(dir, 'run.html');
  const ex = cli(['web', '--export', file, run]);
  assert.equal(ex.status, 0, ex.stderr);
  assert.equal(ex.stdout, `${file}\n`);
  assert.match(ex.stderr, /^leakscope web: exported 2 kinds, \d+ suspects?, (\d+) of \1 samples' flame graphs, GC \(\d+ scrapes\) \([\d.]+ MB\)\n$/);
  const size = statSync(file).size;
  assert.ok(size < 10 * 1024 * 1024, `export size ${size}`);
  console.log(`# export of a ${run.split('/').pop()} run: ${(size / 1048576).toFixed(2)} MB`);

  // the served page
  const web = await startWeb([run]);
  const served = await browser!.newPage({ viewport: { width: 1200, height: 900 } });
  await served.goto(web.url);
  const a = await timelineNumbers(served);
  assert.ok(a.suspects.length >= 1, `the run found a suspect: ${a.status}`);
  const pt = await served.evaluate(() => window.__leakscopeTimeline.pointAt('heap', 2));
  await served.mouse.click(pt.x, pt.y);
  const aSample = await flameNumbers(served);
  await served.goto(web.url);
  await timelineNumbers(served);
  await served.click('#suspects-table tr.suspect >> nth=0');
  const aDiff = await flameNumbers(served);
  await served.close();
  web.child.kill('SIGINT');

  // the export, offline
  const { ctx, page, blocked, errors } = await offlinePage();
  await page.goto(`file://${file}`);
  const b = await timelineNumbers(page);
  assert.deepEqual(b.suspects, a.suspects, 'suspects with their verdict, confidence, growth, first detected');
  assert.deepEqual(b.marks, a.marks, 'each suspect marked on its chart');
  assert.equal(b.gcSummary, a.gcSummary);
  assert.deepEqual(b.gcRows, a.gcRows);
  assert.equal(b.status, a.status);
  await page.screenshot({ path: join(shots, 'web-export-rundir.png'), fullPage: true });
  const pt2 = await page.evaluate(() => window.__leakscopeTimeline.pointAt('heap', 2));
  await page.mouse.click(pt2.x, pt2.y);
  const bSample = await flameNumbers(page);
  assert.equal(bSample.error, undefined);
  assert.deepEqual(bSample, aSample, 'a sample\'s flame graph: the same total');
  assert.ok(page.url().startsWith('file://'));
  await page.goto(`file://${file}`);
  await timelineNumbers(page);
  await page.click('#suspects-table tr.suspect >> nth=0');
  const bDiff = await flameNumbers(page);
  assert.equal(bDiff.diff, true);
  assert.deepEqual(bDiff, aDiff, 'a suspect\'s diff flame graph');
  await page.screenshot({ path: join(shots, 'web-export-diff.png') });
  assert.deepEqual(blocked, [], 'the export asked for nothing beyond its file');
  assert.deepEqual(errors, []);

  // over its size budget an export leaves samples out (never the suspects' diffs), and says so when one is clicked
  const small = join(dir, 'small.html');
  const io = { stdout: () => {}, stderr: () => {}, isTTY: false } as unknown as Parameters<typeof exportRunDir>[2];
  assert.equal(await exportRunDir(run, small, io, 1), 0);
  await page.goto(`file://${small}`);
  await timelineNumbers(page);
  const pt3 = await page.evaluate(() => window.__leakscopeTimeline.pointAt('heap', 2));
  await page.mouse.click(pt3.x, pt3.y);
  await page.waitForFunction(() => /not in this export/.test(document.getElementById('status')?.textContent ?? ''), undefined, { timeout: 30_000 });
  const said = await page.evaluate(() => [document.getElementById('status').className, document.getElementById('status').textContent]);
  assert.equal(said[0], 'error');
  assert.match(said[1], /^api\/meta: not in this export \(it carries the flame graphs of 0 of \d+ samples, to stay under 0 MB; serve the run directory with leakscope web for all\)$/);
  await page.goto(`file://${small}`);
  await timelineNumbers(page);
  await page.click('#suspects-table tr.suspect >> nth=0');
  assert.deepEqual(await flameNumbers(page), aDiff, 'the suspects\' diffs are always carried');
  await ctx.close();
});

test('web --export <snapshots>: groups, retainer paths and retainers a step further, offline', { skip }, async () => {
  const out = join(dir, 'snaps');
  mkdirSync(out);
  runNode(process.execPath, [leakyProgram, out, '40'], 60_000);
  const snaps = ['s1', 's2', 's3'].map((s) => join(out, `${s}.heapsnapshot`));
  const leaks = JSON.parse(cli(['snapshot', 'leaks', '--json', ...snaps]).stdout) as { groups: { count: number; retainedSize: number; retainerPath: string[]; representativeId: number }[] };
  assert.ok(leaks.groups.length >= 2);
  const file = join(dir, 'snaps.html');
  const ex = cli(['web', '--export', file, ...snaps]);
  assert.equal(ex.status, 0, ex.stderr);
  assert.match(ex.stderr, new RegExp(`exported ${leaks.groups.length} leak groups, retainers of \\d+ objects`));
  console.log(`# export of three snapshots: ${(statSync(file).size / 1048576).toFixed(2)} MB`);
  const { ctx, page, blocked, errors } = await offlinePage();
  await page.goto(`file://${file}`);
  await page.waitForFunction(() => window.__leakscopeSnapshots?.ready === true, undefined, { timeout: 30_000 });
  const rows = await page.$$eval('#leak-groups tr.group', (trs: any[]) => trs.map((tr) => ({ count: Number(tr.querySelector('td.count').textContent), retained: Number(tr.dataset.retainedSize) })));
  assert.deepEqual(rows, leaks.groups.map((g) => ({ count: g.count, retained: g.retainedSize })), 'the groups of snapshot leaks --json');
  await page.click('#leak-groups tr.group[data-index="0"]');
  const path = await page.$$eval('tr.detail .retainer-path li', (lis: any[]) => lis.map((li) => li.textContent));
  assert.deepEqual(path, leaks.groups[0]!.retainerPath);
  const rid = leaks.groups[0]!.representativeId;
  await page.waitForSelector(`tr.detail .retainers li[data-id="${rid}"] > ul > li[data-id]`, { timeout: 20_000 });
  const ret = JSON.parse(cli(['snapshot', 'retainers', '--json', '--id', String(rid), snaps[2]!]).stdout).objects[0];
  assert.equal(await page.textContent('tr.detail .retainers .path'), `shortest retainer path: ${ret.retainerPath.join(' → ')}`);
  // one step further, from the export's own answers
  const before = await page.$$eval('tr.detail .retainers li[data-id]', (l: any[]) => l.length);
  const first = await page.$(`tr.detail .retainers li[data-id="${rid}"] > ul > li[data-id]`);
  await (await first!.$('.toggle'))!.click();
  await page.waitForFunction((n) => document.querySelectorAll('tr.detail .retainers li[data-id]').length > n, before, { timeout: 20_000 });
  assert.equal(await page.textContent('#snapshot-errors'), '');
  await page.screenshot({ path: join(shots, 'web-export-snapshots.png'), fullPage: true });
  assert.deepEqual(blocked, []);
  assert.deepEqual(errors, []);
  await ctx.close();

  // one snapshot: the summary's classes
  const one = join(dir, 'one.html');
  assert.equal(cli(['web', '--export', one, snaps[2]!]).status, 0);
  const sum = JSON.parse(cli(['snapshot', 'summary', '--json', snaps[2]!]).stdout) as { rows: { className: string; count: number }[] };
  const o = await offlinePage();
  await o.page.goto(`file://${one}`);
  await o.page.waitForFunction(() => window.__leakscopeSnapshots?.ready === true, undefined, { timeout: 30_000 });
  const shown = await o.page.$$eval('#summary-table tbody tr', (trs: any[]) => trs.slice(0, 10).map((tr) => ({ className: tr.dataset.class, count: Number(tr.querySelector('td').textContent) })));
  assert.deepEqual(shown, sum.rows.slice(0, 10).map((r) => ({ className: r.className, count: r.count })));
  assert.deepEqual(o.blocked, []);
  await o.ctx.close();
});

test('web --export: a file that cannot be written is one line and exit 1', () => {
  const empty = join(dir, 'empty-run');
  mkdirSync(empty);
  writeFileSync(join(empty, 'index.jsonl'), '');
  const r = cli(['web', '--export', join(dir, 'no', 'such', 'dir', 'x.html'), empty]);
  assert.equal(r.status, 1, r.stderr);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /cannot write .*x\.html/);
});
