/**
 * A pause is not a restart (issue 14, item 7: recall of `watch`): with `--snapshots` the service
 * stops for seconds while each heap snapshot is written, polls fail, and the small async census
 * (a dozen resources) may come back at half its count. In the accuracy suite that one drop after
 * the gap started a new segment for every profile, and the heap verdict was taken on the 6 samples
 * before the pause: "No leak" on a service leaking 15 MB/min. A total that fell by half after a
 * gap is a restart only when every profile polled in that round says so.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { runWatch } from '../src/cli/commands/watch.js';
import type { CliIO } from '../src/cli/io.js';
import type { IndexEntry } from '../src/node/run-dir.js';
import { parseProfileBytes } from '../src/node/source.js';
import { encodeProfile } from '../src/formats/pprof.js';
import { fixturesDir, hasFixtures, SKIP_NO_FIXTURES } from './helpers/paths.js';

const profilesDir = join(fixturesDir, 'go', 'leakysvc', 'profiles');

/** serves heap and goroutine profiles of the leakysvc fixture, each kind by its own script */
async function server(scripts: Record<'heap' | 'goroutine', (number | 'fail')[]>, onEnd: () => void) {
  const served = { heap: 0, goroutine: 0 };
  const s = createServer((req, res) => {
    const m = /^\/debug\/pprof\/(heap|goroutine)$/.exec(new URL(req.url ?? '/', 'http://x').pathname);
    if (!m) return void res.writeHead(404).end();
    const kind = m[1] as 'heap' | 'goroutine';
    const k = served[kind]++;
    const step = scripts[kind][k] ?? scripts[kind].at(-1)!;
    if (kind === 'heap' && k === scripts.heap.length - 1) setTimeout(onEnd, 50);
    if (step === 'fail') return void res.writeHead(503).end('paused\n');
    // the fixture's profile, stamped with the time it is served (time never goes backwards)
    const prof = parseProfileBytes(readFileSync(join(profilesDir, `${kind}.${step}.pb.gz`)), kind);
    prof.timeNanos = BigInt(Date.now()) * 1_000_000n;
    res.writeHead(200).end(encodeProfile(prof));
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return { s, base: `http://127.0.0.1:${(s.address() as AddressInfo).port}` };
}

const quietIO = (): CliIO => ({ isTTY: false, stdout: () => {}, stderr: () => {} });

test('a gap after which only the goroutine count halved is a pause, not a restart: one segment', async (t) => {
  if (!hasFixtures) return t.skip(SKIP_NO_FIXTURES);
  const ctrl = new AbortController();
  // heap keeps growing across the gap; the goroutine count falls from 25000 to 5000 after it
  const { s, base } = await server({ heap: [1, 2, 3, 'fail', 'fail', 4, 5, 5], goroutine: [3, 4, 5, 'fail', 'fail', 1, 1, 1] }, () => ctrl.abort());
  const out = mkdtempSync(join(tmpdir(), 'leakscope-watch-gaps-'));
  try {
    const r = await runWatch(base, { interval: '100ms', out: join(out, 'run') }, quietIO(), ctrl.signal);
    const index = readFileSync(join(out, 'run', 'index.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as IndexEntry);
    assert.ok(index.some((e) => e.gap), 'the pause is marked as a gap');
    assert.ok(!index.some((e) => e.restart), JSON.stringify(index.filter((e) => e.restart)));
    assert.ok(index.every((e) => e.segment === 0));
    const heap = r.analysis.kinds.find((k) => k.kind === 'heap')!;
    assert.equal(heap.segments.length, 1);
    assert.equal(heap.times.length, 6, 'every heap sample is analyzed');
  } finally {
    s.close();
    rmSync(out, { recursive: true, force: true });
  }
});

test('a gap after which every profile fell by half is still a restart', async (t) => {
  if (!hasFixtures) return t.skip(SKIP_NO_FIXTURES);
  const ctrl = new AbortController();
  const { s, base } = await server({ heap: [3, 4, 5, 'fail', 'fail', 1, 2, 2], goroutine: [3, 4, 5, 'fail', 'fail', 1, 1, 1] }, () => ctrl.abort());
  const out = mkdtempSync(join(tmpdir(), 'leakscope-watch-gaps-'));
  try {
    await runWatch(base, { interval: '100ms', out: join(out, 'run') }, quietIO(), ctrl.signal);
    const index = readFileSync(join(out, 'run', 'index.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as IndexEntry);
    assert.ok(index.some((e) => e.restart), 'restart marked');
  } finally {
    s.close();
    rmSync(out, { recursive: true, force: true });
  }
});
