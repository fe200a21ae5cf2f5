/**
 * Accuracy against live example services: the Go one (net/http/pprof) when `go` is installed and
 * the Node one (leakscope's agent), each under a randomized load rate, watched for a few seconds.
 * Every planted leak must be named, and nothing else: never the bounded LRU, never the churn.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { runWatch } from '../src/cli/commands/watch.js';
import type { Suspect } from '../src/core/leak/analyze.js';
import type { LeakGroup } from '../src/core/heap/leaks.js';
import type { CliIO } from '../src/cli/io.js';
import { repoRoot } from './helpers/paths.js';

interface LoadInstance {
  stop(): void;
  on(ev: 'error', f: (e: Error) => void): void;
}
const require = createRequire(import.meta.url);
const autocannon = require('autocannon') as (opts: object) => LoadInstance;

const quietIO: CliIO = { stdout: () => {}, stderr: () => {}, isTTY: false };

/** Starts a service that prints one JSON "ready" line on stdout. */
async function startService(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ child: ChildProcess; ready: Record<string, string> }> {
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d) => (err = (err + d).slice(-2000)));
  const ready = await new Promise<Record<string, string>>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`service did not start in 20 s: ${err}`)), 20000);
    createInterface({ input: child.stdout! }).on('line', (l) => {
      try {
        const j = JSON.parse(l) as Record<string, string>;
        if (j.ready) {
          clearTimeout(t);
          resolve(j);
        }
      } catch {
        /* other output */
      }
    });
    child.on('exit', (c) => {
      clearTimeout(t);
      reject(new Error(`service exited (${c}): ${err}`));
    });
  });
  return { child, ready };
}

/**
 * Load whose rate changes at random every few seconds (between lo and hi requests/s), so the
 * verdict is not tuned to one rhythm. Returns the rates used.
 */
function varyingLoad(url: string, lo: number, hi: number, connections: number): { stop(): void; rates: number[] } {
  const rates: number[] = [];
  let current: LoadInstance | undefined;
  let stopped = false;
  const next = () => {
    if (stopped) return;
    current?.stop();
    const rate = lo + Math.floor(Math.random() * (hi - lo));
    rates.push(rate);
    current = load(url, rate, connections, 30);
    timer = setTimeout(next, 3000 + Math.random() * 4000);
  };
  let timer: NodeJS.Timeout | undefined;
  next();
  return {
    rates,
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      current?.stop();
    },
  };
}

function load(url: string, rate: number, connections: number, seconds: number): LoadInstance {
  let n = 0;
  const inst = autocannon({
    url,
    connections,
    overallRate: rate,
    duration: seconds,
    requests: [
      {
        method: 'GET',
        setupRequest: (req: Record<string, unknown>) => ({ ...req, path: `/api?user=u${n++ % 5000}&product=p${Math.floor(Math.random() * 1e9)}` }),
      },
    ],
  });
  inst.on('error', () => {});
  return inst;
}

/** Line ranges of top-level functions in a source file: `func NAME(` / `export function NAME(` to the next `}` at column 0. */
function functionRanges(file: string): Map<string, [number, number]> {
  const lines = readFileSync(file, 'utf8').split('\n');
  const out = new Map<string, [number, number]>();
  for (let i = 0; i < lines.length; i++) {
    const m = /^(?:export function|func(?: \([^)]*\))?) (\w+)\(/.exec(lines[i]!);
    if (!m) continue;
    let j = i;
    while (j < lines.length && lines[j] !== '}') j++;
    out.set(m[1]!, [i + 1, j + 1]);
  }
  return out;
}

function stepOf(s: Suspect, ranges: Map<string, [number, number]>, fileSuffix: string): string | undefined {
  if (!s.file.endsWith(fileSuffix)) return undefined;
  for (const [name, [a, b]] of ranges) if (s.line >= a && s.line <= b) return name;
  return undefined;
}

const describe = (ss: Suspect[]) => ss.map((s) => `${s.profile}:${s.name}@${s.file}:${s.line}`).join(', ');

