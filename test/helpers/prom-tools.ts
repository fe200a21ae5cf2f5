/**
 * For the Prometheus and continuous-profiler tests: the optional tools they drive (promtool,
 * prometheus) and services with the agent started in child processes on free ports.
 */
import { spawnSync } from 'node:child_process';

export { NODE22, NODE24, type Service, agentServiceFile, killChildren, register, repoRoot, sleep, startService } from './agent-service.js';

function has(bin: string, arg: string): boolean {
  const r = spawnSync(bin, [arg], { encoding: 'utf8' });
  return r.status === 0;
}
let promtool: boolean | undefined;
let prometheus: boolean | undefined;
export function hasPromtool(): boolean {
  return (promtool ??= has('promtool', '--version'));
}
export function hasPrometheus(): boolean {
  return (prometheus ??= has('prometheus', '--version'));
}
export const SKIP_NO_PROMTOOL = 'promtool is not installed: Prometheus checks skipped (CI installs the prometheus package)';
export const SKIP_NO_PROMETHEUS = 'prometheus is not installed: the real-Prometheus test is skipped (CI installs the prometheus package)';

/** Runs promtool with `args` (stdin `input`); status and both outputs. */
export function runPromtool(args: string[], input?: string, cwd?: string): { status: number; stdout: string; stderr: string } {
  const r = spawnSync('promtool', args, { encoding: 'utf8', input, cwd, timeout: 60_000 });
  return { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

export async function fetchText(url: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string; headers: Headers }> {
  const r = await fetch(url, { headers, signal: AbortSignal.timeout(30_000) });
  return { status: r.status, text: await r.text(), headers: r.headers };
}


/**
 * The rules file with every duration scaled by `factor` (range selectors `[1h]`, `offset 30m`,
 * `for: 30m`): the shipped rules on a test's time scale. Thresholds are per window, so the rules
 * mean the same thing (README, "Prometheus").
 */
export function scaleDurations(text: string, factor: number): string {
  const UNIT: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
  const scale = (d: string): string => {
    const m = /^(\d+)(ms|s|m|h|d|w)$/.exec(d);
    if (!m) throw new Error(`cannot scale duration ${d}`);
    return `${Math.max(1, Math.round(Number(m[1]) * UNIT[m[2]!]! * factor))}ms`;
  };
  return text
    .replace(/\[(\w+)\]/g, (_all, d: string) => `[${scale(d)}]`)
    .replace(/\boffset (\w+)/g, (_all, d: string) => `offset ${scale(d)}`)
    .replace(/^(\s+for:) (\w+)$/gm, (_all, k: string, d: string) => `${k} ${scale(d)}`);
}

/** A TCP port that was free a moment ago (for servers that cannot report the port they got). */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}
