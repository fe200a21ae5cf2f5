/**
 * `leakscope web` in a real browser (Debian's chromium driven by playwright-core): what a user sees
 * — the top table's numbers are top's, a click zooms, search reports the matched share, the sample
 * type switch changes the total, a diff colours a grown frame red, the exported page works from
 * file:// with the network blocked — and the server's rules (foreign Host → 403, no CORS, bad input
 * → one line and a non-zero exit). Screenshots go to bench/out/screenshots/.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { scaledLabel } from '../src/core/units.js';
import { cliPath, fixturesDir, hasFixtures, repoRoot, SKIP_NO_FIXTURES } from './helpers/paths.js';
import { CHROMIUM, launchChromium } from './helpers/browser.js';

// Code passed to page.evaluate runs in the page; the test program itself is compiled without the DOM library.
declare const window: any;
declare const document: any;
type HTMLElement = { dataset: Record<string, string> };
type HTMLCanvasElement = any;

const hasChromium = existsSync(CHROMIUM);
const SKIP_NO_CHROMIUM = `${CHROMIUM} not found: browser tests of leakscope web skipped (CI installs Debian's chromium)`;
const skip = !hasChromium ? SKIP_NO_CHROMIUM : !hasFixtures ? SKIP_NO_FIXTURES : false;
if (skip) console.log(`# SKIP web.test: ${skip}`);

const P = join(fixturesDir, 'go', 'leakysvc', 'profiles');
const shots = join(repoRoot, 'bench', 'out', 'screenshots');

function cli(args: string[]) {
  return spawnSync(process.execPath, [cliPath, ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
}

interface Server {
  url: string;
  child: ChildProcess;
}
const servers: Server[] = [];

/** Starts `leakscope web args…` and resolves with the URL it prints. */
function startWeb(args: string[]): Promise<Server> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, 'web', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`web did not print its URL: ${err}`)), 30_000);
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        const s = { url: out.slice(0, nl), child };
        servers.push(s);
        resolve(s);
      }
    });
    child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`web exited ${code}: ${err}`));
    });
  });
}

let browser: Browser | undefined;
let main: Server;

before(async () => {
  if (skip) return;
  mkdirSync(shots, { recursive: true });
  [browser, main] = await Promise.all([
    launchChromium(),
    startWeb([join(P, 'heap.5.pb.gz')]),
  ]);
});

after(async () => {
  await browser?.close();
  for (const s of servers) s.child.kill();
});

async function open(url: string, viewport = { width: 1200, height: 520 }): Promise<Page> {
  const page = await browser!.newPage({ viewport });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  await page.waitForFunction(() => (window as unknown as { __leakscope?: { ready: boolean } }).__leakscope?.ready === true, undefined, { timeout: 20_000 });
  assert.deepEqual(errors, []);
  return page;
}

interface Frame { i: number; x: number; y: number; w: number; color: string; name: string }
const ls = <T>(page: Page, key: string) => page.evaluate((k) => (window as unknown as { __leakscope: Record<string, unknown> }).__leakscope[k], key) as Promise<T>;

/** top's text rows: flat, flat%, sum%, cum, cum% and the name, as the table shows them. */
function topTextRows(args: string[]): string[][] {
  const r = cli(['top', ...args]);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.split('\n');
  const head = lines.findIndex((l) => /^\s+flat\s+flat%/.test(l));
  return lines
    .slice(head + 1)
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const m = /^\s*(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(.*)$/.exec(l)!;
      return m.slice(1, 7);
    });
}

async function tableRows(page: Page): Promise<{ cells: string[]; flat: number; cum: number }[]> {
  return page.$$eval('#top-body tr', (trs) =>
    trs.map((tr) => ({
      cells: [...tr.querySelectorAll('td')].map((td) => td.textContent ?? ''),
      flat: Number((tr as HTMLElement).dataset.flat),
      cum: Number((tr as HTMLElement).dataset.cum),
    })),
  );
}

