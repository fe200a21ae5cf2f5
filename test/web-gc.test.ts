/**
 * The GC view in a real browser (Debian's chromium through playwright-core), against a real Node
 * service running the leakscope agent: `watch --profiles heap,metrics` keeps the agent's metrics in
 * the run directory and `web <run-dir>` shows the GC pauses by kind with the numbers the kept
 * scrapes hold (read here with a regex, apart from the parser); a torn metrics file is one line on
 * stderr and in the page; `web http://agent` scrapes live and the page shows new pauses without a
 * reload; the agent's metrics on Node 22 and 24 give the same view; a service that does not answer
 * is one clear line on stderr and in the page. Screenshots go to bench/out/screenshots/.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { cliPath, repoRoot } from './helpers/paths.js';
import { nodeBinaries } from './helpers/snapshot-node.js';
import { startService as startAgentService } from './helpers/agent-service.js';
import { CHROMIUM, launchChromium } from './helpers/browser.js';

declare const window: any;
declare const document: any;

const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} not found: browser tests of leakscope web's GC view skipped (CI installs Debian's chromium)`;
if (skip) console.log(`# SKIP web-gc.test: ${skip}`);
const shots = join(repoRoot, 'bench', 'out', 'screenshots');
const register = join(repoRoot, 'dist', 'src', 'register.js');
const service = join(repoRoot, 'test', 'programs', 'agent-service.mjs');

const children: ChildProcess[] = [];
let browser: Browser | undefined;
let dir = '';

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'leakscope-web-gc-'));
  if (skip) return;
  mkdirSync(shots, { recursive: true });
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Svc {
  port: number;
  agent: string;
}
async function startService(node = process.execPath): Promise<Svc> {
  const s = await startAgentService({ node, program: service });
  children.push(s.proc);
  return { port: s.port, agent: s.agent.replace(/\/debug\/pprof\/?$/, '') };
}
/** requests that retain memory: minor GCs, and a major one now and then */
async function load(s: Svc, rounds: number): Promise<void> {
  for (let i = 0; i < rounds; i++) await fetch(`http://127.0.0.1:${s.port}/leak?n=40`).then((r) => r.arrayBuffer());
}

interface Proc {
  child: ChildProcess;
  url: string;
  err: () => string;
  out: () => string;
  exited: Promise<number | null>;
}
function start(args: string[], pattern: RegExp): Promise<Proc> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let out = '';
    let err = '';
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const timer = setTimeout(() => reject(new Error(`${args.join(' ')}: no URL: ${err}`)), 60_000);
    const check = () => {
      const m = pattern.exec(out + '\n' + err);
      if (!m) return;
      clearTimeout(timer);
      resolve({ child, url: m[1]!, err: () => err, out: () => out, exited });
    };
    child.stdout!.on('data', (b: Buffer) => ((out += b.toString()), check()));
    child.stderr!.on('data', (b: Buffer) => ((err += b.toString()), check()));
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${args.join(' ')} exited ${code}: ${err}`));
    });
  });
}
const startWeb = (args: string[]) => start(['web', ...args], /^(http:\/\/\S+)$/m);

async function open(url: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser!.newPage({ viewport: { width: 1200, height: 900 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  await page.waitForFunction(() => window.__leakscopeGc?.ready === true && window.__leakscopeGc.data !== undefined, undefined, { timeout: 60_000 });
  return { page, errors };
}

/** `<name>{kind="K"} V` read straight from a kept scrape (not through the parser under test) */
function gcCount(text: string, kind: string): number {
  const m = new RegExp(`^nodejs_gc_duration_seconds_count\\{kind="${kind}"\\} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

let runDir = '';

/** scrapes that are new measurements: the agent answers scrapes within a second of one collection
 * with the same text, and a repeat of the one before is not counted */
function distinct(dir: string, files: string[]): number {
  let n = 0;
  let prev = '';
  for (const f of files) {
    const t = readFileSync(join(dir, f), 'utf8');
    if (t !== prev) n++;
    prev = t;
  }
  return n;
}

