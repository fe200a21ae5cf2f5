/**
 * The service a soak run starts: free ports, `{port}` / PORT, the agent injected into any command
 * (NODE_OPTIONS="--import leakscope/register", LEAKSCOPE_ADDR on a free port, LEAKSCOPE_START so
 * that it starts in the node process that listens), waiting until it listens,
 * and stopping it with everything it started (its own process group: SIGTERM, then SIGKILL) — on
 * success, on failure, on Ctrl-C and when leakscope itself exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readlink } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { basename } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { LeakscopeError } from '../core/errors.js';
import { groupPids } from './soak-metrics.js';

/** a free TCP port on 127.0.0.1 (the kernel's choice; free when asked) */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** a Node executable as the command's first word: `node`, `node22`, `/usr/bin/node`, this Node */
export function isNodeCommand(cmd: string): boolean {
  return cmd === process.execPath || /^node(\d+)?(\.exe)?$/i.test(basename(cmd));
}

export const registerUrl = (): string => pathToFileURL(fileURLToPath(new URL('../register.js', import.meta.url))).href;

export interface StartedService {
  child: ChildProcess;
  pid: number;
  /** the last lines the service wrote on stderr (for error messages) */
  tail(): string;
  /** resolves when the process has exited (with its code or signal) */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  hasExited(): boolean;
  stop(): Promise<void>;
}

const live = new Set<StartedService>();
let exitHook = false;
/** leakscope exiting for any reason takes the services it started with it */
function installExitHook(): void {
  if (exitHook) return;
  exitHook = true;
  process.on('exit', () => {
    for (const s of live) killGroup(s.pid, 'SIGKILL');
  });
}

function killGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    try {
      process.kill(pid, sig);
    } catch {
      // gone already
    }
  }
}

/**
 * Starts `argv` in a process group of its own with `env` added to the environment; stdout and
 * stderr go to leakscope's stderr when `echo`, else only the last lines are kept.
 */
export function startService(argv: string[], env: Record<string, string>, echo: (s: string) => void, cwd?: string): StartedService {
  installExitHook();
  let tail = '';
  let exitedFlag = false;
  let child: ChildProcess;
  try {
    child = spawn(argv[0]!, argv.slice(1), { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true, ...(cwd ? { cwd } : {}) });
  } catch (e) {
    throw new LeakscopeError('E_USAGE', `cannot start ${argv[0]}: ${(e as Error).message}`);
  }
  const keep = (d: Buffer) => {
    const s = d.toString();
    tail = (tail + s).slice(-4000);
    echo(s);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('error', (e) => {
      tail += `\n${e.message}`;
      exitedFlag = true;
      resolve({ code: 127, signal: null });
    });
    child.on('exit', (code, signal) => {
      exitedFlag = true;
      resolve({ code, signal });
    });
  });
  const svc: StartedService = {
    child,
    pid: child.pid ?? -1,
    tail: () => tail,
    exited,
    hasExited: () => exitedFlag,
    async stop() {
      if (svc.pid > 0) {
        // the group first (children of a shell or npm), even when the leader is gone already
        killGroup(svc.pid, 'SIGTERM');
        const t = setTimeout(() => killGroup(svc.pid, 'SIGKILL'), 3000);
        await exited;
        clearTimeout(t);
        // anything left in the group (a grandchild that ignored SIGTERM) goes too
        killGroup(svc.pid, 'SIGKILL');
      }
      live.delete(svc);
    },
  };
  if (svc.pid > 0) live.add(svc);
  else exitedFlag = true;
  return svc;
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    const done = (ok: boolean) => {
      s.removeAllListeners();
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(1000, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

function lastLine(s: string): string {
  const l = s.trim().split('\n').filter(Boolean).pop() ?? '';
  return l.length > 200 ? `${l.slice(0, 200)}…` : l;
}

/**
 * Waits until something accepts TCP connections at `url`'s host and port; fails at once when the
 * service exits first, and after `timeoutMs`.
 */
export async function waitListening(url: string, what: string, svc: StartedService | undefined, timeoutMs: number, signal: AbortSignal): Promise<number> {
  const u = new URL(url);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const port = Number(u.port || (u.protocol === 'https:' ? 443 : 80));
  const t0 = Date.now();
  for (;;) {
    if (signal.aborted) throw new LeakscopeError('E_FETCH', 'interrupted while waiting for the service to listen');
    if (svc?.hasExited()) {
      const { code, signal: sig } = await svc.exited;
      const why = lastLine(svc.tail());
      throw new LeakscopeError('E_FETCH', `the service exited (${sig ? `signal ${sig}` : `code ${code}`}) before ${what} listened${why ? `: ${why}` : ''}`);
    }
    if (await canConnect(host, port)) return Date.now() - t0;
    if (Date.now() - t0 > timeoutMs) {
      throw new LeakscopeError('E_FETCH', `${what} did not listen at ${u.host} within ${Math.round(timeoutMs / 1000)}s (--start-timeout)`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** the TCP port of an http(s) URL (the one the service listens on for the load) */
export function listenPort(url: string): number | undefined {
  try {
    const u = new URL(url);
    return Number(u.port || (u.protocol === 'https:' ? 443 : u.protocol === 'http:' ? 80 : NaN)) || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether a node executable runs in process group `pgid` (Linux /proc); undefined when that
 * cannot be told (no /proc).
 */
export async function groupRunsNode(pgid: number): Promise<boolean | undefined> {
  const pids = await groupPids(pgid);
  if (!pids) return undefined;
  for (const pid of pids) {
    try {
      if (/^node(\d+)?$/i.test(basename(await readlink(`/proc/${pid}/exe`)))) return true;
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return false;
}

/**
 * After the service listens: waits for the agent injected through NODE_OPTIONS into a command
 * that is not node itself (npm, npx, a script). Resolves to undefined when the agent answers, or
 * to why there is none — no node process in the service's process group (a Go or Python service:
 * give --pprof), or none came up within `timeoutMs`. Never throws but on Ctrl-C.
 */
export async function agentOrWhy(pprof: string, svc: StartedService, timeoutMs: number, signal: AbortSignal): Promise<string | undefined> {
  const u = new URL(pprof);
  const t0 = Date.now();
  for (let i = 0; ; i++) {
    if (signal.aborted) throw new LeakscopeError('E_FETCH', 'interrupted while waiting for the injected leakscope agent');
    if (await canConnect(u.hostname, Number(u.port))) return undefined;
    // a node process that listens exists by now; a second look covers a slow /proc scan
    if (i === 0 || i === 10) {
      if ((await groupRunsNode(svc.pid)) === false) return 'no node process runs in the command soak started, so no leakscope agent: give --pprof for a Go service';
    }
    if (Date.now() - t0 > timeoutMs) {
      return `the leakscope agent injected through NODE_OPTIONS did not answer at ${u.host} within ${Math.round(timeoutMs / 1000)}s (does the command pass NODE_OPTIONS on to node, and does the service listen through node:net?)`;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