test('the top table shows top --json\'s rows and top\'s numbers; sortable by cum', { skip }, async () => {
  const f = join(P, 'heap.5.pb.gz');
  const json = JSON.parse(cli(['top', '--json', f]).stdout) as { total: number; rows: { name: string; inline: boolean; flat: number; cum: number }[] };
  const page = await open(`${main.url}?view=top`);
  const rows = await tableRows(page);
  assert.equal(rows.length, json.rows.length);
  assert.deepEqual(rows.map((r) => [r.cells[5], r.flat, r.cum]), json.rows.map((r) => [r.name + (r.inline ? ' (inline)' : ''), r.flat, r.cum]));
  assert.deepEqual(rows.map((r) => r.cells), topTextRows([f]), 'the cells read as top prints them');
  assert.equal(await ls<number>(page, 'total'), json.total);
  await page.screenshot({ path: join(shots, 'web-top.png') });
  // sort by cum, as top --cum
  await page.click('th[data-sort="cum"]');
  const byCum = await tableRows(page);
  assert.deepEqual(byCum.map((r) => r.cells), topTextRows(['--cum', f]));
  assert.match(page.url(), /sort=cum/);
  await page.close();
});

test('clicking a frame zooms into it (it spans the width); Esc and the breadcrumb go back', { skip }, async () => {
  const page = await open(main.url);
  const width = await ls<number>(page, 'canvasWidth');
  let frames = await ls<Frame[]>(page, 'drawn');
  const get = frames.find((f) => f.name === 'main.(*Cache).Get')!;
  assert.ok(get, 'main.(*Cache).Get is drawn');
  assert.ok(get.w < width * 0.5, `before the zoom it is ${get.w}px of ${width}`);
  await page.screenshot({ path: join(shots, 'web-flame.png') });
  const box = (await page.locator('#flame-canvas').boundingBox())!;
  await page.mouse.click(box.x + get.x + get.w / 2, box.y + get.y + 9);
  assert.equal(await ls<number>(page, 'zoom'), get.i);
  frames = await ls<Frame[]>(page, 'drawn');
  const z = frames.find((f) => f.i === get.i)!;
  assert.equal(z.x, 0);
  assert.equal(z.w, width, 'the zoomed frame spans the width');
  const child = frames.find((f) => f.name === 'main.renderProduct')!;
  assert.ok(child.w > width * 0.85, 'its callee grew with it');
  assert.match(page.url(), new RegExp(`f=${get.i}\\b`));
  assert.match((await page.textContent('#breadcrumb'))!, /root › .* › main\.\(\*Cache\)\.Get$/);
  // hover: the tooltip names the frame, its file:line, flat and cum
  await page.mouse.move(box.x + child.x + 40, box.y + child.y + 9);
  const tip = (await page.textContent('#tooltip'))!;
  assert.match(tip, /^main\.renderProduct\nexample\.com\/leakysvc\/main\.go:\d+\nflat 51\.53MB \(17\.74%\)\ncum 51\.53MB \(17\.74%\)$/);
  await page.screenshot({ path: join(shots, 'web-flame-zoomed.png') });
  // a link reproduces the view
  const again = await open(page.url());
  assert.equal(await ls<number>(again, 'zoom'), get.i);
  await again.close();
  await page.keyboard.press('Escape');
  const parent = await ls<number>(page, 'zoom');
  assert.ok(parent < get.i && parent > 0, 'Esc goes up one frame');
  await page.click('#breadcrumb a:first-child');
  assert.equal(await ls<number>(page, 'zoom'), 0);
  await page.close();
});

