/**
 * The sandwich beyond one level (src/ui/sandwich-tree.ts): callers of callers and callees of
 * callees, each step weighted by the samples under the whole path, from the flame graph's layout.
 * The expected weights are computed here straight from the collapsed stacks the profile is made
 * of (with recursion, where a function's outermost frame counts once); then in a real browser the
 * top table's sandwich expands step by step to those numbers, served and from an exported file
 * opened offline.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { cliPath, repoRoot } from './helpers/paths.js';
import { loadProfile } from '../src/node/source.js';
import { prepareReport } from '../src/report/prepare.js';
import { flameLayout } from '../src/report/flame.js';
import { sandwichStep } from '../src/ui/sandwich-tree.js';
import { CHROMIUM, launchChromium } from './helpers/browser.js';

declare const window: any;

const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} not found: browser tests of the sandwich's step-by-step trees skipped (CI installs Debian's chromium)`;

// root first, as flamegraph.pl's folded stacks
const STACKS: [string, number][] = [
  ['main;serve;handle;parse;alloc', 100],
  ['main;serve;handle;render;alloc', 50],
  ['main;worker;handle;parse;alloc', 30],
  ['main;worker;handle;alloc', 20],
  ['main;worker;retry;handle;parse;alloc', 7],
  ['main;rec;rec;alloc', 5],
  ['main;serve;handle;handle;alloc', 3],
  ['main;serve;idle', 40],
];

/** The expected step, from the stacks alone: outermost `path[0]`, then the path, then the next name. */
function expected(path: string[], dir: 'callers' | 'callees'): { value: number; children: Record<string, number> } {
  const children: Record<string, number> = {};
  let value = 0;
  for (const [s, v] of STACKS) {
    const f = s.split(';');
    const at = f.indexOf(path[0]!);
    if (at < 0) continue;
    const step = dir === 'callers' ? -1 : 1;
    let ok = true;
    for (let k = 1; k < path.length; k++) ok &&= f[at + step * k] === path[k];
    if (!ok) continue;
    value += v;
    const next = f[at + step * path.length];
    if (next !== undefined) children[next] = (children[next] ?? 0) + v;
  }
  return { value, children };
}

let dir = '';
let file = '';
const children: ChildProcess[] = [];
let browser: Browser | undefined;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'leakscope-web-sandwich-'));
  const txt = join(dir, 'stacks.txt');
  writeFileSync(txt, STACKS.map(([s, v]) => `${s} ${v}`).join('\n') + '\n');
  // the profile: those stacks through `convert` (collapsed → profile.proto)
  file = join(dir, 'stacks.pb.gz');
  const c = spawnSync(process.execPath, [cliPath, 'convert', '--to', 'pprof', '-o', file, txt], { encoding: 'utf8' });
  assert.equal(c.status, 0, c.stderr);
  if (skip) return;
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const CASES: [string[], 'callers' | 'callees'][] = [
  [['alloc'], 'callers'],
  [['alloc', 'parse'], 'callers'],
  [['alloc', 'parse', 'handle'], 'callers'],
  [['alloc', 'handle'], 'callers'],
  [['handle'], 'callees'],
  [['handle', 'parse'], 'callees'],
  [['main'], 'callees'],
  [['main', 'serve', 'handle'], 'callees'],
  [['rec'], 'callees'],
];

test('sandwichStep: each step weighted by the samples under the whole path (outermost frame once)', async () => {
  const p = await loadProfile(file);
  const layout = flameLayout(prepareReport(p, {}), { minFraction: 0 });
  for (const [path, d] of CASES) {
    const got = sandwichStep(layout, path, d);
    const want = expected(path, d);
    assert.equal(got.value, want.value, `${d} ${path.join(' → ')}: value`);
    assert.deepEqual(Object.fromEntries(got.children.map((c) => [c.name, c.value])), want.children, `${d} ${path.join(' → ')}`);
    assert.deepEqual(got.children.map((c) => c.value), [...got.children.map((c) => c.value)].sort((a, b) => b - a), 'heaviest first');
  }
  // self: what the path's last function keeps
  assert.equal(sandwichStep(layout, ['handle', 'parse'], 'callees').self, 0);
  assert.equal(sandwichStep(layout, ['main', 'serve'], 'callees').self, 0);
  assert.equal(sandwichStep(layout, ['alloc'], 'callees').self, 215);
  assert.deepEqual(sandwichStep(layout, ['nosuch'], 'callers'), { value: 0, children: [], self: 0 });
});

async function expandAndRead(page: Page): Promise<void> {
  await page.click('#top-body td.name:text-is("alloc")');
  await page.waitForSelector('#sw-callers-tree > li');
  // callers: alloc ← parse ← handle, step by step
  for (const path of [['alloc', 'parse'], ['alloc', 'parse', 'handle']]) {
    await page.click(`#sw-callers-tree li[data-path='${JSON.stringify(path)}'] > .toggle`);
    await page.waitForSelector(`#sw-callers-tree li[data-path='${JSON.stringify(path)}'] > ul`);
    const shown = await page.$$eval(`#sw-callers-tree li[data-path='${JSON.stringify(path)}'] > ul > li[data-path]`, (lis: any[]) => lis.map((li) => [JSON.parse(li.dataset.path).pop(), Number(li.dataset.value)]));
    assert.deepEqual(Object.fromEntries(shown), expected(path, 'callers').children, path.join(' ← '));
  }
  const top = await page.$$eval('#sw-callees-tree > li[data-path]', (lis: any[]) => lis.length);
  assert.equal(top, 0, 'alloc calls nothing');
}

test('the top table\'s sandwich expands callers step by step, served and exported (offline)', { skip }, async () => {
  const web = await new Promise<{ url: string }>((resolve, reject) => {
    const c = spawn(process.execPath, [cliPath, 'web', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(c);
    let out = '';
    c.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /^(http:\/\/\S+)$/m.exec(out);
      if (m) resolve({ url: m[1]! });
    });
    c.on('exit', (code) => reject(new Error(`web exited ${code}`)));
  });
  const page = await browser!.newPage({ viewport: { width: 1400, height: 800 } });
  await page.goto(`${web.url}?view=top`);
  await page.waitForFunction(() => window.__leakscope?.ready === true);
  await expandAndRead(page);
  mkdirSync(join(repoRoot, 'bench', 'out', 'screenshots'), { recursive: true });
  await page.screenshot({ path: join(repoRoot, 'bench', 'out', 'screenshots', 'web-sandwich-steps.png') });
  await page.close();

  const html = join(dir, 'stacks.html');
  const ex = spawnSync(process.execPath, [cliPath, 'web', '--export', html, file], { encoding: 'utf8' });
  assert.equal(ex.status, 0, ex.stderr);
  const ctx = await browser!.newContext({ viewport: { width: 1400, height: 800 } });
  const blocked: string[] = [];
  await ctx.route('**/*', (r) => (r.request().url().startsWith('file:') ? r.continue() : (blocked.push(r.request().url()), r.abort())));
  const off = await ctx.newPage();
  await off.goto(`file://${html}?view=top`);
  await off.waitForFunction(() => window.__leakscope?.ready === true);
  await expandAndRead(off);
  assert.deepEqual(blocked, []);
  await ctx.close();
});
