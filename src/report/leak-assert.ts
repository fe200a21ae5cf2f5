/**
 * The failure messages of `leakscope/test`: short enough for a test report (the heap trend in one
 * line, then the top leak groups in four lines each; async resources with their creation stacks).
 * Pure: they return strings.
 */
import type { LeakGroup } from '../core/heap/leaks.js';
import type { RoundsVerdict } from '../core/leak/rounds.js';
import { formatBytes } from './snapshot.js';

/** a leak group as `assertNoLeak` reports it */
export interface NamedLeak {
  /** what leaks: a class, or a closure named by where it is stored */
  name: string;
  className: string;
  /** objects of the group kept per iteration of the workload */
  perIteration: number;
  /** objects of the group alive in the last snapshot */
  count: number;
  /** bytes the group's objects retain in the last snapshot */
  retainedSize: number;
  /** from a GC root, or from the innermost module scope */
  retainerPath: string[];
  /** source location (mapped through source maps), or null */
  location: string | null;
  /** the group's count across the snapshots */
  growth: number[];
}

export interface LeakCheckSummary {
  verdict: RoundsVerdict;
  rounds: number;
  iterationsPerRound: number;
  /** the heap after GC per round */
  series: number[];
  /** named leaks, biggest first (empty when snapshots were off or named nothing) */
  leaks: NamedLeak[];
  /** why no leak was named, when none was */
  unnamed?: string;
}

export function toNamedLeak(g: LeakGroup, iterationsBetweenSnapshots: number): NamedLeak {
  const k = g.growth.length;
  const perIteration = k >= 2 ? (g.growth[k - 1]! - g.growth[0]!) / ((k - 1) * iterationsBetweenSnapshots) : NaN;
  return {
    name: g.name,
    className: g.className,
    perIteration,
    count: g.count,
    retainedSize: g.retainedSize,
    retainerPath: g.retainerPath,
    location: g.location,
    growth: g.growth,
  };
}

function perIter(x: number): string {
  if (!Number.isFinite(x)) return '?';
  return x >= 10 || Number.isInteger(x) ? String(Math.round(x)) : x.toFixed(x >= 1 ? 1 : 2);
}

/** the class after the name, when the name does not say it (a closure's label says nothing more) */
function showClass(l: NamedLeak): boolean {
  return l.name !== l.className && !l.name.startsWith(l.className) && !l.className.startsWith('(');
}

/** the message of a failed `assertNoLeak` */
export function renderLeakFailure(s: LeakCheckSummary, top = 3): string {
  const v = s.verdict;
  const lines = [
    `memory leak: the heap kept growing by ${formatBytes(Math.round(v.bytesPerIteration))} per iteration ` +
      `(${s.rounds} readings after GC ${s.iterationsPerRound} iterations apart: ${formatBytes(v.first)} → ${formatBytes(v.last)}, ` +
      `Mann–Kendall p=${v.p.toPrecision(2)})`,
  ];
  if (s.leaks.length === 0) {
    lines.push(s.unnamed ?? 'no growing group of objects could be named');
    return lines.join('\n');
  }
  s.leaks.slice(0, top).forEach((l, i) => {
    const each = l.count > 0 ? l.retainedSize / l.count : 0;
    lines.push(
      `#${i + 1} ${l.name}${showClass(l) ? ` (${l.className})` : ''}: +${perIter(l.perIteration)} per iteration, ` +
        `${l.count} kept retaining ${formatBytes(l.retainedSize)} (≈${formatBytes(Math.round(each * Math.max(0, l.perIteration)))} per iteration); counts ${l.growth.join(' → ')}`,
    );
    lines.push(`   path: ${l.retainerPath.join(' → ')}`);
    if (l.location) lines.push(`   at:   ${l.location}`);
  });
  if (s.leaks.length > top) lines.push(`… and ${s.leaks.length - top} more group(s)`);
  return lines.join('\n');
}

/** one async resource `fn` left behind */
export interface PendingResource {
  /** async_hooks type (Timeout, TCPWRAP, PROMISE, …) */
  type: string;
  /** what it is, for a person: `interval (every 1000 ms)`, `socket 127.0.0.1:1234 → …` */
  description: string;
  /** the creation stack, user frames first (`at f (file:line:col)` lines) */
  stack: string[];
}

/** the message of a failed `assertNoAsyncLeak` */
export function renderAsyncLeakFailure(pending: PendingResource[], graceMs: number, top = 10, stackLines = 4): string {
  const lines = [`async leak: ${pending.length} resource(s) created by the function still pending ${graceMs} ms after it returned:`];
  pending.slice(0, top).forEach((r) => {
    lines.push(`- ${r.description}, created`);
    const st = r.stack.slice(0, stackLines);
    if (st.length === 0) lines.push('    (no JavaScript frame)');
    for (const f of st) lines.push(`    ${f}`);
  });
  if (pending.length > top) lines.push(`… and ${pending.length - top} more`);
  return lines.join('\n');
}