test('search highlights the matches and says what share of the total they hold', { skip }, async () => {
  const page = await open(main.url);
  await page.fill('#search', 'createSession|renderProduct');
  await page.press('#search', 'Enter');
  const s = (await ls<{ share: number; value: number }>(page, 'search'))!;
  const json = JSON.parse(cli(['top', '--json', join(P, 'heap.5.pb.gz')]).stdout) as { total: number; rows: { name: string; cum: number }[] };
  const cum = (n: string) => json.rows.find((r) => r.name === n)!.cum;
  assert.equal(s.value, cum('main.createSession') + cum('main.renderProduct'));
  assert.equal((await page.textContent('#search-result'))!, `matched ${scaledLabel(s.value, 'bytes', 'auto')} (${((100 * s.value) / json.total).toFixed(2)}% of ${scaledLabel(json.total, 'bytes', 'auto')})`);
  const frames = await ls<Frame[]>(page, 'drawn');
  assert.equal(frames.find((f) => f.name === 'main.createSession')!.color, '#e040fb');
  assert.equal(frames.find((f) => f.name === 'runtime.malg')!.color, '#dcdcdc');
  assert.match(page.url(), /q=createSession%7CrenderProduct/);
  await page.screenshot({ path: join(shots, 'web-search.png') });
  await page.close();
});

test('the sample-type switch changes the total to that sample type\'s', { skip }, async () => {
  const page = await open(main.url);
  const inuse = await ls<number>(page, 'total');
  await page.selectOption('#sample-type', 'alloc_space');
  await page.waitForFunction(() => (window as unknown as { __leakscope: { sampleType: string; ready: boolean } }).__leakscope.sampleType === 'alloc_space');
  const json = JSON.parse(cli(['top', '--json', '--sample-index=alloc_space', join(P, 'heap.5.pb.gz')]).stdout) as { total: number };
  assert.equal(await ls<number>(page, 'total'), json.total);
  assert.notEqual(json.total, inuse);
  assert.match((await page.textContent('#status'))!, /^alloc_space: total /);
  assert.match(page.url(), /si=alloc_space/);
  await page.close();
});

test('a diff colours a grown frame red', { skip }, async () => {
  const d = await startWeb(['--diff-base', join(P, 'heap.1.pb.gz'), join(P, 'heap.5.pb.gz')]);
  const page = await open(d.url);
  assert.equal(await ls<boolean>(page, 'diff'), true);
  const f = (await ls<Frame[]>(page, 'drawn')).find((x) => x.name === 'main.createSession')!;
  const box = (await page.locator('#flame-canvas').boundingBox())!;
  // the pixel a user sees in the middle of the frame
  const [r, g, b] = await page.evaluate(([x, y]) => {
    const c = document.getElementById('flame-canvas') as HTMLCanvasElement;
    const k = c.width / c.clientWidth;
    return [...c.getContext('2d')!.getImageData(Math.round(x! * k), Math.round(y! * k), 1, 1).data];
  }, [f.x + 2, f.y + 3]);
  assert.ok(r! > 180 && g! < 150 && b! < 150, `createSession grew: rgb(${r}, ${g}, ${b}) is red`);
  assert.match((await page.textContent('#status'))!, /base .* → new .*red grew/);
  await page.mouse.move(box.x + f.x + f.w / 2, box.y + f.y + 9);
  assert.match((await page.textContent('#tooltip'))!, /base [\d.]+MB → new [\d.]+MB\nchange \+[\d.]+MB/);
  await page.screenshot({ path: join(shots, 'web-diff.png') });
  // the table holds the diff's top
  const json = JSON.parse(cli(['top', '--json', '--diff-base', join(P, 'heap.1.pb.gz'), join(P, 'heap.5.pb.gz')]).stdout) as { rows: { flat: number }[] };
  await page.click('#tab-top');
  assert.deepEqual((await tableRows(page)).map((x) => x.flat), json.rows.map((x) => x.flat));
  await page.close();
});

