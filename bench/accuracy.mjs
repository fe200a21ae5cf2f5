#!/usr/bin/env node
// Accuracy on real-framework services (issue 14): each service of examples/real-services/ is started
// on Node 20, 22 and 24 with leakscope's agent, driven with its answer key's request mix at a rate
// that changes at random (autocannon), and watched with
//   leakscope watch <agent> --profiles heap,async --snapshots --interval 2s --duration 60s --json
// whose report carries `snapshot leaks` on the three heap snapshots it took. memlab's `find-leaks`
// (--trace-all-objects) runs on the same snapshots when memlab is installed (LEAKSCOPE_MEMLAB_DIR,
// as .ci/run installs it, or /tmp/leakscope-ci-memlab). Each report is scored against the service's
// answers.json: found / misattributed / missed / false positives (test/helpers/accuracy.ts).
//
// Usage: npm run build && node bench/accuracy.mjs [--services a,b] [--node 20,22,24]
//          [--duration 60s] [--interval 2s] [--rate 100-300] [--connections 8] [--no-memlab]
//          [--verbose] [--json out.json] [--keep]
//        node bench/accuracy.mjs --rescore DIR...   (kept directories of an earlier --keep run:
//          today's engine on their recorded profiles and snapshot groups, through `leakscope
//          snapshot leaks` (its groups rewrite the directory's snapshot-leaks.json) and `leakscope
//          analyze --json`, scored again; no service runs)
// --json writes the scores and what was reported (suspects, groups), for re-scoring.
import { mkdtempSync, rmSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const run = await import(join(root, 'dist/test/helpers/accuracy-run.js'));
const acc = await import(join(root, 'dist/test/helpers/accuracy.js'));

const { values, positionals } = parseArgs({
  options: {
    services: { type: 'string', default: run.SERVICES.join(',') },
    node: { type: 'string', default: '20,22,24' },
    duration: { type: 'string', default: '60s' },
    interval: { type: 'string', default: '2s' },
    rate: { type: 'string', default: '100-300' },
    connections: { type: 'string', default: '8' },
    'no-memlab': { type: 'boolean', default: false },
    verbose: { type: 'boolean', default: false },
    json: { type: 'string' },
    keep: { type: 'boolean', default: false },
    rescore: { type: 'boolean', default: false },
  },
  allowPositionals: true,
});
const [lo, hi] = values.rate.split('-').map(Number);
const memlab = values['no-memlab'] ? undefined : run.memlabBin();
if (!memlab && !values['no-memlab']) process.stderr.write('memlab not found (set LEAKSCOPE_MEMLAB_DIR): its column is left empty\n');

const cell = (s, n) => (s ? `${s.found.length}/${n} · ${s.misattributed.length} · ${s.missed.length} · ${s.falsePositives.length}` : '—');
const rows = [];
const results = [];
if (values.rescore) {
  // leakscope-accuracy-<service>-<node>-XXXXXX/run, as --keep leaves them
  for (const dir of positionals) {
    const m = /leakscope-accuracy-(.+)-(\d+)-[^/]+\/?$/.exec(dir);
    if (!m) throw new Error(`${dir}: not a kept accuracy directory (leakscope-accuracy-<service>-<node>-…)`);
    const [, service, v] = m;
    const key = run.loadAnswerKey(service);
    // the snapshots' groups again with today's finder, as watch saves them
    const snaps = readdirSync(join(dir, 'run')).filter((f) => /^snapshot-\d+\.heapsnapshot$/.test(f)).sort().map((f) => join(dir, 'run', f));
    if (snaps.length >= 3) {
      const sl = spawnSync(process.execPath, [join(root, 'dist/src/cli/main.js'), 'snapshot', 'leaks', ...snaps, '--json', '--quiet'], { encoding: 'utf8', maxBuffer: 256 << 20 });
      if (sl.status !== 0 && sl.status !== 3) throw new Error(`${dir}: snapshot leaks exited ${sl.status}: ${sl.stderr.trim()}`);
      writeFileSync(join(dir, 'run', 'snapshot-leaks.json'), sl.stdout);
    }
    const r = spawnSync(process.execPath, [join(root, 'dist/src/cli/main.js'), 'analyze', join(dir, 'run'), '--json'], { encoding: 'utf8', maxBuffer: 256 << 20 });
    if (r.status !== 0 && r.status !== 3) throw new Error(`${dir}: analyze exited ${r.status}: ${r.stderr.trim()}`);
    const j = JSON.parse(r.stdout);
    const watch = acc.scoreWatch(key, j.suspects ?? []);
    const snapshot = j.snapshotLeaks ? acc.scoreSnapshot(key, j.snapshotLeaks) : undefined;
    const n = key.leaks.length;
    rows.push([service, `Node ${v}`, cell(watch, n), cell(snapshot, n), 'n/a', 'recorded']);
    results.push({ service, node: v, watch, snapshot, reported: { suspects: j.suspects, snapshotGroups: j.snapshotLeaks ?? null } });
    if (values.verbose) process.stderr.write(`${service} on Node ${v} (${dir}):\n${acc.explainScore('watch', watch)}\n${snapshot ? acc.explainScore('snapshot leaks', snapshot) : 'snapshot leaks: none recorded'}\n`);
  }
}
for (const service of values.rescore ? [] : values.services.split(',')) {
  const key = run.loadAnswerKey(service);
  const problems = acc.checkAnswerKey(key, run.readRepoFile);
  if (problems.length) throw new Error(`${service}: answer key out of step with its source: ${problems.join('; ')}`);
  for (const v of values.node.split(',')) {
    const bin = run.NODE_BINARIES[v];
    if (!bin || !existsSync(bin)) {
      process.stderr.write(`Node ${v}: no binary (${bin}); skipped\n`);
      continue;
    }
    const work = mkdtempSync(join(tmpdir(), `leakscope-accuracy-${service}-${v}-`));
    process.stderr.write(`${service} on Node ${v}: watching for ${values.duration}…\n`);
    const svc = await run.startService(bin, key);
    const load = run.varyingLoad(svc.url, key.load, lo, hi, Number(values.connections));
    let w;
    try {
      await new Promise((r) => setTimeout(r, 1000));
      w = await run.runWatchCli(svc.agent, join(work, 'run'), { interval: values.interval, duration: values.duration });
    } finally {
      load.stop();
      await svc.stop();
    }
    const watch = acc.scoreWatch(key, w.suspects);
    const snapshot = w.snapshotGroups ? acc.scoreSnapshot(key, w.snapshotGroups) : undefined;
    let ml;
    if (memlab && w.snapshots.length >= 3) {
      const r = await run.runMemlab(memlab, w.snapshots, join(work, 'memlab'));
      ml = r.code === 0 ? acc.scoreSnapshot(key, acc.parseMemlabTraces(r.output), { requireLocation: false }) : undefined;
      if (r.code !== 0) process.stderr.write(`memlab failed (${r.code}): ${r.output.trim().split('\n').slice(-2).join(' | ')}\n`);
    }
    const n = key.leaks.length;
    rows.push([service, `Node ${v}`, cell(watch, n), cell(snapshot, n), memlab ? cell(ml, n) : 'n/a', load.rates.length ? `${Math.min(...load.rates)}–${Math.max(...load.rates)}` : '']);
    results.push({ service, node: v, rates: load.rates, watch, snapshot, memlab: ml, notes: w.notes, reported: { suspects: w.suspects, snapshotGroups: w.snapshotGroups ?? null } });
    if (values.verbose) {
      process.stderr.write(`${acc.explainScore('watch', watch)}\n${snapshot ? acc.explainScore('snapshot leaks', snapshot) : 'snapshot leaks: no snapshots taken'}\n${ml ? acc.explainScore('memlab find-leaks (owner only)', ml) : ''}\n`);
      if (w.notes.length) process.stderr.write(`notes: ${w.notes.join('; ')}\n`);
    }
    if (values.keep) process.stderr.write(`kept ${work}\n`);
    else rmSync(work, { recursive: true, force: true });
  }
}

const header = ['service', 'node', 'watch', 'snapshot leaks', 'memlab find-leaks', 'req/s'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (r) => `| ${r.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
console.log('cells: found/planted · misattributed · missed · false positives');
console.log(line(header));
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const r of rows) console.log(line(r));
if (values.json) writeFileSync(values.json, JSON.stringify(results, null, 2));
