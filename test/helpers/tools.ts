/** Optional tools the tests use when present (go), with the reason to print when absent. */
import { spawnSync } from 'node:child_process';

let goChecked: boolean | undefined;
export function hasGo(): boolean {
  if (goChecked === undefined) {
    const r = spawnSync('go', ['version'], { encoding: 'utf8' });
    goChecked = r.status === 0;
  }
  return goChecked;
}
export const SKIP_NO_GO = 'go is not installed: comparison with go tool pprof skipped (CI installs golang-go)';

/** Runs `go tool pprof args…` in cwd and returns stdout (throws with stderr on failure). */
export function goPprof(args: string[], cwd?: string): string {
  const r = spawnSync('go', ['tool', 'pprof', ...args], { encoding: 'utf8', cwd, maxBuffer: 256 * 1024 * 1024, env: { ...process.env, TZ: 'UTC', PPROF_TMPDIR: '/tmp' } });
  if (r.status !== 0) throw new Error(`go tool pprof ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}
