#!/usr/bin/env node
// Runs every compiled test file (dist/test/**/*.test.js) with node's test runner.
// Usage: node scripts/run-tests.mjs [filter-substring]
// The files run two at a time, except test/real-services.test.ts, which runs after them, alone.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}
const filter = process.argv[2];
const files = walk('dist/test').filter((f) => !filter || f.includes(filter)).sort();
if (files.length === 0) {
  console.error('no test files found under dist/test (did the build run?)');
  process.exit(1);
}
// The real-service accuracy runs (a service under randomized load, watched for a minute on each
// Node version, then scored with no retry) run last and alone: on a 2-core machine another test
// file beside them takes the CPU their polls and snapshots are timed against.
const alone = (f) => /[\\/]real-services\.test\.js$/.test(f);
const first = files.filter((f) => !alone(f));
const last = files.filter(alone);
let status = 0;
if (first.length > 0) status = spawnSync(process.execPath, ['--test', '--test-reporter=spec', '--test-concurrency=2', ...first], { stdio: 'inherit' }).status ?? 1;
if (last.length > 0) {
  const r = spawnSync(process.execPath, ['--test', '--test-reporter=spec', '--test-concurrency=1', ...last], { stdio: 'inherit' });
  if (status === 0) status = r.status ?? 1;
}
process.exit(status);