test('Node example service: every planted leak named at its file:line, never the LRU or the churn (randomized load)', { timeout: 150000 }, async (t) => {
  const server = join(repoRoot, 'dist', 'examples', 'node-service', 'server.js');
  const connections = 4 + Math.floor(Math.random() * 8);
  const { child, ready } = await startService(process.execPath, ['--enable-source-maps', server], { PORT: '0', AGENT_PORT: '0', LEAKSCOPE_TOKEN: 'sekret' });
  const out = mkdtempSync(join(tmpdir(), 'leakscope-node-svc-'));
  let inst: { stop(): void; rates: number[] } | undefined;
  try {
    inst = varyingLoad(ready.url!, 100, 320, connections);
    await new Promise((r) => setTimeout(r, 1000));
    const ranges = functionRanges(join(repoRoot, 'examples', 'node-service', 'leaks.ts'));
    const planted = ['createSession', 'cacheProduct', 'subscribeUpdates', 'startPolling', 'waitForReload'];
    // A suspect outside the planted leaks fails at once. A planted leak missed in a 30 s watch
    // (a false negative of the statistics under the randomized rates, seen about 1 run in 5) gets
    // one more 30 s watch of the same service; it must then name every planted leak.
    for (let attempt = 1; attempt <= 2; attempt++) {
      const r = await runWatch(ready.agent!, { interval: '3s', duration: '30s', profiles: 'heap,async', token: 'sekret', out: join(out, `run${attempt}`), quiet: true }, quietIO, new AbortController().signal);
      const sus = r.analysis.suspects;
      const ctx = `attempt ${attempt}, rates ${inst.rates.join(', ')}/s, ${connections} connections: ${describe(sus)}`;
      for (const s of sus) {
        const step = stepOf(s, ranges, 'examples/node-service/leaks.ts');
        assert.ok(step && planted.includes(step), `suspect outside the planted leaks: ${s.profile}:${s.name}@${s.file}:${s.line} (${ctx})`);
      }
      assert.ok(r.analysis.kinds.find((k) => k.kind === 'heap')!.samples >= 6);
      const missing = planted.filter((p) => !sus.some((s) => stepOf(s, ranges, 'examples/node-service/leaks.ts') === p));
      if (missing.length > 0 && attempt === 1) {
        t.diagnostic(`attempt 1 missed ${missing.join(', ')} (${ctx}); watching again`);
        continue;
      }
      assert.deepEqual(missing, [], `planted leaks not named (${ctx})`);
      // the interval leak shows in the async census, by its callback's location, once the census
      // has enough samples for a verdict
      const asyncKind = r.analysis.kinds.find((k) => k.kind === 'async');
      if (asyncKind && asyncKind.samples >= r.analysis.minSamples) {
        assert.ok(sus.some((s) => s.profile === 'async' && stepOf(s, ranges, 'examples/node-service/leaks.ts') === 'startPolling'), ctx);
      }
      break;
    }
  } finally {
    inst?.stop();
    child.kill('SIGTERM');
    rmSync(out, { recursive: true, force: true });
  }
});

test('Go example service: the planted leaks, the blocked goroutines by their user frame; never handleChurn or the LRU', { timeout: 150000 }, async (t) => {
  const go = spawnSync('go', ['version'], { encoding: 'utf8' });
  if (go.status !== 0) return t.skip('go is not on the PATH: Go example service not tested');
  const work = mkdtempSync(join(tmpdir(), 'leakscope-go-svc-'));
  const cache = join(tmpdir(), 'leakscope-gocache');
  mkdirSync(cache, { recursive: true });
  const bin = join(work, 'goservice');
  const build = spawnSync('go', ['build', '-o', bin, '.'], {
    cwd: join(repoRoot, 'examples', 'go-service'),
    encoding: 'utf8',
    env: { ...process.env, GOCACHE: process.env.GOCACHE ?? cache, GOPATH: process.env.GOPATH ?? join(work, 'gopath'), HOME: process.env.HOME ?? work, GOFLAGS: '-mod=mod' },
    timeout: 60000,
  });
  assert.equal(build.status, 0, `go build failed: ${build.stderr}`);
  const rate = 250 + Math.floor(Math.random() * 250);
  const { child, ready } = await startService(bin, ['-memprofilerate', '8192']);
  let inst: LoadInstance | undefined;
  try {
    inst = load(ready.url!, rate, 8, 20);
    await new Promise((r) => setTimeout(r, 500));
    const ranges = functionRanges(join(repoRoot, 'examples', 'go-service', 'main.go'));
    // As for the Node service: a suspect outside the planted leaks fails at once; a planted leak
    // missed in one 10 s watch (seen once in CI on a loaded machine) gets one more watch.
    for (let attempt = 1; attempt <= 2; attempt++) {
      const r = await runWatch(ready.pprof!, { interval: '1s', duration: '10s', out: join(work, `run${attempt}`), quiet: true }, quietIO, new AbortController().signal);
      const sus = r.analysis.suspects;
      const ctx = `attempt ${attempt}, rate ${rate}/s: ${describe(sus)}`;
      const names = sus.map((s) => `${s.profile}:${s.name}`);
      assert.ok(!names.some((n) => /handleChurn|lruLookup|handleAPI/.test(n)), `false positive (${ctx})`);
      for (const s of sus) {
        // every suspect is a planted leak, or the runtime's goroutine stacks that the goroutine leaks pin
        const step = stepOf(s, ranges, 'go-service/main.go');
        assert.ok(
          (step && ['createSession', 'Get', 'renderProduct', 'subscribeUpdates', 'Subscribe', 'startPolling', 'waitForReload'].includes(step)) || s.name === 'runtime.malg',
          `unexpected suspect ${s.profile}:${s.name}@${s.file}:${s.line} (${ctx})`,
        );
      }
      const missing = ['heap:main.createSession', 'heap:main.subscribeUpdates', 'goroutine:main.startPolling.func1', 'goroutine:main.waitForReload.func1'].filter((w) => !names.includes(w));
      if (!names.includes('heap:main.renderProduct') && !names.includes('heap:main.(*productCache).Get')) missing.push('the cache path');
      if (missing.length > 0 && attempt === 1) {
        t.diagnostic(`attempt 1 missed ${missing.join(', ')} (${ctx}); watching again`);
        continue;
      }
      assert.deepEqual(missing, [], `planted leaks not named (${ctx})`);
      const cs = sus.find((s) => s.name === 'main.createSession')!;
      assert.equal(stepOf(cs, ranges, 'go-service/main.go'), 'createSession');
      break;
    }
  } finally {
    inst?.stop();
    child.kill('SIGTERM');
    rmSync(work, { recursive: true, force: true });
  }
});

