/**
 * `leakscope web FLEET_DIR` in a real browser (Debian's chromium through playwright-core): a real
 * `watch` over four local targets (three Node workers with the agent, two of them leaking, and a
 * closed port) writes a fleet directory; the page's targets are `analyze --json FLEET_DIR`'s
 * ranking, row for row, its findings are the report's, the unreachable target shows its error,
 * and clicking a target opens that target's heap over time (with its suspects) and a way back;
 * the `--export` file does the same from file:// with the network blocked.
 * Screenshot: docs/img/web-fleet.png.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { cliPath, repoRoot } from './helpers/paths.js';
import { closedPort, startNode, type Service } from './helpers/fleet-services.js';
import type { FleetJson } from '../src/report/fleet.js';
import { CHROMIUM, launchChromium } from './helpers/browser.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
declare const window: any;

const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} not found: the browser test of leakscope web FLEET_DIR is skipped (CI installs Debian's chromium)`;

function cli(args: string[]) {
  return spawnSync(process.execPath, [cliPath, ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 120_000 });
}

function runCli(args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cliPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}

function startWeb(args: string[]): Promise<{ child: ChildProcess; url: string; err: () => string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, 'web', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`web did not print its URL: ${err}`)), 60_000);
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /^(http:\/\/\S+)$/m.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1]!, err: () => err });
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
let work = '';
const services: Service[] = [];
const children: ChildProcess[] = [];

before(async () => {
  if (skip) return;
  work = mkdtempSync(join(tmpdir(), 'leakscope-web-fleet-'));
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  for (const s of services) s.stop();
  for (const c of children) c.kill();
  if (work) rmSync(work, { recursive: true, force: true });
});

test('web FLEET_DIR: the page ranks the targets as analyze --json does, shows the findings, and a click opens a target\'s heap over time', { skip, timeout: 170_000 }, async () => {
  const workers = await Promise.all([startNode({ LEAK: '1', TICK_MS: '20' }), startNode({ LEAK: '1', TICK_MS: '20' }), startNode({ TICK_MS: '20' })]);
  services.push(...workers);
  const down = await closedPort();
  const file = join(work, 'targets.yaml');
  writeFileSync(file, `- targets:\n${[...workers.map((w) => w.addr), down].map((a) => `    - ${a}`).join('\n')}\n  labels:\n    job: worker\n`);
  const out = join(work, 'fleet');
  const w = await runCli(['watch', '--targets', file, '--interval', '400ms', '--duration', '14s', '--timeout', '1s', '--json', '-o', out], 90_000);
  for (const s of workers) s.stop();
  assert.ok(w.code === 0 || w.code === 3, `watch exited ${w.code}: ${w.stderr}`);

  const a = cli(['analyze', out, '--json']);
  assert.equal(a.status, 0, a.stderr);
  const report = JSON.parse(a.stdout) as FleetJson;
  const text = cli(['analyze', out]).stdout;
  assert.equal(report.targets.length, 4);
  assert.ok(report.counts.leaking >= 1, `the leaking workers were found: ${text}`);
  assert.equal(report.targets.at(-1)!.status, 'unreachable');

  // bad input: a fleet.json without targets is one line and exit 1; an unknown target is a 400
  const badDir = join(work, 'bad');
  mkdirSync(badDir);
  writeFileSync(join(badDir, 'fleet.json'), '{}');
  for (const args of [[badDir], ['--export', join(work, 'bad.html'), badDir]]) {
    const b = cli(['web', ...args]);
    assert.deepEqual([b.status, b.stderr], [1, `leakscope web: ${badDir}/fleet.json: no "targets" list\n`]);
  }
  const web = await startWeb([out]);
  children.push(web.child);
  const bad = await fetch(new URL('t/nope/api/timeline', web.url));
  assert.equal(bad.status, 400);
  assert.match(await bad.text(), /nope: not a target of this fleet/);
  const first = report.targets[0]!.runDir!.split('/').at(-1)!;
  const noSlash = await fetch(new URL(`t/${first}`, web.url));
  assert.deepEqual([noSlash.status, await noSlash.text()], [404, `not found: the target's page is /t/${first}/\n`]);

  const page = await browser!.newPage({ viewport: { width: 1280, height: 760 } });
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  await page.goto(web.url);
  await page.waitForFunction(() => window.__leakscopeFleet?.ready === true && window.__leakscopeFleet.version > 0, undefined, { timeout: 60_000 });
  const rows = (await page.evaluate(() => window.__leakscopeFleet.rows)) as { rank: number; id: string; status: string; href: string }[];
  assert.deepEqual(
    rows.map((r) => [r.rank, r.id, r.status]),
    report.targets.map((t) => [t.rank, t.id, t.status]),
    'the page ranks the targets as analyze --json FLEET_DIR',
  );
  // what the table shows, row by row
  const cells = await page.$$eval('#fleet-targets tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));
  assert.deepEqual(
    cells.map((c) => [Number(c[0]), c[1], c[2]]),
    report.targets.map((t) => [t.rank, { leak: 'LEAK', ok: 'ok', 'no-verdict': 'wait', unreachable: 'DOWN' }[t.status], t.id]),
  );
  const unreachable = report.targets.find((t) => t.status === 'unreachable')!;
  assert.equal(cells[unreachable.rank - 1]![7], unreachable.lastError);
  // the findings: analyze's own headlines
  const headlines = (await page.evaluate(() => window.__leakscopeFleet.findings)) as string[];
  assert.equal(headlines.length, report.findings.length);
  for (const h of headlines) assert.ok(text.includes(h), `finding "${h}" is analyze's:\n${text}`);
  if (report.findings.length > 0) assert.match((await page.textContent('#fleet-findings')) ?? '', /of 3 worker instances/);
  mkdirSync(join(repoRoot, 'docs', 'img'), { recursive: true });
  await page.screenshot({ path: join(repoRoot, 'docs', 'img', 'web-fleet.png'), fullPage: true });

  // a click on the top target opens its heap over time
  const top = report.targets[0]!;
  await page.click(`#fleet-targets tr[data-rank="1"] a.target-link`);
  await page.waitForFunction(() => window.__leakscopeTimeline?.complete === true, undefined, { timeout: 60_000 });
  const suspects = (await page.evaluate(() => window.__leakscopeTimeline.suspects)) as { profile: string; name: string }[];
  assert.deepEqual(
    suspects.map((s) => s.name).sort(),
    (top.report?.suspects ?? []).map((s) => s.name).sort(),
    'the target page shows the suspects the fleet report gives that target',
  );
  assert.ok(page.url().includes('/t/'), page.url());
  mkdirSync(join(repoRoot, 'bench', 'out', 'screenshots'), { recursive: true });
  await page.screenshot({ path: join(repoRoot, 'bench', 'out', 'screenshots', 'web-fleet-target.png') });
  await page.click('#back-to-fleet');
  await page.waitForFunction(() => window.__leakscopeFleet?.ready === true, undefined, { timeout: 30_000 });
  assert.deepEqual(errors, []);
  await page.close();
  web.child.kill();

  // with --token: nothing without it; the page's links carry it to a target's view
  const tw = await startWeb(['--token', 'sekrit', out]);
  children.push(tw.child);
  assert.equal((await fetch(new URL('api/fleet', tw.url.split('?')[0]))).status, 401);
  assert.equal((await fetch(new URL('t/x/api/timeline', tw.url.split('?')[0]))).status, 401);
  const tp = await browser!.newPage();
  await tp.goto(tw.url);
  await tp.waitForFunction(() => window.__leakscopeFleet?.ready === true && window.__leakscopeFleet.version > 0, undefined, { timeout: 60_000 });
  await tp.click(`#fleet-targets tr[data-rank="1"] a.target-link`);
  await tp.waitForFunction(() => window.__leakscopeTimeline?.complete === true, undefined, { timeout: 60_000 });
  assert.match(tp.url(), /\/t\/[^/]+\/\?token=sekrit$/);
  await tp.close();
  tw.child.kill();

  // the export: from file:// with every other request aborted, the same rows, and a target's view
  const html = join(work, 'fleet.html');
  const ex = cli(['web', '--export', html, out]);
  assert.equal(ex.status, 0, ex.stderr);
  assert.equal(ex.stdout, `${html}\n`);
  assert.match(ex.stderr, /^leakscope web: exported 4 targets, \d+ findings?, \d+ suspect's diffs? \([\d.]+ MB\)\n$/);
  const ctx = await browser!.newContext({ viewport: { width: 1280, height: 760 } });
  const requests: string[] = [];
  await ctx.route('**/*', (r) => {
    if (r.request().url().startsWith('file://')) return r.continue();
    requests.push(r.request().url());
    return r.abort();
  });
  const xp = await ctx.newPage();
  const xerrors: string[] = [];
  xp.on('pageerror', (err) => xerrors.push(err.message));
  await xp.goto(`file://${html}`);
  await xp.waitForFunction(() => window.__leakscopeFleet?.ready === true && window.__leakscopeFleet.version > 0, undefined, { timeout: 30_000 });
  assert.equal(await xp.evaluate(() => window.__leakscopeFleet.error), undefined);
  const xrows = (await xp.evaluate(() => window.__leakscopeFleet.rows)) as { rank: number; id: string; status: string }[];
  assert.deepEqual(xrows.map((r) => [r.rank, r.id, r.status]), report.targets.map((t) => [t.rank, t.id, t.status]));
  await xp.click(`#fleet-targets tr[data-rank="1"] a.target-link`);
  await xp.waitForFunction(() => window.__leakscopeTimeline?.complete === true, undefined, { timeout: 30_000 });
  assert.deepEqual(((await xp.evaluate(() => window.__leakscopeTimeline.suspects)) as { name: string }[]).map((s) => s.name).sort(), (top.report?.suspects ?? []).map((s) => s.name).sort());
  if ((top.report?.suspects.length ?? 0) > 0) {
    // the top suspect's diff flame graph is in the file
    await xp.click('#suspects-table a.diff-link');
    await xp.waitForFunction(() => window.__leakscope?.ready === true, undefined, { timeout: 30_000 });
    assert.equal(await xp.evaluate(() => window.__leakscope.error), undefined);
    assert.equal(await xp.evaluate(() => window.__leakscope.diff), true);
  }
  await xp.click('#back-to-fleet');
  await xp.waitForFunction(() => window.__leakscopeFleet?.ready === true, undefined, { timeout: 30_000 });
  assert.deepEqual(xerrors, []);
  assert.deepEqual(requests, [], 'the export needs nothing beyond its file');
  await ctx.close();
});
