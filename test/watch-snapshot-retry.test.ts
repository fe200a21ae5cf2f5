/**
 * `watch --snapshots` meets the agent's snapshot spacing (429 + Retry-After, issue 16): it waits as
 * told and downloads the snapshot, instead of losing the drill-down.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { downloadSnapshot } from '../src/cli/commands/watch.js';

test('a snapshot refused with 429 and Retry-After is fetched again after the wait', async (t) => {
  const times: number[] = [];
  const server = createServer((req, res) => {
    times.push(Date.now());
    if (times.length === 1) {
      res.writeHead(429, { 'retry-after': '1', 'content-type': 'text/plain' });
      res.end('too soon: the next heap snapshot may start in 1 s\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"snapshot":{}}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  const dir = mkdtempSync(join(tmpdir(), 'leakscope-retry-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/debug/pprof/heapsnapshot?gc=1`;
  await downloadSnapshot(url, join(dir, 'snapshot-1.heapsnapshot'), undefined, new AbortController().signal);
  assert.equal(times.length, 2);
  assert.ok(times[1]! - times[0]! >= 1000, `waited ${times[1]! - times[0]!} ms`);
  assert.equal(readFileSync(join(dir, 'snapshot-1.heapsnapshot'), 'utf8'), '{"snapshot":{}}');
  assert.deepEqual(readdirSync(dir), ['snapshot-1.heapsnapshot']);
});
