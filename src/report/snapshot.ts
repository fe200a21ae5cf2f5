/**
 * Text and JSON renderers for the heap-snapshot commands. They return strings; they never print.
 */
import type { HeapSummary } from '../core/heap/summary.js';
import type { DiffRow } from '../core/heap/diff.js';
import type { LeakReport } from '../core/heap/leaks.js';

export function formatBytes(b: number): string {
  const a = Math.abs(b);
  if (a < 1024) return `${b} B`;
  if (a < 1024 * 1024) return `${(b / 1024).toFixed(1)} kB`;
  if (a < 1024 * 1024 * 1024) return `${(b / 1024 / 1024).toFixed(1)} MB`;
  return `${(b / 1024 / 1024 / 1024).toFixed(2)} GB`;
}

function table(header: string[], rows: string[][], leftCols = 1): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (r: string[]): string =>
    r
      .map((c, i) => (i >= r.length - leftCols ? c : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [fmt(header), ...rows.map(fmt)].join('\n') + '\n';
}

export function renderSummaryText(s: HeapSummary, top: number): string {
  const rows = s.rows.slice(0, top).map((r) => [String(r.count), formatBytes(r.shallowSize), formatBytes(r.retainedSize), r.className]);
  let out = `${s.nodeCount} nodes, ${s.edgeCount} edges, ${formatBytes(s.totalSize)} total${s.unreachable ? `, ${s.unreachable} unreachable` : ''}\n`;
  out += table(['count', 'shallow', 'retained', 'class'], rows);
  if (s.rows.length > top) out += `… ${s.rows.length - top} more classes (--top)\n`;
  return out;
}

export function renderSummaryJson(s: HeapSummary, top: number): string {
  return JSON.stringify({ ...s, rows: s.rows.slice(0, top) }, null, 2) + '\n';
}

export function renderDiffText(rows: DiffRow[], top: number): string {
  const sign = (x: number): string => (x > 0 ? `+${x}` : String(x));
  const body = rows
    .slice(0, top)
    .map((r) => [String(r.newCount), String(r.deletedCount), sign(r.deltaCount), formatBytes(r.allocSize), formatBytes(r.freedSize), (r.deltaSize > 0 ? '+' : '') + formatBytes(r.deltaSize), r.className]);
  let out = table(['new', 'deleted', 'delta', 'alloc', 'freed', 'size delta', 'class'], body);
  if (rows.length > top) out += `… ${rows.length - top} more classes (--top)\n`;
  return out;
}

export function renderDiffJson(rows: DiffRow[], top: number): string {
  return JSON.stringify({ classes: rows.slice(0, top) }, null, 2) + '\n';
}

export function renderLeaksText(r: LeakReport, top: number): string {
  if (r.groups.length === 0) return `no growing leak groups across ${r.snapshots} snapshots (${r.leakedObjects} objects born between the first two are still alive)\n`;
  const leaks = r.groups.filter((g) => g.status !== 'possible-cache').length;
  const caches = r.groups.length - leaks;
  const head = caches === 0 ? `${leaks} leak group(s)` : `${leaks} leak group(s) and ${caches} possible cache(s)`;
  const lines: string[] = [`${head} across ${r.snapshots} snapshots:`];
  r.groups.slice(0, top).forEach((g, i) => {
    lines.push('');
    const tag = g.status === 'possible-cache' ? ' [possible cache, not called a leak]' : '';
    const kinds = g.classes.length > 1 ? ` (${g.classes.map((c) => `${c.count} ${c.className}`).join(', ')})` : '';
    lines.push(`#${i + 1} ${g.name}${tag}: ${g.count} leaked${kinds}, retaining ${formatBytes(g.retainedSize)}; counts ${g.growth.join(' → ')}`);
    for (const why of g.cacheEvidence) lines.push(`   why:   ${why}`);
    lines.push(`   path:  ${g.retainerPath.join(' → ')}`);
    if (g.location) lines.push(`   at:    ${g.location}`);
    if (g.owner) lines.push(`   owner: ${g.owner.className} @${g.owner.id} (retains ${formatBytes(g.owner.retainedSize)})${g.owner.location ? ` at ${g.owner.location}` : ''}: ${g.owner.retainerPath.join(' → ')}`);
    lines.push(`   e.g.   @${g.representativeId}`);
  });
  if (r.groups.length > top) lines.push('', `… ${r.groups.length - top} more groups (--top)`);
  return lines.join('\n') + '\n';
}

export function renderLeaksJson(r: LeakReport, top: number): string {
  return JSON.stringify({ snapshots: r.snapshots, leakedObjects: r.leakedObjects, groups: r.groups.slice(0, top) }, null, 2) + '\n';
}
