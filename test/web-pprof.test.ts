/**
 * `leakscope web`'s pprof views in a real browser (Debian's chromium through playwright-core): the
 * call graph shows the nodes of `graph --format dot` and pans, zooms and focuses; a table row opens
 * the sandwich with the callers and callees `peek` reports and `list`'s source; the focus box and
 * the granularity switch give `top --focus` / `top --granularity`'s numbers and live in the URL; a
 * source that fails to load is one line in the page and on stderr while the others are served;
 * --open says so when no browser is found. Screenshots go to bench/out/screenshots/.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server as HttpServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { scaledLabel } from '../src/core/units.js';
import { cliPath, fixturesDir, hasFixtures, repoRoot, SKIP_NO_FIXTURES } from './helpers/paths.js';
import { CHROMIUM, launchChromium } from './helpers/browser.js';

// Code passed to page.evaluate runs in the page; the test program itself is compiled without the DOM library.
declare const window: any;
declare const document: any;

const hasChromium = existsSync(CHROMIUM);
const hasDot = spawnSync('dot', ['-V']).status === 0;
const SKIP_NO_CHROMIUM = `${CHROMIUM} not found: browser tests of leakscope web skipped (CI installs Debian's chromium)`;
const skip = !hasChromium ? SKIP_NO_CHROMIUM : !hasFixtures ? SKIP_NO_FIXTURES : false;
if (skip) console.log(`# SKIP web-pprof.test: ${skip}`);
if (!skip && !hasDot) console.log("# web-pprof.test: graphviz's dot not found: the call graph test checks the page's 'needs graphviz' line and node list instead of the SVG");

const SVC = join(fixturesDir, 'go', 'leakysvc');
const HEAP = join(SVC, 'profiles', 'heap.5.pb.gz');
const shots = join(repoRoot, 'bench', 'out', 'screenshots');
const docsImg = join(repoRoot, 'docs', 'img');

function cli(args: string[]) {
  return spawnSync(process.execPath, [cliPath, ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
}

interface Server {
  url: string;
  child: ChildProcess;
  stderr: () => string;
}
const servers: Server[] = [];

/** Starts `leakscope web args…` and resolves with the URL it prints. */
function startWeb(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Server> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, 'web', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`web did not print its URL: ${err}`)), 60_000);
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        const s = { url: out.slice(0, nl), child, stderr: () => err };
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
    startWeb(['--source-path', SVC, HEAP]),
  ]);
});

after(async () => {
  await browser?.close();
  for (const s of servers) s.child.kill();
});

async function open(url: string, viewport = { width: 1200, height: 620 }): Promise<Page> {
  const page = await browser!.newPage({ viewport });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  await waitReady(page);
  assert.deepEqual(errors, []);
  return page;
}
const waitReady = (page: Page) => page.waitForFunction(() => window.__leakscope?.ready === true, undefined, { timeout: 60_000 });
const ls = <T>(page: Page, expr: string) => page.evaluate((e) => new Function('api', `return api.${e}`)(window.__leakscope), expr) as Promise<T>;