test('watch --profiles heap,metrics keeps the scrapes; web <run-dir> shows GC pauses by kind with their numbers', { skip }, async () => {
  const svc = await startService();
  runDir = join(dir, 'run');
  // 12 s: on a loaded machine the page may get its first data late, and a later scrape must still come
  const w = spawn(process.execPath, [cliPath, 'watch', '--profiles', 'heap,metrics', '--interval', '400ms', '--duration', '12s', '--http', '127.0.0.1:0', '-o', runDir, '--json', `${svc.agent}/debug/pprof`], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(w);
  let wout = '';
  let werr = '';
  w.stdout!.on('data', (b: Buffer) => (wout += b.toString()));
  w.stderr!.on('data', (b: Buffer) => (werr += b.toString()));
  const done = new Promise<number | null>((r) => w.on('exit', r));
  // watch --http: the live page's GC section gets new scrapes without a reload
  const deadline = Date.now() + 30_000;
  while (!/live view at (http:\/\/\S+)/.test(werr) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const liveUrl = /live view at (http:\/\/\S+)/.exec(werr)![1]!;
  const loaded = load(svc, 30);
  // opened as soon as the URL is out: perhaps before the first scrape is written
  const live = { page: await browser!.newPage({ viewport: { width: 1200, height: 900 } }) };
  await live.page.goto(liveUrl);
  await live.page.evaluate(() => (window.__same = true));
  await live.page.waitForFunction(() => window.__leakscopeGc?.data !== undefined, undefined, { timeout: 30_000, polling: 200 });
  const n0 = await live.page.evaluate(() => window.__leakscopeGc.data.scrapes);
  await live.page.waitForFunction((n) => window.__leakscopeGc.data.scrapes > n, n0, { timeout: 20_000, polling: 200 });
  assert.equal(await live.page.evaluate(() => window.__same), true, 'no reload');
  await live.page.close();
  await loaded;
  assert.equal(await done, 0, werr);
  assert.ok(JSON.parse(wout).samples >= 2, wout);
  const lines = readFileSync(join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { file?: string; timeMs: number });
  const files = lines.filter((l) => l.file).map((l) => l.file!);
  assert.ok(files.length >= 2, `scrapes kept: ${files.join(', ')}`);
  assert.ok(readdirSync(runDir).some((f) => /^heap-\d+\.pb\.gz$/.test(f)), 'the profiles are kept beside them');
  // analyze reads the run as before (the metrics are not profiles)
  const an = spawnSync(process.execPath, [cliPath, 'analyze', '--json', runDir], { encoding: 'utf8' });
  assert.equal(an.status, 0, an.stderr);

  const first = readFileSync(join(runDir, files[0]!), 'utf8');
  const last = readFileSync(join(runDir, files[files.length - 1]!), 'utf8');
  const minor = gcCount(last, 'minor') - gcCount(first, 'minor');
  assert.ok(minor > 0, 'the load made minor GCs during the run');

  const web = await startWeb([runDir]);
  const { page, errors } = await open(web.url);
  const row = await page.evaluate(() => {
    const tr = document.querySelector('#gc-table tr[data-kind="minor"]');
    return { count: Number(tr?.dataset.count), text: tr?.textContent, summary: document.querySelector('#gc-summary')?.textContent };
  });
  assert.equal(row.count, minor, `the page's minor pauses are the last scrape's count minus the first's (${row.text})`);
  assert.match(row.summary ?? '', new RegExp(`· ${distinct(runDir, files)} scrapes`));
  const charts = await page.evaluate(() => window.__leakscopeGc.charts);
  assert.deepEqual(Object.keys(charts).sort(), ['gc-histogram', 'gc-lag', 'gc-pauses', 'gc-share', 'gc-spaces']);
  assert.ok(charts['gc-histogram'].includes('minor'));
  assert.ok(charts['gc-spaces'].includes('old'), 'the old space over time');
  // drawn: each chart has its canvas with pixels in it
  const canvases = await page.evaluate(() => [...document.querySelectorAll('#gc-box .chart canvas')].map((c: any) => c.width * c.height));
  assert.equal(canvases.length, 5);
  assert.ok(canvases.every((n: number) => n > 0));
  // the heap-over-time view is still above it
  await page.waitForFunction(() => window.__leakscopeTimeline?.ready === true, undefined, { timeout: 30_000 });
  await page.screenshot({ path: join(shots, 'web-gc-rundir.png'), fullPage: true });
  assert.deepEqual(errors, []);
  await page.close();
  web.child.kill('SIGINT');
});

test('a torn metrics file and a bad index line: one line each on stderr and in the page, the rest is drawn', { skip }, async () => {
  assert.ok(runDir, 'needs the run of the first test');
  const torn = join(dir, 'torn');
  cpSync(runDir, torn, { recursive: true });
  const files = readdirSync(torn).filter((f) => /^metrics-\d+\.prom$/.test(f)).sort();
  const victim = files[1]!;
  const text = readFileSync(join(torn, victim), 'utf8');
  writeFileSync(join(torn, victim), text.slice(0, Math.floor(text.length / 2)));
  writeFileSync(join(torn, 'metrics.jsonl'), readFileSync(join(torn, 'metrics.jsonl'), 'utf8') + '{"seq": 99, "timeMs": \n');
  const web = await startWeb([torn]);
  const { page, errors } = await open(web.url);
  const shown = await page.evaluate(() => document.querySelector('#gc-errors')?.textContent ?? '');
  assert.match(shown, new RegExp(`${victim.replace('.', '\\.')}: torn`));
  assert.match(shown, /metrics\.jsonl:\d+: not a metrics line/);
  const scrapes = await page.evaluate(() => window.__leakscopeGc.data.scrapes);
  assert.equal(scrapes, distinct(torn, files.filter((f) => f !== victim)), 'the other scrapes are drawn');
  await page.waitForFunction(() => true);
  const stderr = web.err();
  assert.equal(stderr.split('\n').filter((l) => l.includes(`${victim}: torn`)).length, 1, stderr);
  assert.deepEqual(errors, []);
  await page.close();
  web.child.kill('SIGINT');
});

test('web http://agent: the live GC view shows new pauses without a reload', { skip }, async () => {
  const svc = await startService();
  const web = await startWeb(['--interval', '300ms', svc.agent]);
  const { page, errors } = await open(web.url);
  await page.evaluate(() => (window.__sameDocument = true));
  const v0 = await page.evaluate(() => window.__leakscopeGc.version);
  const minor = () => page.evaluate(() => window.__leakscopeGc.data.rows.find((r: { kind: string }) => r.kind === 'minor')?.count ?? 0);
  const before = await minor();
  await load(svc, 25);
  await page.waitForFunction((n) => (window.__leakscopeGc.data.rows.find((r: { kind: string }) => r.kind === 'minor')?.count ?? 0) > n, before, { timeout: 30_000, polling: 200 });
  assert.ok((await page.evaluate(() => window.__leakscopeGc.version)) > v0);
  assert.equal(await page.evaluate(() => window.__sameDocument), true, 'no reload');
  // the page's numbers are the server's
  const api = (await (await fetch(new URL('api/gc', web.url))).json()) as { rows: { kind: string; count: number }[]; version: number };
  await page.waitForFunction((v) => window.__leakscopeGc.version >= v, api.version, { timeout: 10_000 });
  assert.ok(api.rows.some((r) => r.kind === 'minor' && r.count > 0));
  await load(svc, 10);
  await page.waitForTimeout(1200);
  await page.screenshot({ path: join(shots, 'web-gc.png'), fullPage: true });
  assert.deepEqual(errors, []);
  await page.close();
  web.child.kill('SIGINT');
});

test('the agent on Node 22 and 24: the same GC view (kinds, heap spaces)', async (t) => {
  const others = nodeBinaries().present.slice(1).filter((b) => !b.label.includes('18'));
  if (others.length === 0) return t.skip('node 22/24 binaries not installed (node_modules/node22, node24)');
  for (const b of others) {
    const svc = await startService(b.path);
    const web = await startWeb(['--interval', '200ms', svc.agent]);
    await load(svc, 20);
    let d: { rows: { kind: string; count: number }[]; scrapes: number; charts: { id: string; series: { label: string }[] }[] } | undefined;
    const deadline = Date.now() + 40_000;
    while (Date.now() < deadline) {
      d = (await (await fetch(new URL('api/gc', web.url))).json()) as typeof d;
      if (d!.scrapes >= 3 && d!.rows.some((r) => r.kind === 'minor' && r.count > 0)) break;
      await load(svc, 2);
    }
    assert.ok(d && d.rows.some((r) => r.kind === 'minor' && r.count > 0), `${b.label}: minor GCs seen: ${JSON.stringify(d?.rows)}`);
    assert.ok(d.charts.find((c) => c.id === 'gc-spaces')!.series.some((s) => s.label === 'old'), `${b.label}: heap spaces`);
    web.child.kill('SIGINT');
  }
});

test('a service that does not answer: one line on stderr, the page says it, the server keeps serving', { skip }, async () => {
  const port = await new Promise<number>((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
  const web = await startWeb(['--interval', '200ms', `http://127.0.0.1:${port}`]);
  const page = await browser!.newPage();
  await page.goto(web.url);
  await page.waitForFunction(() => document.getElementById('status')?.className === 'error', undefined, { timeout: 20_000 });
  const status = await page.evaluate(() => document.getElementById('status')!.textContent);
  assert.match(status, /cannot connect/);
  await page.waitForTimeout(800);
  const lines = web.err().trim().split('\n');
  assert.equal(lines.length, 1, `one line, not one per scrape: ${web.err()}`);
  assert.match(lines[0]!, /^leakscope web: http:\/\/127\.0\.0\.1:\d+\/debug\/pprof\/metrics: cannot connect/);
  assert.equal((await fetch(web.url)).status, 200);
  await page.close();
  web.child.kill('SIGINT');
  // watch: metrics alone is a usage error, one line, exit 2
  const r = spawnSync(process.execPath, [cliPath, 'watch', '--profiles', 'metrics', `http://127.0.0.1:${port}`], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.equal(r.stderr.trim().split('\n').length, 1);
  assert.match(r.stderr, /metrics needs a profile to watch beside it/);
});
