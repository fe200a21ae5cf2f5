/**
 * The CI recipe of README's "Catch leaks in CI": docs/ci/soak.sh on two checkouts of a small
 * service — the base, and a pull request that made its route 100 ms slower. The script builds both
 * (npm ci, npm run build), soaks the pull request against the base side by side (--against,
 * rounds alternating), and exits 4 with report.md (the PR comment), junit.xml, figures.json and
 * both run directories in OUT_DIR.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { cliPath, repoRoot } from './helpers/paths.js';

function service(dir: string, delayMs: number): void {
  mkdirSync(dir, { recursive: true });
  const pkg = { name: 'svc', version: '1.0.0', private: true, scripts: { build: 'node -e "0"' } };
  writeFileSync(join(dir, 'package.json'), JSON.stringify(pkg));
  writeFileSync(join(dir, 'package-lock.json'), JSON.stringify({ name: 'svc', version: '1.0.0', lockfileVersion: 3, requires: true, packages: { '': { name: 'svc', version: '1.0.0' } } }));
  writeFileSync(
    join(dir, 'server.mjs'),
    `import http from 'node:http';\nhttp.createServer((q, r) => setTimeout(() => r.end('ok'), ${delayMs})).listen(Number(process.env.PORT), '127.0.0.1');\n`,
  );
}

test('docs/ci/soak.sh: a pull request that made a route slower fails with exit 4 and a report', { timeout: 120_000 }, async () => {
  const work = mkdtempSync(join(tmpdir(), 'leakscope-soak-ci-'));
  try {
    service(join(work, 'base'), 0);
    service(join(work, 'pr'), 100);
    const out = join(work, 'out');
    const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn('bash', [join(repoRoot, 'docs/ci/soak.sh'), join(work, 'base'), join(work, 'pr'), out], {
        env: {
          ...process.env,
          LEAKSCOPE: `${process.execPath} ${cliPath}`,
          SOAK_CMD: 'node server.mjs',
          SOAK_RATE: '100',
          SOAK_CONNECTIONS: '100',
          SOAK_DURATION: '6s',
          SOAK_WARMUP: '1s',
          SOAK_ROUNDS: '6',
          npm_config_offline: 'true',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d));
      child.stderr.on('data', (d: Buffer) => (stderr += d));
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
    assert.equal(r.code, 4, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /soak\.sh: leakscope soak exited 4 \(0 pass, 3 leak suspect, 4 regression\)/);
    const md = readFileSync(join(out, 'report.md'), 'utf8');
    // 100 ms more per request: p99, rps (the connections wait longer) or both — after Holm over four
    // metrics a loaded machine's rounds do not always carry both
    assert.match(md, /^### ❌ leakscope soak: REGRESSION against the baseline \[(p99|rps) \+/);
    assert.match(readFileSync(join(out, 'junit.xml'), 'utf8'), /name="(p99 within 10%|rps within 5%) of the baseline" time="0"><failure /);
    assert.match(readFileSync(join(out, 'figures.json'), 'utf8'), /"format": "leakscope-soak-baseline"/);
    assert.ok(existsSync(join(out, 'pr-run-baseline', 'index.jsonl')) && existsSync(join(out, 'pr-run', 'index.jsonl')), 'run directories');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
