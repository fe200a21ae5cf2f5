import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, readdirSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { runWatch, pprofBase, parseDuration, writeReport, pollEvery, snapshotSpacingMs } from '../src/cli/commands/watch.js';
import { main } from '../src/cli/main.js';
import { parseProfileBytes } from '../src/node/source.js';
import type { CliIO } from '../src/cli/io.js';
import type { IndexEntry } from '../src/node/run-dir.js';
import { renderLiveView, renderLeakMarkdown, sparkline, formatValue } from '../src/report/watch.js';
import { cliPath, fixturesDir, hasFixtures, SKIP_NO_FIXTURES } from './helpers/paths.js';

const profilesDir = join(fixturesDir, 'go', 'leakysvc', 'profiles');

/** A pprof server that answers the k-th request for a profile with script[k] (a phase, or 'fail'). */
async function fakePprof(script: (number | 'fail')[], opts: { onEnd?: () => void; hold?: boolean } = {}): Promise<{ server: Server; base: string; served: Record<string, number> }> {
  const served: Record<string, number> = { heap: 0, goroutine: 0 };
  const server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    const m = /^\/debug\/pprof\/(heap|goroutine)$/.exec(u.pathname);
    if (!m) {
      res.writeHead(404).end('no such profile\n');
      return;
    }
    const kind = m[1]!;
    if (kind === 'heap') assert.equal(u.searchParams.get('gc'), '1', 'heap is fetched with gc=1');
    const k = served[kind]!++;
    const step = k < script.length ? script[k]! : opts.hold ? script[script.length - 1]! : 'fail';
    if (kind === 'heap' && k === script.length - 1) setTimeout(() => opts.onEnd?.(), 50);
    if (step === 'fail') {
      res.writeHead(503).end('restarting\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    res.end(readFileSync(join(profilesDir, `${kind}.${step}.pb.gz`)));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, served };
}

function captureIO(isTTY = false): CliIO & { out: string; err: string } {
  const io = {
    out: '',
    err: '',
    isTTY,
    stdout: (s: string) => {
      io.out += s;
    },
    stderr: (s: string) => {
      io.err += s;
    },
  };
  return io;
}

test('url and duration parsing', () => {
  assert.equal(pprofBase('http://h:6060'), 'http://h:6060/debug/pprof');
  assert.equal(pprofBase('http://h:6060/debug/pprof/'), 'http://h:6060/debug/pprof');
  assert.equal(pprofBase('h:6060'), 'http://h:6060/debug/pprof');
  assert.equal(parseDuration('10s', 'x'), 10000);
  assert.equal(parseDuration('250ms', 'x'), 250);
  assert.equal(parseDuration('2m', 'x'), 120000);
  assert.equal(parseDuration('3', 'x'), 3000);
  assert.throws(() => parseDuration('soon', 'x'), /duration/);
  // slow profiles (the agent's async census) are spaced out; quick ones never are
  assert.equal(pollEvery(300, 120), 1);
  assert.equal(pollEvery(1300, 5000), 1);
  assert.equal(pollEvery(2100, 3000), 3);
  assert.equal(pollEvery(4000, 5000), 3);
});

test('--snapshots: the four snapshots are spread over three quarters of what is left of the run', () => {
  // the accuracy suite's 60 s runs confirm a site 10–20 s in: 10–12.5 s apart instead of 5
  assert.equal(snapshotSpacingMs(50_000), 12_500);
  assert.equal(snapshotSpacingMs(40_000), 10_000);
  // never closer than 5 s, never further than a minute; no --duration: 5 s
  assert.equal(snapshotSpacingMs(8_000), 5_000);
  assert.equal(snapshotSpacingMs(-3_000), 5_000);
  assert.equal(snapshotSpacingMs(3_600_000), 60_000);
  assert.equal(snapshotSpacingMs(undefined), 5_000);
});

test('watch: polls, saves atomically, marks the gap, recognises the restart, reports', async (t) => {
  if (!hasFixtures) return t.skip(SKIP_NO_FIXTURES);
  const ctrl = new AbortController();
  // five phases, the target goes away for two polls, then a restarted process (phase 1, 2)
  const fake = await fakePprof([1, 2, 3, 4, 5, 'fail', 'fail', 1, 2], { onEnd: () => ctrl.abort() });
  const out = mkdtempSync(join(tmpdir(), 'leakscope-watch-'));
  try {
    const io = captureIO(false);
    const r = await runWatch(fake.base, { interval: '120ms', out: join(out, 'run') }, io, ctrl.signal);
    const dir = join(out, 'run');
    const files = readdirSync(dir).sort();
    assert.ok(!files.some((f) => f.includes('.tmp')), `no temp files left: ${files.join(' ')}`);
    const heapFiles = files.filter((f) => /^heap-\d{4}\.pb\.gz$/.test(f));
    assert.deepEqual(heapFiles, ['heap-0001.pb.gz', 'heap-0002.pb.gz', 'heap-0003.pb.gz', 'heap-0004.pb.gz', 'heap-0005.pb.gz', 'heap-0006.pb.gz', 'heap-0007.pb.gz']);
    // each saved file is exactly what was served (gzip'd profile.proto, opens in go tool pprof)
    assert.deepEqual(readFileSync(join(dir, 'heap-0003.pb.gz')), readFileSync(join(profilesDir, 'heap.3.pb.gz')));
    assert.equal(parseProfileBytes(readFileSync(join(dir, 'goroutine-0007.pb.gz')), 'g').sampleTypes[0]!.type, 'goroutine');
    const index = readFileSync(join(dir, 'index.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as IndexEntry);
    const gaps = index.filter((e) => e.gap);
    assert.equal(gaps.length, 4, 'two failed polls × two profiles');
    assert.match(gaps[0]!.error!, /503/);
    const restart = index.find((e) => e.restart);
    assert.ok(restart, 'the restart is marked');
    assert.equal(restart.file, 'heap-0006.pb.gz');
    assert.equal(restart.segment, 1);
    const first = index.find((e) => e.file === 'heap-0001.pb.gz')!;
    assert.equal(first.totals!.inuse_space, 58363003);
    assert.equal(first.segment, 0);
    assert.equal(typeof first.timeMs, 'number');
    assert.ok(JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')).url.endsWith('/debug/pprof'));
    // the restarted segment has 2 samples: the longest (first) segment is analyzed
    const names = r.analysis.suspects.map((s) => `${s.profile}:${s.name}`);
    assert.ok(names.includes('heap:main.createSession') && names.includes('goroutine:main.notifyUpstream.func1'), names.join(', '));
    assert.equal(r.meta.gaps, 4);
    assert.equal(r.meta.samples, 7);
    assert.ok(r.meta.notes!.some((n) => /Ctrl-C/.test(n)));
    assert.match(io.err, /sample 1: heap/, 'plain log lines when not a TTY');
    assert.match(io.err, /target unreachable/);
    assert.match(io.err, /restarted/);
    const text = captureIO();
    assert.equal(writeReport(text, r, {}), 0);
    assert.match(text.out, /1 restart: (cumulative-drop|time-reversed)/);
    assert.match(text.out, /main\.createSession {2}at example\.com\/leakysvc\/main\.go:36/);
    assert.equal(writeReport(captureIO(), r, { 'fail-on-leak': true }), 3);

    // analyze gives the same report offline
    const off = captureIO();
    const code = await main(['analyze', '--json', dir], off);
    assert.equal(code, 0);
    const j = JSON.parse(off.out);
    const live = captureIO();
    writeReport(live, r, { json: true });
    const lj = JSON.parse(live.out);
    assert.deepEqual(j.suspects, lj.suspects);
    assert.equal(j.runDir, dir);
    assert.equal(j.gaps, 4);
  } finally {
    fake.server.close();
    rmSync(out, { recursive: true, force: true });
  }
});

test('watch CLI: --json contract and --fail-on-leak exit 3; Ctrl-C reports what was collected', async (t) => {
  if (!hasFixtures) return t.skip(SKIP_NO_FIXTURES);
  // five phases, then the target is gone (a plateau of repeated phase 5 would rightly be no leak)
  const fake = await fakePprof([1, 2, 3, 4, 5]);
  const out = mkdtempSync(join(tmpdir(), 'leakscope-watch-cli-'));
  const runCli = (args: string[], sigintAfterMs?: number) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [cliPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      const kill = setTimeout(() => child.kill('SIGKILL'), 20000);
      if (sigintAfterMs !== undefined) setTimeout(() => child.kill('SIGINT'), sigintAfterMs);
      child.on('exit', (code) => {
        clearTimeout(kill);
        resolve({ code, stdout, stderr });
      });
    });
  try {
    const r = await runCli(['watch', fake.base, '--interval', '150ms', '--duration', '1500ms', '--json', '--fail-on-leak', '--out', join(out, 'a')]);
    assert.equal(r.code, 3, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.target, `${fake.base}/debug/pprof`);
    assert.equal(j.samples, 5);
    assert.ok(j.gaps >= 1);
    assert.equal(j.runDir, join(out, 'a'));
    assert.ok(Array.isArray(j.suspects) && j.suspects.length >= 3);
    const cs = j.suspects.find((s: { name: string }) => s.name === 'main.createSession');
    assert.deepEqual(Object.keys(cs).slice(0, 8), ['profile', 'name', 'file', 'line', 'stack', 'growthPerMinute', 'unit', 'confidence']);
    assert.equal(cs.profile, 'heap');
    assert.equal(cs.unit, 'bytes');
    assert.equal(cs.line, 36);
    assert.ok(!('snapshotLeaks' in j), 'snapshotLeaks only when --snapshots ran');

    fake.served.heap = 0;
    fake.served.goroutine = 0;
    const s = await runCli(['watch', fake.base, '--interval', '150ms', '--out', join(out, 'b')], 1500);
    assert.equal(s.code, 0, s.stderr);
    assert.match(s.stdout, /stopped by Ctrl-C/);
    assert.match(s.stdout, /leak suspect/);
    assert.ok(existsSync(join(out, 'b', 'heap-0001.pb.gz')));

    const bad = await runCli(['watch', 'http://127.0.0.1:1', '--interval', '100ms', '--duration', '300ms', '--out', join(out, 'c'), '-q']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^leakscope watch: no profile could be fetched/m);
    assert.doesNotMatch(bad.stderr, /\n\s+at /, 'no stack trace');
    const usage = await runCli(['watch', fake.base, '--sensitivity', 'extreme']);
    assert.equal(usage.code, 2);
  } finally {
    fake.server.close();
    rmSync(out, { recursive: true, force: true });
  }
});

test('renderers: sparkline, values, live view and markdown are plain strings', async (t) => {
  assert.equal(sparkline([1, 2, 3, 4, 5, 6, 7, 8]), '▁▂▃▄▅▆▇█');
  assert.equal(sparkline([5, 5, 5]), '▁▁▁');
  assert.equal(sparkline(Array.from({ length: 100 }, (_, i) => i), 10).length, 10);
  assert.equal(formatValue(1536, 'bytes'), '1.50kB');
  assert.equal(formatValue(1024 * 1024, 'bytes'), '1MB');
  assert.equal(formatValue(25000, 'count'), '25k');
  assert.equal(formatValue(12, 'count'), '12');
  if (!hasFixtures) return t.skip(SKIP_NO_FIXTURES);
  const io = captureIO();
  await main(['analyze', '--markdown', profilesDir], io);
  assert.match(io.out, /^### leakscope: \d+ leak suspects/);
  assert.match(io.out, /\| \d+ \| heap \| `main\.createSession` \| `example\.com\/leakysvc\/main\.go:36` \|/);
  const { loadRun } = await import('../src/node/run-dir.js');
  const { analyzeLeaks } = await import('../src/core/leak/analyze.js');
  const a = analyzeLeaks((await loadRun([profilesDir])).observations);
  const view = renderLiveView({ target: 'http://x/debug/pprof', runDir: '/tmp/r', elapsedMs: 65000, durationMs: 120000, samples: 5, gaps: 1, analysis: a, columns: 100 });
  assert.match(view, /elapsed 1m05s \/ 2m00s {3}samples 5 {3}failed polls 1/);
  assert.match(view, /Growing fastest:/);
  assert.match(view, /Suspects:\n {2}goroutine main\.notifyUpstream\.func1 at example\.com\/leakysvc\/main\.go:77/);
  for (const line of view.split('\n')) assert.ok([...line].length <= 100, `line too wide: ${line}`);
  assert.equal(renderLeakMarkdown(a, { target: 't', samples: 5, durationMs: 0, gaps: 0 }), renderLeakMarkdown(a, { target: 't', samples: 5, durationMs: 0, gaps: 0 }));
});

test('analyze: a run directory with snapshot-leaks.json reports the leaking classes (text, JSON, markdown)', async (t) => {
  if (!hasFixtures) return t.skip(SKIP_NO_FIXTURES);
  const { RunDir } = await import('../src/node/run-dir.js');
  const { writeFileSync } = await import('node:fs');
  const out = mkdtempSync(join(tmpdir(), 'leakscope-analyze-snap-'));
  try {
    const run = await RunDir.create(join(out, 'run'), { target: 'http://127.0.0.1:1/debug/pprof', url: 'http://127.0.0.1:1/debug/pprof', startedAt: '2026-11-28T00:00:00.000Z', intervalMs: 10000, profiles: ['heap'], tool: 'test' });
    for (let i = 1; i <= 5; i++) {
      const file = await run.saveProfile('heap', readFileSync(join(profilesDir, `heap.${i}.pb.gz`)));
      const timeMs = Date.UTC(2026, 10, 28, 0, 0, i * 10);
      await run.append({ seq: i, time: new Date(timeMs).toISOString(), timeMs, profile: 'heap', file, segment: 0 });
    }
    const group = {
      className: 'Session',
      count: 905,
      retainedSize: 777730,
      growth: [1950, 2855, 3611],
      retainerPath: ['(module scope)', 'sessions', 'Map', 'Session'],
      location: '/srv/app/leaks.js:36',
      representativeId: 12345,
    };
    writeFileSync(join(run.dir, 'snapshot-leaks.json'), JSON.stringify({ snapshots: 3, leakedObjects: 905, groups: [group] }));
    const j = captureIO();
    assert.equal(await main(['analyze', '--json', run.dir], j), 0);
    const parsed = JSON.parse(j.out);
    assert.deepEqual(parsed.snapshotLeaks, [group]);
    assert.equal(parsed.samples, 5);
    assert.equal(parsed.durationMs, 40000);
    assert.ok(parsed.suspects.some((s: { name: string }) => s.name === 'main.createSession'));
    const txt = captureIO();
    await main(['analyze', run.dir], txt);
    assert.match(txt.out, /Session ×905 \(1950 → 2855 → 3611\), retained 759\.50kB at \/srv\/app\/leaks\.js:36\n {6}retained by: \(module scope\) → sessions → Map → Session/);
    const md = captureIO();
    await main(['analyze', '--markdown', run.dir], md);
    assert.match(md.out, /\| `Session` \| 905 \| 1950 → 2855 → 3611 \| 759\.50kB \| \/srv\/app\/leaks\.js:36 \| \(module scope\) → sessions → Map → Session \|/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('watch on a terminal: the live view redraws in place; the report follows', async (t) => {
  if (!hasFixtures) return t.skip(SKIP_NO_FIXTURES);
  const fake = await fakePprof([1, 2, 3, 4, 5]);
  const out = mkdtempSync(join(tmpdir(), 'leakscope-watch-tty-'));
  try {
    const io = captureIO(true);
    const r = await runWatch(fake.base, { interval: '150ms', duration: '1200ms', out: join(out, 'run') }, io, new AbortController().signal);
    assert.ok(io.out.startsWith('\x1b[2J'), 'clears the screen first');
    const frames = io.out.split('\x1b[H\x1b[J');
    assert.ok(frames.length >= 6, `${frames.length} frames`);
    assert.ok(frames.some((f) => /Suspects:\n {2}goroutine main\.notifyUpstream\.func1/.test(f)), 'suspects appear while it runs');
    assert.ok(frames.some((f) => /heap +\d+(\.\d+)?MB {2}[▁▂▃▄▅▆▇█]+/.test(f)), 'heap total sparkline');
    assert.equal(io.err, '', 'no log lines on a terminal');
    assert.equal(frames[frames.length - 1], '', 'the view is cleared before the report');
    assert.ok(r.analysis.suspects.length >= 3);
  } finally {
    fake.server.close();
    rmSync(out, { recursive: true, force: true });
  }
});