test('the exported page opens from file:// with the network blocked and shows the same numbers', { skip }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'leakscope-web-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'heap.html');
  const r = cli(['web', '--export', file, join(P, 'heap.5.pb.gz')]);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(statSync(file).size < 2_000_000);
  const ctx = await browser!.newContext({ viewport: { width: 1200, height: 520 } });
  const requested: string[] = [];
  await ctx.route('**/*', (route) => {
    const u = route.request().url();
    if (u.startsWith('file:')) return route.continue();
    requested.push(u);
    return route.abort();
  });
  const page = await ctx.newPage();
  await page.goto(`${pathToFileURL(file).href}?view=top`);
  await page.waitForFunction(() => (window as unknown as { __leakscope?: { ready: boolean } }).__leakscope?.ready === true, undefined, { timeout: 20_000 });
  assert.deepEqual((await tableRows(page)).map((x) => x.cells), topTextRows([join(P, 'heap.5.pb.gz')]));
  await page.selectOption('#sample-type', 'alloc_objects');
  await page.waitForFunction(() => (window as unknown as { __leakscope: { sampleType: string } }).__leakscope.sampleType === 'alloc_objects');
  assert.deepEqual((await tableRows(page)).map((x) => x.cells), topTextRows(['--sample-index=alloc_objects', join(P, 'heap.5.pb.gz')]));
  await page.click('#tab-flame');
  assert.ok((await ls<Frame[]>(page, 'drawn')).some((f) => f.name === 'main.createSession'));
  assert.deepEqual(requested, [], 'no network requests');
  await ctx.close();
});

function get(url: string, headers: Record<string, string>): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      let body = '';
      res.on('data', (b: Buffer) => (body += b.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('the server refuses a foreign Host or Origin, sends no CORS headers and only reads', { skip: hasFixtures ? false : SKIP_NO_FIXTURES }, async () => {
  const s = main ?? (await startWeb([join(P, 'heap.5.pb.gz')]));
  const u = new URL(s.url);
  const ok = await get(`${s.url}api/meta`, {});
  assert.equal(ok.status, 200);
  assert.equal(ok.headers['access-control-allow-origin'], undefined);
  const rebind = await get(`${s.url}api/view?si=inuse_space`, { host: `evil.example:${u.port}` });
  assert.equal(rebind.status, 403);
  assert.match(rebind.body, /^forbidden: Host 'evil.example/);
  const page = await get(s.url, { origin: 'http://evil.example' });
  assert.equal(page.status, 403);
  const post = await new Promise<number>((resolve, reject) => {
    const req = request(`${s.url}api/meta`, { method: 'POST' }, (res) => resolve(res.statusCode!));
    req.on('error', reject);
    req.end();
  });
  assert.equal(post, 405);
  // beyond loopback only with a token
  const r = cli(['web', '--http', '0.0.0.0:0', join(P, 'heap.5.pb.gz')]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^leakscope web: --http 0\.0\.0\.0:0: listening beyond loopback needs --token/);
});

test('a token, when set, is required on every request', { skip: hasFixtures ? false : SKIP_NO_FIXTURES }, async () => {
  const s = await startWeb(['--token', 's3cret', join(P, 'heap.5.pb.gz')]);
  assert.match(s.url, /\?token=s3cret$/);
  const base = s.url.replace(/\?.*$/, '');
  assert.equal((await get(`${base}api/meta`, {})).status, 401);
  assert.equal((await get(`${base}api/meta`, { authorization: 'Bearer nope' })).status, 401);
  assert.equal((await get(`${base}api/meta`, { authorization: 'Bearer s3cret' })).status, 200);
  assert.equal((await get(`${base}api/meta?token=s3cret`, {})).status, 200);
});

test('an unreadable profile: one clear line on stderr and a non-zero exit', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'leakscope-web-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const missing = cli(['web', join(dir, 'missing.pb.gz')]);
  assert.equal(missing.status, 1);
  assert.equal(missing.stdout, '');
  assert.equal(missing.stderr.trim().split('\n').length, 1, missing.stderr);
  assert.match(missing.stderr, /^leakscope web: .*missing\.pb\.gz/);
  const junk = join(dir, 'junk.pb');
  writeFileSync(junk, 'this is not a profile\n'.repeat(10));
  const bad = cli(['web', '--export', join(dir, 'out.html'), junk]);
  assert.equal(bad.status, 1);
  assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
  assert.ok(!existsSync(join(dir, 'out.html')));
});
