/**
 * The load of a soak run: autocannon's programmatic API, one call per round (warm-up included),
 * so that each round has figures of its own for the gate's statistics.
 */
import { createRequire } from 'node:module';
import { LeakscopeError } from '../core/errors.js';
import type { LoadRound } from '../core/soak-figures.js';
import type { SoakRequest } from './soak-requests.js';

interface AcResult {
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  requests: { total: number };
  latency: { p50: number; p90: number; p99: number; max: number; totalCount: number };
}
interface AcInstance {
  stop(): void;
  on(ev: 'response', f: () => void): void;
}
type Autocannon = (opts: Record<string, unknown>, cb: (err: Error | null, res: AcResult) => void) => AcInstance;

let ac: Autocannon | undefined;
function autocannon(): Autocannon {
  if (!ac) {
    try {
      ac = createRequire(import.meta.url)('autocannon') as Autocannon;
    } catch {
      throw new LeakscopeError('E_USAGE', 'soak needs the autocannon package (npm install autocannon)');
    }
  }
  return ac;
}

export interface LoadOptions {
  url: string;
  connections: number;
  /** requests per second over all connections; undefined: as fast as the service answers */
  rate?: number;
  /** the request cycle (weighted); undefined: GET the URL */
  requests?: SoakRequest[];
  /** per-request timeout in seconds */
  timeoutSec: number;
}

/** Loads for `durationMs` (or until the signal aborts); t0 is the run's start (Date.now()). */
export function loadRound(o: LoadOptions, durationMs: number, t0: number, signal: AbortSignal, onResponse?: () => void): Promise<LoadRound> {
  const startMs = Date.now() - t0;
  return new Promise((resolve, reject) => {
    const opts: Record<string, unknown> = {
      url: o.url,
      connections: o.connections,
      duration: durationMs / 1000,
      timeout: o.timeoutSec,
      ...(o.rate ? { overallRate: o.rate } : {}),
      ...(o.requests ? { requests: o.requests.map((r) => ({ method: r.method, path: r.path, ...(r.headers ? { headers: r.headers } : {}), ...(r.body !== undefined ? { body: r.body } : {}) })) } : {}),
    };
    let inst: AcInstance;
    const stop = () => inst?.stop();
    try {
      inst = autocannon()(opts, (err, res) => {
        signal.removeEventListener('abort', stop);
        if (err) return reject(new LeakscopeError('E_FETCH', `load generator: ${err.message}`));
        const endMs = Date.now() - t0;
        const secs = res.duration > 0 ? res.duration : durationMs / 1000;
        resolve({
          startMs,
          endMs,
          requests: res.requests.total,
          errors: res.errors + res.timeouts,
          non2xx: res.non2xx,
          rps: res.requests.total / secs,
          p50: res.latency.p50,
          p90: res.latency.p90,
          p99: res.latency.p99,
          max: res.latency.max,
        });
      });
    } catch (e) {
      return reject(new LeakscopeError('E_USAGE', `load generator: ${(e as Error).message}`));
    }
    if (onResponse) inst.on('response', onResponse);
    if (signal.aborted) stop();
    else signal.addEventListener('abort', stop, { once: true });
  });
}