test('Node example service: watch --snapshots names each planted leak by its retainer path; never the LRU, the churn or the agent itself', { timeout: 180000 }, async () => {
  const server = join(repoRoot, 'dist', 'examples', 'node-service', 'server.js');
  const { child, ready } = await startService(process.execPath, ['--enable-source-maps', server], { PORT: '0', AGENT_PORT: '0' });
  const out = mkdtempSync(join(tmpdir(), 'leakscope-node-snap-'));
  let inst: LoadInstance | undefined;
  try {
    inst = load(ready.url!, 150, 4, 170);
    await new Promise((r) => setTimeout(r, 1000));
    // heap sampling confirms a site within ~15 s; then three snapshots 5 s apart and the analysis
    const r = await runWatch(ready.agent!, { interval: '2s', duration: '35s', profiles: 'heap', snapshots: true, out: join(out, 'run'), quiet: true }, quietIO, new AbortController().signal);
    const groups = r.meta.snapshotLeaks as LeakGroup[] | undefined;
    assert.ok(groups && groups.length > 0, `no snapshot leak groups (notes: ${(r.meta.notes ?? []).join('; ')})`);
    const paths = groups.map((g) => `${g.className} ×${g.count} [${g.growth.join(' → ')}]: ${g.retainerPath.join(' → ')}${g.location ? ` @${g.location}` : ''}`);
    const ctx = paths.join('\n');
    const leaksTs = join(repoRoot, 'examples', 'node-service', 'leaks.ts');
    const src = readFileSync(leaksTs, 'utf8').split('\n');
    const lineOf = (needle: string) => src.findIndex((l) => l.includes(needle)) + 1;
    // each planted leak is a group, found by its holder
    for (const holder of ['sessions', 'productCache', 'waiters', 'updates', 'timerListMap']) {
      assert.ok(groups.some((g) => g.retainerPath.includes(holder)), `no group held by ${holder}:\n${ctx}`);
    }
    const listener = groups.find((g) => g.retainerPath.includes('updates') && g.className.includes('function'))!;
    assert.equal(listener.location, `${leaksTs}:${lineOf("updates.on('price'")}`, ctx);
    const timer = groups.find((g) => g.className === 'Timeout')!;
    assert.equal(timer.location, `${leaksTs}:${lineOf('setInterval(() => {')}`, ctx);
    for (const g of groups) {
      const p = g.retainerPath.join(' → ');
      assert.ok(!/\blru\b/.test(p), `the bounded LRU is not a leak:\n${ctx}`);
      assert.ok(!/Leakscope|WeakRef/.test(p), `the agent's own objects are not the application's leak:\n${ctx}`);
      for (let k = 1; k < g.growth.length; k++) assert.ok(g.growth[k]! > g.growth[k - 1]!, `every group grows:\n${ctx}`);
    }
    // the run directory keeps the snapshots and the groups for `analyze`
    assert.ok(readFileSync(join(r.meta.runDir!, 'snapshot-leaks.json'), 'utf8').includes('"groups"'));
  } finally {
    inst?.stop();
    child.kill('SIGTERM');
    rmSync(out, { recursive: true, force: true });
  }
});