/** The node names of `graph --format dot`, N1 first (from each node's tooltip "NAME (cum)"). */
function dotNodes(args: string[]): string[] {
  const r = cli(['graph', '--format', 'dot', ...args]);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout
    .split('\n')
    .filter((l) => /^N\d+ \[/.test(l))
    .map((l) => /tooltip="(.*) \([^()]*\)" color=/.exec(l)![1]!.replace(/\\(.)/g, '$1'));
}

test('the call graph view shows the nodes of graph --format dot; it pans, zooms, and a click focuses on a node', { skip, timeout: 180_000 }, async () => {
  const page = await open(`${main.url}?view=graph`);
  await page.waitForFunction(() => window.__leakscope.pprof.graph?.ready === true, undefined, { timeout: 60_000 });
  const want = dotNodes([HEAP]);
  assert.ok(want.length >= 5, `graph has nodes: ${want.length}`);
  assert.deepEqual(await ls<string[]>(page, 'pprof.graph.nodes'), want);
  if (!hasDot) {
    assert.match((await page.textContent('#graph-message'))!, /graphviz/);
    assert.deepEqual(await page.$$eval('.graph-list li', (els) => els.map((e: any) => e.dataset.name)), want);
    await page.close();
    return;
  }
  // every node of the DOT text is a box in the drawn SVG, with its label
  const drawn = await page.$$eval('#graph-svg g.node[data-name]', (gs) => gs.map((g: any) => ({ name: g.dataset.name as string, text: g.textContent as string })));
  assert.deepEqual(drawn.map((d) => d.name).sort(), [...want].sort());
  const cs = drawn.find((d) => d.name === 'main.createSession')!;
  assert.match(cs.text, /createSession[\s\S]*MB \([\d.]+%\)/);
  await page.screenshot({ path: join(shots, 'web-graph.png') });
  mkdirSync(docsImg, { recursive: true });
  await page.screenshot({ path: join(docsImg, 'web-graph.png') });

  // wheel zooms in around the pointer (the viewBox shrinks), a drag pans it
  const host = (await page.locator('#graph-host').boundingBox())!;
  const vb0 = await ls<number[]>(page, 'pprof.graph.viewBox');
  await page.mouse.move(host.x + host.width / 2, host.y + host.height / 3);
  await page.mouse.wheel(0, -400);
  await page.waitForFunction((w) => window.__leakscope.pprof.graph.viewBox[2] < w, vb0[2]!);
  const vb1 = await ls<number[]>(page, 'pprof.graph.viewBox');
  assert.ok(vb1[2]! < vb0[2]! * 0.8, `zoomed in: ${vb0} → ${vb1}`);
  await page.mouse.move(host.x + 200, host.y + 200);
  await page.mouse.down();
  await page.mouse.move(host.x + 260, host.y + 240, { steps: 4 });
  await page.mouse.up();
  const vb2 = await ls<number[]>(page, 'pprof.graph.viewBox');
  assert.ok(vb2[0]! < vb1[0]! && vb2[1]! < vb1[1]!, `dragging right and down moves the view left and up: ${vb1} → ${vb2}`);
  assert.equal(vb2[2], vb1[2], 'a pan keeps the scale');
  assert.ok((await ls<number>(page, 'pprof.graph.redrawMs')) < 50);

  // a click on a node focuses on it: the focus box, the URL, and the graph of graph --focus
  await page.dblclick('#graph-host'); // fit again so that the node is in view
  const node = page.locator('#graph-svg g.node[data-name="main.createSession"] polygon');
  await node.click();
  await page.waitForFunction(() => window.__leakscope.filters.focus === '^main\\.createSession$' && window.__leakscope.pprof.graph?.ready === true && window.__leakscope.ready);
  assert.equal(await page.inputValue('#filter-focus'), '^main\\.createSession$');
  assert.match(page.url(), /focus=%5Emain%5C.createSession%24/);
  await page.waitForFunction(() => window.__leakscope.pprof.graph?.ready === true && document.querySelector('#graph-svg g.node.selected') !== null);
  assert.deepEqual(await ls<string[]>(page, 'pprof.graph.nodes'), dotNodes(['--focus', '^main\\.createSession$', HEAP]));
  await page.close();
});

test("clicking a table row opens its sandwich with peek's callers and callees, and list's source", { skip, timeout: 120_000 }, async () => {
  const page = await open(`${main.url}?view=top`, { width: 1400, height: 640 });
  const peek = JSON.parse(cli(['peek', '--json', '^main\\.createSession$', HEAP]).stdout) as {
    nodes: { name: string; flat: number; cum: number; callers: { name: string; weight: number }[]; callees: { name: string; weight: number }[] }[];
  };
  const want = peek.nodes[0]!;
  assert.ok(want.callers.length > 0 && want.callees.length > 0, 'the fixture function has callers and callees');
  await page.click('#top-body td.name:text-is("main.createSession")');
  await page.waitForFunction(() => window.__leakscope.pprof.sandwich !== undefined && window.__leakscope.pprof.source !== undefined);
  // what the user sees: the caller bars above, the callee bars below, with peek's weights
  const bars = (cls: string) => page.$$eval(`#sandwich .${cls} .sw-bar[data-name]`, (els) => els.map((e: any) => ({ name: e.dataset.name, weight: Number(e.dataset.weight) })));
  assert.deepEqual(await bars('sw-callers'), want.callers.map((c) => ({ name: c.name, weight: c.weight })));
  assert.deepEqual(await bars('sw-callees'), want.callees.map((c) => ({ name: c.name, weight: c.weight })));
  assert.equal(await page.getAttribute('#sandwich .sw-main', 'data-name'), 'main.createSession');
  // callers' bars span their share of the function's cum
  const w = await page.$eval('#sandwich .sw-callers .sw-bar', (e: any) => e.getBoundingClientRect().width / e.parentElement.getBoundingClientRect().width);
  assert.ok(Math.abs(w - Math.abs(want.callers[0]!.weight / want.cum)) < 0.01, `caller bar width ${w}`);
  // the source: list's lines with the file's text (found through --source-path)
  const list = JSON.parse(cli(['list', '--json', '--source-path', SVC, '^main\\.createSession$', HEAP]).stdout) as { functions: { lines: { line: number; text?: string; flat: number }[] }[] };
  const rows = await page.$$eval('#source .src-table tr', (trs) => trs.map((tr: any) => [...tr.querySelectorAll('td')].map((td: any) => td.textContent)));
  const lines = list.functions[0]!.lines;
  assert.equal(rows.length, lines.length);
  assert.deepEqual(rows.map((r) => [Number(r[2]), r[3]]), lines.map((l) => [l.line, l.text ?? '']));
  assert.ok(rows.some((r) => /func createSession|sessions|make\(/.test(r[3] ?? '')), 'the file\'s lines are shown');
  assert.match(page.url(), /sel=main.createSession/);
  await page.screenshot({ path: join(shots, 'web-sandwich.png') });
  // a callee bar opens that function's sandwich
  await page.click(`#sandwich .sw-callers .sw-bar[data-name="${want.callers[0]!.name}"]`);
  await page.waitForFunction((n) => window.__leakscope.pprof.sandwich?.name === n && window.__leakscope.pprof.source?.name === n, want.callers[0]!.name);
  await page.screenshot({ path: join(shots, 'web-sandwich-caller.png') });
  mkdirSync(docsImg, { recursive: true });
  await page.screenshot({ path: join(docsImg, 'web-sandwich.png') });
  const peek2 = JSON.parse(cli(['peek', '--json', `^${want.callers[0]!.name.replace(/\./g, '\\.')}$`, HEAP]).stdout) as { nodes: unknown[] };
  assert.deepEqual(await ls(page, 'pprof.sandwich.nodes'), peek2.nodes);
  // the link reproduces the view
  const again = await open(page.url(), { width: 1400, height: 640 });
  await again.waitForFunction(() => window.__leakscope.pprof.sandwich !== undefined);
  assert.equal(await ls(again, 'pprof.sandwich.name'), want.callers[0]!.name);
  await again.close();
  await page.close();
});

test("the focus box and the granularity switch give top's numbers, and stay in the URL", { skip, timeout: 120_000 }, async () => {
  const page = await open(`${main.url}?view=top`);
  const before = await ls<number>(page, 'rows.length');
  const rowsOf = () => page.$$eval('#top-body tr', (trs) => trs.map((tr: any) => [Number(tr.dataset.flat), Number(tr.dataset.cum)]));
  await page.fill('#filter-focus', 'handleRequest');
  await page.press('#filter-focus', 'Enter');
  await page.waitForFunction(() => window.__leakscope.ready && window.__leakscope.filters.focus === 'handleRequest' && window.__leakscope.labels.some((l: string) => l.includes('focus=handleRequest')));
  const top = JSON.parse(cli(['top', '--json', '--focus', 'handleRequest', HEAP]).stdout) as { total: number; rows: { flat: number; cum: number }[] };
  assert.deepEqual(await rowsOf(), top.rows.map((r) => [r.flat, r.cum]));
  assert.notEqual(top.rows.length, before);
  // the header lines are top's: "Showing nodes accounting for …" changed as top --focus's did
  const text = cli(['top', '--focus', 'handleRequest', HEAP]).stdout.split('\n');
  const labels = await ls<string[]>(page, 'labels');
  assert.deepEqual(labels, text.slice(0, labels.length));
  assert.ok(labels.some((l) => /^Showing nodes accounting for .* of .* total$/.test(l)));
  // the flame graph is prepared alike: its root is the focused samples' sum (top --focus with every node)
  const all = JSON.parse(cli(['top', '--json', '--focus', 'handleRequest', '--node-fraction', '0', '--nodecount', '0', HEAP]).stdout) as { rows: { flat: number }[] };
  await page.click('#tab-flame');
  const sum = all.rows.reduce((s, r) => s + r.flat, 0);
  assert.equal(await ls<number>(page, 'rootValue'), sum);
  const status = (await page.textContent('#status'))!;
  assert.equal(status, `inuse_space: showing ${scaledLabel(sum, 'bytes', 'auto')} of ${scaledLabel(top.total, 'bytes', 'auto')} total`);
  assert.match(page.url(), /focus=handleRequest/);
  // granularity lines: top --granularity lines --focus …
  await page.click('#tab-top');
  await page.selectOption('#granularity', 'lines');
  await page.waitForFunction(() => window.__leakscope.ready && window.__leakscope.filters.g === 'lines' && window.__leakscope.rows.some((r: any) => r.line !== undefined));
  const lines = JSON.parse(cli(['top', '--json', '--granularity', 'lines', '--focus', 'handleRequest', HEAP]).stdout) as { rows: { flat: number; cum: number }[] };
  assert.deepEqual(await rowsOf(), lines.rows.map((r) => [r.flat, r.cum]));
  assert.match(page.url(), /g=lines/);
  // the URL reproduces the state; a bad regex is one error line, not a broken page
  const again = await open(page.url());
  assert.deepEqual(await again.$$eval('#top-body tr', (trs) => trs.map((tr: any) => [Number(tr.dataset.flat), Number(tr.dataset.cum)])), lines.rows.map((r) => [r.flat, r.cum]));
  assert.equal(await again.inputValue('#filter-focus'), 'handleRequest');
  // a focus that matches nothing: top's warning, as top prints it on stderr
  await again.fill('#filter-focus', 'no_such_function_xyz');
  await again.press('#filter-focus', 'Enter');
  await again.waitForFunction(() => window.__leakscope.ready && window.__leakscope.filters.focus === 'no_such_function_xyz' && window.__leakscope.rows.length === 0);
  assert.equal(await again.textContent('#warnings'), 'Focus expression matched no samples');
  assert.match(cli(['top', '--focus', 'no_such_function_xyz', HEAP]).stderr, /Focus expression matched no samples/);
  await again.fill('#filter-ignore', '(');
  await again.press('#filter-ignore', 'Enter');
  await again.waitForFunction(() => window.__leakscope.error !== undefined);
  assert.match((await again.textContent('#status'))!, /invalid ignore regular expression/);
  await again.close();
  await page.close();
});

test('a source that fails to load is one line in the page and on stderr; the others are served', { skip, timeout: 120_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'leakscope-webp-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const torn = join(dir, 'torn.pb.gz');
  writeFileSync(torn, Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3]));
  // a URL that never answers
  const held: import('node:http').ServerResponse[] = [];
  const slow: HttpServer = createServer((_req, res) => held.push(res));
  await new Promise<void>((r) => slow.listen(0, '127.0.0.1', () => r()));
  t.after(() => {
    for (const r of held) r.destroy();
    slow.close();
  });
  const port = (slow.address() as { port: number }).port;
  const slowUrl = `http://127.0.0.1:${port}/debug/pprof/heap`;
  const s = await startWeb(['--timeout', '1', HEAP, torn, slowUrl]);
  const page = await open(s.url);
  const lines = await page.$$eval('#source-errors .source-error', (els) => els.map((e: any) => e.textContent as string));
  assert.equal(lines.length, 2, lines.join('\n'));
  assert.match(lines[0]!, /torn\.pb\.gz/);
  assert.match(lines[1]!, new RegExp(`127\\.0\\.0\\.1:${port}.*no answer within 1s`));
  assert.equal(lines.filter((l) => l.includes('\n')).length, 0);
  const err = s.stderr();
  assert.match(err, /leakscope web: .*torn\.pb\.gz/);
  assert.match(err, /leakscope web: .*no answer within 1s/);
  // the good profile is served as top shows it alone
  const top = JSON.parse(cli(['top', '--json', HEAP]).stdout) as { total: number };
  assert.equal(await ls<number>(page, 'total'), top.total);
  await page.click('#tab-top');
  assert.ok((await page.$$('#top-body tr')).length > 0);
  await page.close();
  // and when no source loads at all: one line, non-zero exit, no server
  const r = cli(['web', torn]);
  assert.notEqual(r.status, 0);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
});

