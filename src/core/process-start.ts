/**
 * The process start time an agent writes into each profile it serves, as one comment
 * ("process started 2026-12-06T13:25:53.120Z, pid 4242"). A collector compares it between polls:
 * a different start is a restart, however quickly the process came back (a heap sampler's totals
 * carry no counter that would show it). Go's runtime profiles have no such comment; their
 * cumulative alloc counters tell a restart instead.
 */
import type { Profile } from './profile.js';

const PREFIX = 'process started ';
const PATTERN = /^process started (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z)(?:, pid (\d+))?$/;

/** The comment for a process that started at `startMs` (ms since the epoch). */
export function processStartComment(startMs: number, pid?: number): string {
  return `${PREFIX}${new Date(startMs).toISOString()}${pid !== undefined ? `, pid ${pid}` : ''}`;
}

/** The process start (ms since the epoch) a profile's comments carry, else undefined. */
export function processStartOf(p: Pick<Profile, 'comments'>): number | undefined {
  for (const c of p.comments) {
    if (!c.startsWith(PREFIX)) continue;
    const m = PATTERN.exec(c);
    if (!m) continue;
    const ms = Date.parse(m[1]!);
    if (Number.isFinite(ms)) return ms;
  }
  return undefined;
}
