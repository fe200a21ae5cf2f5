/**
 * Reads the service's runtime metrics while a soak runs: the leakscope agent's
 * `/debug/pprof/metrics` (Node), else Go's expvar `/debug/vars` memstats, else a client_golang
 * `/metrics`; plus the RSS of the process group soak started (Linux /proc) when the metrics carry
 * none. Pure reduction in core/soak-figures.ts.
 */
import { setMaxListeners } from 'node:events';
import { readdir, readFile } from 'node:fs/promises';
import { sampleFromExpvar, sampleFromPrometheus, type MetricsSample } from '../core/soak-figures.js';

type Source = { kind: 'agent' | 'prometheus'; url: string } | { kind: 'expvar'; url: string } | { kind: 'none' };

async function get(url: string, token: string | undefined, signal: AbortSignal): Promise<{ status: number; text: string } | undefined> {
  try {
    const res = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {}, signal: AbortSignal.any([signal, AbortSignal.timeout(5000)]) });
    const text = await res.text();
    return { status: res.status, text: text.length > 8 << 20 ? '' : text };
  } catch {
    return undefined;
  }
}

/** which metrics the service exposes (pprofBase: …/debug/pprof) */
async function findSource(pprofBase: string | undefined, token: string | undefined, signal: AbortSignal): Promise<Source> {
  if (!pprofBase) return { kind: 'none' };
  const origin = new URL(pprofBase).origin;
  const agent = await get(`${pprofBase}/metrics`, token, signal);
  if (agent?.status === 200 && /^nodejs_|^process_resident/m.test(agent.text)) return { kind: 'agent', url: `${pprofBase}/metrics` };
  const vars = await get(`${origin}/debug/vars`, token, signal);
  if (vars?.status === 200) {
    try {
      if (sampleFromExpvar(JSON.parse(vars.text), 0, undefined)) return { kind: 'expvar', url: `${origin}/debug/vars` };
    } catch {
      // not JSON
    }
  }
  const prom = await get(`${origin}/metrics`, token, signal);
  if (prom?.status === 200 && /^go_memstats_|^go_gc_duration/m.test(prom.text)) return { kind: 'prometheus', url: `${origin}/metrics` };
  return { kind: 'none' };
}

/** The pids of the processes in process group `pgid` (Linux /proc), or undefined without /proc. */
export async function groupPids(pgid: number): Promise<number[] | undefined> {
  let names: string[];
  try {
    names = await readdir('/proc');
  } catch {
    return undefined;
  }
  const pids: number[] = [];
  for (const n of names) {
    if (!/^\d+$/.test(n)) continue;
    try {
      const stat = await readFile(`/proc/${n}/stat`, 'utf8');
      // pid (comm) state ppid pgrp …: comm may hold spaces and parentheses
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(rest[2]) === pgid) pids.push(Number(n));
    } catch {
      // the process ended meanwhile, or is not ours to read
    }
  }
  return pids;
}

/** RSS in bytes of every process in process group `pgid` (Linux), or undefined */
export async function groupRss(pgid: number): Promise<number | undefined> {
  const pids = await groupPids(pgid);
  if (!pids) return undefined;
  let total = 0;
  let found = false;
  for (const pid of pids) {
    try {
      const statm = await readFile(`/proc/${pid}/statm`, 'utf8');
      total += Number(statm.split(' ')[1]) * 4096;
      found = true;
    } catch {
      // the process ended meanwhile
    }
  }
  return found ? total : undefined;
}

export interface MetricsReader {
  samples: MetricsSample[];
  /** the metrics' origin in words (for the report) */
  source(): string;
  stop(): Promise<void>;
}

/** Reads every `everyMs` until stopped; t is measured from `t0` (Date.now()). */
export function readMetrics(opts: { pprofBase?: string; token?: string; pgid?: number; everyMs: number; t0: number }): MetricsReader {
  const ctrl = new AbortController();
  setMaxListeners(0, ctrl.signal); // AbortSignal.any() per request listens to it
  const samples: MetricsSample[] = [];
  let source: Source | undefined;
  let prevNumGC: number | undefined;
  let rssFromGroup = false;
  const loop = (async () => {
    source = await findSource(opts.pprofBase, opts.token, ctrl.signal);
    while (!ctrl.signal.aborted) {
      const started = Date.now();
      const t = started - opts.t0;
      let s: MetricsSample = { t };
      if (source.kind !== 'none') {
        const r = await get(source.url, opts.token, ctrl.signal);
        if (r?.status === 200) {
          if (source.kind === 'expvar') {
            try {
              const e = sampleFromExpvar(JSON.parse(r.text), t, prevNumGC);
              if (e) {
                s = e;
                prevNumGC = e.gcCount;
              }
            } catch {
              // a torn answer: skip this reading
            }
          } else s = sampleFromPrometheus(r.text, t);
        }
      }
      if (s.rss === undefined && opts.pgid !== undefined) {
        const rss = await groupRss(opts.pgid);
        if (rss !== undefined) {
          s.rss = rss;
          rssFromGroup = true;
        }
      }
      if (Object.keys(s).length > 1) samples.push(s);
      await new Promise<void>((resolve) => {
        const tm = setTimeout(resolve, Math.max(50, opts.everyMs - (Date.now() - started)));
        ctrl.signal.addEventListener('abort', () => (clearTimeout(tm), resolve()), { once: true });
      });
    }
  })();
  return {
    samples,
    source() {
      const parts: string[] = [];
      if (!source || source.kind === 'none') parts.push(opts.pprofBase ? 'the service exposes neither the leakscope agent\'s metrics, expvar /debug/vars nor a Go /metrics: no GC or event-loop figures' : 'no metrics endpoint');
      else if (source.kind === 'agent') parts.push(`the leakscope agent's ${source.url}`);
      else if (source.kind === 'expvar') parts.push(`expvar memstats at ${source.url} (heap = HeapAlloc)`);
      else parts.push(`client_golang metrics at ${source.url}`);
      if (rssFromGroup) parts.push('RSS of the process group soak started (/proc)');
      return parts.join('; ');
    },
    async stop() {
      ctrl.abort();
      await loop;
    },
  };
}
