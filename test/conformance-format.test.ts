/**
 * goFixed and goG (every value and percentage pprof prints goes through Go's %.Nf or %.Ng) against Go's own fmt,
 * run at test time (skipped without go): random magnitudes, memory sizes in kB/MB, and the exact
 * ties where Go rounds half to even and JavaScript's toFixed would not.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasGo, SKIP_NO_GO } from './helpers/tools.js';
import { goFixed, goG } from '../src/core/units.js';

test('goFixed and goG equal Go\'s %.2f, %.1f, %.0f, %.2g, %.3g and %.1g', { skip: hasGo() ? false : SKIP_NO_GO }, () => {
  const xs: number[] = [];
  let seed = 7;
  const r = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (let i = 0; i < 3000; i++) xs.push((r() - 0.3) * 10 ** Math.floor(r() * 12 - 4));
  for (let i = 1; i < 400; i++) xs.push(i / 1e4, (2 * i + 1) / 2e4, (2 * i + 1) / 2 ** 12, 5 * 10 ** -i, 2.5e-5 * i);
  for (let i = 0; i < 1500; i++) xs.push(Math.floor(r() * 1e7) / 1024, Math.floor(r() * 1e6) / 1000, -Math.floor(r() * 1e5) / 1e3, 0.125 * i, -0.125 * i, 0.005 + i, (2 * i + 1) / 200, (2 * i + 1) / 8);
  // (-0 prints as "0" in the input: left out)
  for (let i = xs.length - 1; i >= 0; i--) if (Object.is(xs[i], -0)) xs.splice(i, 1);
  const dir = mkdtempSync(join(tmpdir(), 'leakscope-fmt-'));
  try {
    writeFileSync(
      join(dir, 'main.go'),
      'package main\nimport ("bufio";"fmt";"os";"strconv")\nfunc main(){ s:=bufio.NewScanner(os.Stdin); for s.Scan(){ f,_:=strconv.ParseFloat(s.Text(),64); fmt.Printf("%.2f %.1f %.0f %.2g %.3g %.1g\\n", f, f, f, f, f, f) } }\n',
    );
    const go = spawnSync('go', ['run', join(dir, 'main.go')], { input: xs.map((x) => String(x)).join('\n') + '\n', encoding: 'utf8', env: { ...process.env, GOFLAGS: '-mod=mod', GO111MODULE: 'off' } });
    assert.equal(go.status, 0, go.stderr);
    const want = go.stdout.trim().split('\n');
    assert.equal(want.length, xs.length);
    let ties = 0;
    xs.forEach((x, i) => {
      if (Number.isInteger(x * 8)) ties++;
      assert.equal(`${goFixed(x, 2)} ${goFixed(x, 1)} ${goFixed(x, 0)} ${goG(x, 2)} ${goG(x, 3)} ${goG(x, 1)}`, want[i], `goFixed/goG(${x})`);
    });
    assert.ok(ties > 1000, 'exact ties are among the cases');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
