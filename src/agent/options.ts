/**
 * Agent settings: the options object, the environment variables of `--import leakscope/register`,
 * and the checks that keep the agent from exposing a production process by accident.
 */
import { isIP } from 'node:net';
import { parseAllowedHosts, parseHostHeader } from '../core/http-guard.js';

export interface AgentOptions {
  /** interface to bind; default 127.0.0.1 */
  host?: string;
  /** port; default 6060; 0 picks a free one */
  port?: number;
  /** when set, every request needs `Authorization: Bearer <token>` */
  token?: string;
  /** false: no HTTP server of its own (mount `agent.handler` in the app's server instead) */
  listen?: boolean;
  /** heap sampling interval in bytes (default 131072: a quarter of Go's MemProfileRate, see
   *  README "What `heap` means"); 0 turns sampling off */
  heapInterval?: number;
  /** CPU profiler sampling interval in microseconds (default 10000: Go's 100 Hz) */
  cpuInterval?: number;
  /** allow `async?stacks=1&seconds=N`: creation stacks via async_hooks for a bounded window */
  asyncStacks?: boolean;
  /** resolve frames through source maps (default true) */
  sourceMaps?: boolean;
  /** Prometheus metrics at /debug/pprof/metrics (default true) */
  metrics?: boolean;
  /**
   * Host names (besides the listening address and `localhost`) the agent answers to: `name` (any
   * port), `name:port`, `.domain` (every name below it), or `*` (any Host; the Origin rule still
   * applies). For a mounted `handler`, the application's own names.
   */
  allowedHosts?: string[];
}

export interface ResolvedOptions {
  host: string;
  port: number;
  token: string;
  listen: boolean;
  heapInterval: number;
  cpuInterval: number;
  asyncStacks: boolean;
  sourceMaps: boolean;
  metrics: boolean;
  allowedHosts: string[];
}

export const DEFAULT_HEAP_INTERVAL = 128 * 1024;
export const DEFAULT_CPU_INTERVAL_US = 10_000;

export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || h === '0:0:0:0:0:0:0:1' || /^::ffff:127\./.test(h);
  return false;
}

/** Validated options, or a one-line reason why the agent must not start. */
export function resolveOptions(o: AgentOptions): { ok: true; value: ResolvedOptions } | { ok: false; reason: string } {
  const host = o.host ?? '127.0.0.1';
  const port = o.port ?? 6060;
  const token = o.token ?? '';
  const listen = o.listen ?? true;
  const heapInterval = o.heapInterval ?? DEFAULT_HEAP_INTERVAL;
  const cpuInterval = o.cpuInterval ?? DEFAULT_CPU_INTERVAL_US;
  if (!Number.isInteger(port) || port < 0 || port > 65535) return { ok: false, reason: `port must be an integer from 0 to 65535 (got ${port})` };
  if (!Number.isInteger(heapInterval) || heapInterval < 0 || heapInterval > 2 ** 31) {
    return { ok: false, reason: `heap sampling interval must be a whole number of bytes from 0 to 2147483648 (got ${heapInterval})` };
  }
  if (!Number.isInteger(cpuInterval) || cpuInterval < 100 || cpuInterval > 1_000_000) {
    return { ok: false, reason: `CPU sampling interval must be 100 to 1000000 microseconds (got ${cpuInterval})` };
  }
  if (typeof token !== 'string') return { ok: false, reason: 'token must be a string' };
  const allowedHosts = o.allowedHosts ?? [];
  if (!Array.isArray(allowedHosts)) return { ok: false, reason: 'allowedHosts must be an array of host names' };
  for (const h of allowedHosts) {
    if (typeof h !== 'string' || !validAllowedHost(h)) {
      return { ok: false, reason: `allowed host '${String(h).slice(0, 100)}' is not a host name, name:port, .domain or *` };
    }
  }
  if (listen && !isLoopback(host) && token === '') {
    return {
      ok: false,
      reason: `refusing to listen on ${host}:${port} without a token: a non-loopback address exposes heap contents; set LEAKSCOPE_TOKEN (or the token option) or bind 127.0.0.1`,
    };
  }
  return {
    ok: true,
    value: {
      host,
      port,
      token,
      listen,
      heapInterval,
      cpuInterval,
      asyncStacks: o.asyncStacks ?? false,
      sourceMaps: o.sourceMaps ?? true,
      metrics: o.metrics ?? true,
      allowedHosts: [...allowedHosts],
    },
  };
}

function validAllowedHost(h: string): boolean {
  const t = h.trim();
  if (t === '*') return true;
  if (t.startsWith('.')) return t.length > 1 && parseHostHeader(t.slice(1)) !== undefined && !t.includes(':');
  return parseHostHeader(t) !== undefined;
}

