/** Local services for the fleet tests: Node programs with the agent, the Go example service, and
 *  servers that misbehave (never answer, answer HTML, refuse connections). */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createNetServer, type Server as NetServer, type Socket, type AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './paths.js';

export const register = join(repoRoot, 'dist', 'src', 'register.js');
export const fleetNodeProgram = join(repoRoot, 'test', 'programs', 'fleet-node.mjs');

export interface Service {
  child: ChildProcess;
  /** host:port of its pprof endpoint */
  addr: string;
  stop(): void;
}

/** Starts test/programs/fleet-node.mjs with the agent on `port` (0: any). */
export function startNode(env: NodeJS.ProcessEnv, port = 0, node = process.execPath): Promise<Service> {
  // --no-turbo-inlining: once optimised, V8 inlines createSession into handleRequest and the heap
  // sampler's leaf moves from one to the other mid-run (the old site then looks like a plateau);
  // these tests are about the fleet, so every worker's leak keeps one name
  const child = spawn(node, ['--no-turbo-inlining', '--import', register, fleetNodeProgram], {
    env: { ...process.env, LEAKSCOPE_ADDR: `127.0.0.1:${port}`, LEAKSCOPE_HEAP_INTERVAL: '32768', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let err = '';
    const t = setTimeout(() => reject(new Error(`node service did not start in 20 s: ${err}`)), 20000);
    child.stderr!.on('data', (d) => {
      err = (err + d).slice(-4000);
      const m = /listening on http:\/\/([^/\s]+)/.exec(err);
      if (m) {
        clearTimeout(t);
        resolve({ child, addr: m[1]!, stop: () => child.kill('SIGKILL') });
      }
    });
    child.on('exit', (c) => {
      clearTimeout(t);
      reject(new Error(`node service exited (${c}): ${err}`));
    });
  });
}

/** Builds examples/go-service once per test process; undefined when go is absent. */
let goBin: string | undefined | null = null;
export function buildGoService(): string | undefined {
  if (goBin !== null) return goBin;
  const go = spawnSync('go', ['version'], { encoding: 'utf8' });
  if (go.status !== 0) return (goBin = undefined);
  const work = mkdtempSync(join(tmpdir(), 'leakscope-fleet-go-'));
  const cache = join(tmpdir(), 'leakscope-gocache');
  mkdirSync(cache, { recursive: true });
  const bin = join(work, 'goservice');
  const build = spawnSync('go', ['build', '-o', bin, '.'], {
    cwd: join(repoRoot, 'examples', 'go-service'),
    encoding: 'utf8',
    env: { ...process.env, GOCACHE: process.env.GOCACHE ?? cache, GOPATH: process.env.GOPATH ?? join(work, 'gopath'), HOME: process.env.HOME ?? work, GOFLAGS: '-mod=mod' },
    timeout: 120000,
  });
  if (build.status !== 0) throw new Error(`go build failed: ${build.stderr}`);
  return (goBin = bin);
}

/** Starts the Go example service; resolves with its address. */
export function startGo(bin: string): Promise<Service & { url: string }> {
  const child = spawn(bin, ['-addr', '127.0.0.1:0', '-memprofilerate', '4096'], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let err = '';
    const t = setTimeout(() => reject(new Error(`go service did not start in 20 s: ${err}`)), 20000);
    child.stderr!.on('data', (d) => (err = (err + d).slice(-2000)));
    createInterface({ input: child.stdout! }).on('line', (l) => {
      try {
        const j = JSON.parse(l) as { ready?: boolean; url?: string };
        if (j.ready && j.url) {
          clearTimeout(t);
          const u = new URL(j.url);
          resolve({ child, addr: u.host, url: j.url, stop: () => child.kill('SIGKILL') });
        }
      } catch {
        /* other output */
      }
    });
    child.on('exit', (c) => {
      clearTimeout(t);
      reject(new Error(`go service exited (${c}): ${err}`));
    });
  });
}

/** Requests to the Go service's /api at about `perSecond`, until stopped. */
export function drive(url: string, perSecond: number): () => void {
  let stopped = false;
  let n = 0;
  const gap = 1000 / perSecond;
  const loop = async () => {
    while (!stopped) {
      const t0 = Date.now();
      n++;
      try {
        const r = await fetch(`${url}api?user=u${n % 500}&product=p${n}`);
        await r.arrayBuffer();
      } catch {
        /* the service went away: the test says so elsewhere */
      }
      await new Promise((r) => setTimeout(r, Math.max(0, gap - (Date.now() - t0))));
    }
  };
  void loop();
  return () => {
    stopped = true;
  };
}

/** A TCP server that accepts connections and never answers. */
export async function startSilent(): Promise<{ addr: string; close(): void }> {
  const sockets = new Set<Socket>();
  const s: NetServer = createNetServer((sock) => {
    sockets.add(sock);
    sock.on('error', () => {});
    sock.on('close', () => sockets.delete(sock));
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return {
    addr: `127.0.0.1:${(s.address() as AddressInfo).port}`,
    close: () => {
      for (const so of sockets) so.destroy();
      s.close();
    },
  };
}

/** An HTTP server that answers every path with an HTML page (a web app, not a pprof endpoint). */
export async function startHtml(): Promise<{ addr: string; close(): void }> {
  const s: HttpServer = createHttpServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!doctype html><title>shop</title><h1>Welcome</h1>\n');
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return { addr: `127.0.0.1:${(s.address() as AddressInfo).port}`, close: () => s.close() };
}

/** A port nothing listens on (bound, then closed). */
export async function closedPort(): Promise<string> {
  const s = createNetServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return `127.0.0.1:${port}`;
}