test('--open says so when no browser is found, and serves anyway', { skip: hasFixtures ? false : SKIP_NO_FIXTURES, timeout: 60_000 }, async (t) => {
  const empty = mkdtempSync(join(tmpdir(), 'leakscope-nopath-'));
  t.after(() => rmSync(empty, { recursive: true, force: true }));
  const s = await startWeb(['--open', HEAP], { ...process.env, PATH: empty });
  await new Promise((r) => setTimeout(r, 200));
  assert.match(s.stderr(), /--open found no browser \(xdg-open, chromium.*\); open http:\/\/127\.0\.0\.1:\d+\/ yourself/);
  const res = await fetch(`${s.url}api/meta`);
  assert.equal(res.status, 200);
});

test('without graphviz the graph view says so and lists the nodes of graph --format dot', { skip, timeout: 120_000 }, async (t) => {
  const empty = mkdtempSync(join(tmpdir(), 'leakscope-nodot-'));
  t.after(() => rmSync(empty, { recursive: true, force: true }));
  const s = await startWeb([HEAP], { ...process.env, PATH: empty });
  const page = await open(`${s.url}?view=graph`);
  await page.waitForFunction(() => window.__leakscope.pprof.graph?.ready === true, undefined, { timeout: 60_000 });
  assert.match((await page.textContent('#graph-message'))!, /needs graphviz's dot on PATH \(Debian: apt-get install graphviz\)/);
  assert.deepEqual(await page.$$eval('.graph-list li', (els) => els.map((e: any) => e.dataset.name)), dotNodes([HEAP]));
  await page.screenshot({ path: join(shots, 'web-graph-no-graphviz.png') });
  await page.close();
});