/** `host:port`, `:port` or `[v6]:port` → parts. */
export function parseAddr(addr: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(addr.trim());
  if (!m) return undefined;
  const host = m[1] ?? m[2] ?? '';
  return { host: host === '' ? '127.0.0.1' : host, port: Number(m[3]) };
}

const TRUE = /^(1|true|yes|on)$/i;

/**
 * Options from the environment:
 * LEAKSCOPE_ADDR (host:port), LEAKSCOPE_TOKEN, LEAKSCOPE_HEAP_INTERVAL (bytes),
 * LEAKSCOPE_CPU_INTERVAL (µs), LEAKSCOPE_ASYNC_STACKS (1 to allow creation-stack windows),
 * LEAKSCOPE_SOURCE_MAPS (0 to skip), LEAKSCOPE_METRICS (0 to skip).
 */
export function optionsFromEnv(env: Record<string, string | undefined>): { ok: true; value: AgentOptions } | { ok: false; reason: string } {
  const o: AgentOptions = {};
  if (env.LEAKSCOPE_ADDR !== undefined && env.LEAKSCOPE_ADDR !== '') {
    const a = parseAddr(env.LEAKSCOPE_ADDR);
    if (!a) return { ok: false, reason: `LEAKSCOPE_ADDR must be host:port (got '${env.LEAKSCOPE_ADDR}')` };
    o.host = a.host;
    o.port = a.port;
  }
  if (env.LEAKSCOPE_TOKEN) o.token = env.LEAKSCOPE_TOKEN;
  const int = (name: string): number | undefined | null => {
    const v = env[name];
    if (v === undefined || v === '') return undefined;
    return /^\d+$/.test(v) ? Number(v) : null;
  };
  const hi = int('LEAKSCOPE_HEAP_INTERVAL');
  if (hi === null) return { ok: false, reason: `LEAKSCOPE_HEAP_INTERVAL must be a number of bytes (got '${env.LEAKSCOPE_HEAP_INTERVAL}')` };
  if (hi !== undefined) o.heapInterval = hi;
  const ci = int('LEAKSCOPE_CPU_INTERVAL');
  if (ci === null) return { ok: false, reason: `LEAKSCOPE_CPU_INTERVAL must be microseconds (got '${env.LEAKSCOPE_CPU_INTERVAL}')` };
  if (ci !== undefined) o.cpuInterval = ci;
  if (env.LEAKSCOPE_ASYNC_STACKS) o.asyncStacks = TRUE.test(env.LEAKSCOPE_ASYNC_STACKS);
  if (env.LEAKSCOPE_SOURCE_MAPS) o.sourceMaps = TRUE.test(env.LEAKSCOPE_SOURCE_MAPS);
  if (env.LEAKSCOPE_METRICS) o.metrics = TRUE.test(env.LEAKSCOPE_METRICS);
  const allowed = parseAllowedHosts(env.LEAKSCOPE_ALLOWED_HOSTS);
  if (allowed.length > 0) o.allowedHosts = allowed;
  return { ok: true, value: o };
}

/**
 * Limits of the agent's own server, so that clients of the agent — hostile or stuck — can never
 * take the host's sockets: a bounded share of the process's file descriptors, and connections
 * that send no complete request in time are closed.
 */
export const SERVER_LIMITS = {
  /** the whole request head must arrive within this (a slowloris sends it a byte at a time) */
  headersTimeoutMs: 5_000,
  /** the whole request (GET: the head) must arrive within this; responses may take longer */
  requestTimeoutMs: 10_000,
  /** an idle keep-alive connection is closed after this */
  keepAliveTimeoutMs: 5_000,
  /** a socket with no traffic either way for this long is closed (longer than any profile window) */
  idleTimeoutMs: 330_000,
  /** how often the timeouts above are checked */
  checkIntervalMs: 1_000,
};

/**
 * At most 1/8 of the process's open-file limit, from 16 to 256 connections (64 when the limit
 * cannot be read). Node raises its soft limit to the hard one at start, so this is the limit the
 * host's own sockets share. Connections beyond it are closed as soon as they are accepted.
 */
export function maxAgentConnections(limits: string | undefined): number {
  const m = limits === undefined ? null : /^Max open files\s+(\d+|unlimited)/m.exec(limits);
  if (!m) return 64;
  if (m[1] === 'unlimited') return 256;
  return Math.min(256, Math.max(16, Math.floor(Number(m[1]) / 8)));
}

/** Messages between the host's main thread and the agent worker. */
export interface WorkerData {
  options: ResolvedOptions;
  /** the main thread's service port (metrics, creation-stack windows) */
  mainPort: import('node:worker_threads').MessagePort;
}

export const STASH_KEY = 'leakscope.agent';
