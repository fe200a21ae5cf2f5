#!/usr/bin/env node
// Peak memory of `leakscope top` and `leakscope peek .` against `go tool pprof -top` and
// `-peek=.` on small and medium profiles: the project's own (testdata/profiles) and, when present,
// ../shared/fixtures (google/pprof's test data, 12k–41k samples). Runs alternate between the two
// tools; each cell is the median of BENCH_RUNS (default 5) peak RSS values (GNU time's %M) and the
// median wall time. pprof is Go's tool binary ($(go env GOTOOLDIR)/pprof) run directly.
// Needs dist/ (npm run build), go and /usr/bin/time.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(root, 'dist', 'src', 'cli', 'main.js');
if (!existsSync(cli)) {
  console.error('bench/pprof-memory.mjs: dist/ is missing; run `npm run build` first');
  process.exit(1);
}
if (spawnSync('/usr/bin/time', ['-f', '%M', 'true']).status !== 0) {
  console.error('bench/pprof-memory.mjs: needs GNU time at /usr/bin/time (Debian package time)');
  process.exit(1);
}
const goTool = spawnSync('go', ['env', 'GOTOOLDIR'], { encoding: 'utf8' });
if (goTool.status !== 0) {
  console.error('bench/pprof-memory.mjs: needs go on PATH (the pprof to compare with)');
  process.exit(1);
}
const pprof = path.join(goTool.stdout.trim(), 'pprof');
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const env = { ...process.env, TZ: 'UTC', PPROF_BINARY_PATH: '/nonexistent', PPROF_TMPDIR: '/tmp' };

const fixtures = path.resolve(root, '..', 'shared', 'fixtures', 'peers', 'pprof', 'profiles');
const profiles = [
  ['small', 'testdata heap.pb.gz (41 samples)', path.join(root, 'testdata', 'profiles', 'heap.pb.gz')],
  ['small', 'testdata cpu.pb.gz (152 samples)', path.join(root, 'testdata', 'profiles', 'cpu.pb.gz')],
  ['medium', 'pprof testdata heap (11,951 samples)', path.join(fixtures, 'pprof.testdata.heap')],
  ['medium', 'heap_go_truncated_2 (15,456 samples)', path.join(fixtures, 'pprof.testdata.gotruncatefix.heap_go_truncated_2.pb.gz')],
  ['medium', 'heap_go_truncated_3 (41,347 samples)', path.join(fixtures, 'pprof.testdata.gotruncatefix.heap_go_truncated_3.pb.gz')],
].filter(([, , f]) => existsSync(f));

function once(argv) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '__rss %M', ...argv], { env, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stderr.split('\n')[0]}`);
  return { ms, mb: Number(/__rss (\d+)/.exec(r.stderr)[1]) / 1024 };
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');
console.log(`${new Date().toISOString()} ${cpus()[0]?.model ?? '?'} × ${cpus().length}, ${process.version}, load average ${load()}`);
console.log(`${RUNS} alternating runs each; medians of peak RSS (MB) and wall time (ms)\n`);
console.log('| size | profile | command | leakscope RSS | pprof RSS | RSS ratio | leakscope wall | pprof wall |');
console.log('|---|---|---|---|---|---|---|---|');
for (const [size, label, file] of profiles) {
  for (const [ours, theirs, name] of [
    [['top', file], ['-top', file], 'top'],
    [['peek', '.', file], ['-peek=.', file], 'peek .'],
  ]) {
    const a = [];
    const b = [];
    for (let i = 0; i < RUNS; i++) {
      a.push(once([process.execPath, cli, ...ours]));
      b.push(once([pprof, ...theirs]));
    }
    const ra = median(a.map((x) => x.mb));
    const rb = median(b.map((x) => x.mb));
    console.log(
      `| ${size} | ${label} | \`${name}\` | ${ra.toFixed(0)} | ${rb.toFixed(0)} | ${(ra / rb).toFixed(2)} | ${median(a.map((x) => x.ms)).toFixed(0)} | ${median(b.map((x) => x.ms)).toFixed(0)} |`,
    );
  }
}
const base = median(Array.from({ length: RUNS }, () => once([process.execPath, '-e', '0']).mb));
console.log(`\nbaseline: \`node -e 0\` peaks at ${base.toFixed(0)} MB on this machine (${process.version}).`);
console.log(`${new Date().toISOString()} load average ${load()}`);
