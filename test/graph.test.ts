/** `leakscope graph`: pprof's -dot output, node for node, on real profiles; svg through graphviz. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliPath, fixturesDir, hasFixtures, SKIP_NO_FIXTURES } from './helpers/paths.js';
import { goPprof, hasGo, SKIP_NO_GO } from './helpers/tools.js';
import { dotColor, shortenFunctionName } from '../src/report/callgraph.js';

function cli(args: string[], env: NodeJS.ProcessEnv = process.env) {
  return spawnSync(process.execPath, [cliPath, ...args], { encoding: 'utf8', env, maxBuffer: 64 * 1024 * 1024 });
}

/** What we compare: pprof's lines without its tag nodelets (not drawn by leakscope), without
 * minlen (set only for nodes with nodelets) and our extra style="dashed" on inline edges. */
function normal(dot: string): string[] {
  return dot
    .split('\n')
    .filter((l) => !/^N\w*_\d+ |-> N\w*_\d+ /.test(l) && !/^NN/.test(l))
    .map((l) => l.replace(' minlen=2', '').replace(' style="dashed"', ''));
}

test('pprof name shortening and colours', () => {
  assert.equal(shortenFunctionName('github.com/foo/bar/v2.(*T).Get'), 'bar.(*T).Get');
  assert.equal(shortenFunctionName('main.main.func2'), 'main.main.func2');
  assert.equal(shortenFunctionName('com.example.Foo.bar(int)'), 'Foo.bar');
  assert.equal(dotColor(0.95, false), '#b20200');
  assert.equal(dotColor(0, true), '#ededed');
});

const skip = !hasFixtures ? SKIP_NO_FIXTURES : !hasGo() ? SKIP_NO_GO : false;

test('graph --format dot equals go tool pprof -dot on profiles without labels', { skip }, () => {
  const cases: string[][] = [
    ['go/leakysvc/profiles/goroutine.5.pb.gz'],
    ['-lines', 'go/leakysvc/profiles/goroutine.5.pb.gz'],
    ['peers/pprof/profiles/og.convert.pprof.testdata.cpu.pb.gz'],
    ['peers/pprof/profiles/pprof.testdata.profile_java'], // 112 nodes: the top 80 by entropy, dropped edges
    ['-nodecount=10', 'peers/pprof/profiles/og.convert.pprof.testdata.cpu-js.pb.gz'],
  ];
  for (const c of cases) {
    const args = [...c.slice(0, -1), join(fixturesDir, c[c.length - 1]!)];
    const want = normal(goPprof(['-dot', ...args]));
    const r = cli(['graph', ...args]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(normal(r.stdout), want, c.join(' '));
  }
});

test('on a heap profile with size labels the nodes, their numbers and the edges agree with pprof', { skip }, () => {
  const f = join(fixturesDir, 'go/leakysvc/profiles/heap.5.pb.gz');
  for (const si of ['inuse_space', 'alloc_objects']) {
    const want = normal(goPprof(['-dot', `-sample_index=${si}`, f]));
    const r = cli(['graph', `--sample-index=${si}`, f]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(normal(r.stdout), want, si);
    // and the labels carry what a user reads: createSession's flat and cum
    if (si === 'inuse_space') assert.match(r.stdout, /label="main\\ncreateSession\\n216\.36MB \(74\.49%\)\\nof 217\.86MB \(75\.00%\)"/);
  }
  // inlined calls are drawn dashed
  const r = cli(['graph', f]);
  assert.match(r.stdout, /N\d+ -> N\d+ \[label=" [^"]*\\n \(inline\)"[^\]]*style="dashed"\]/);
});

const hasDot = spawnSync('dot', ['-V'], { encoding: 'utf8' }).status === 0;

test('graph --format svg runs graphviz; without dot on PATH one clear line', { skip: hasFixtures ? false : SKIP_NO_FIXTURES }, (t) => {
  const f = join(fixturesDir, 'go/leakysvc/profiles/heap.5.pb.gz');
  if (hasDot) {
    const r = cli(['graph', '--format', 'svg', f]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /<svg[\s\S]*createSession[\s\S]*<\/svg>/);
  } else t.diagnostic("graphviz's dot is not installed: svg rendering not checked (CI installs graphviz)");
  const empty = mkdtempSync(join(tmpdir(), 'leakscope-nodot-'));
  t.after(() => rmSync(empty, { recursive: true, force: true }));
  const r = cli(['graph', '--format', 'svg', f], { ...process.env, PATH: empty });
  assert.equal(r.status, 1);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr.trim().split('\n').length, 1);
  assert.match(r.stderr, /leakscope graph: --format svg needs graphviz's dot on PATH/);
  const u = cli(['graph', '--format', 'png', f]);
  assert.equal(u.status, 2);
  assert.match(u.stderr, /--format must be dot or svg/);
});
