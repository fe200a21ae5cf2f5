/**
 * A fleet directory (`leakscope web FLEET_DIR`): the findings (a suspect shared by instances of a
 * job, in `analyze FLEET_DIR`'s words) and the targets in the report's rank order, each linking
 * to its heap over time (`t/<run dir>/`). The data is the server's `/api/fleet`, i.e. `analyze
 * --json FLEET_DIR`'s report; the page polls it, so a fleet still being watched fills in.
 */
import type { FleetFinding } from '../core/fleet.js';
import { findingHeadline, type FleetJson, type FleetJsonTarget } from '../report/fleet.js';
import { formatDuration, formatRate } from '../report/watch.js';
import type { LeakKind } from '../core/leak/summary.js';
import { apiGet, el, takeOverPage } from './api.js';

const POLL_MS = 2000;
const STATUS_WORD: Record<FleetJsonTarget['status'], string> = { leak: 'LEAK', ok: 'ok', 'no-verdict': 'wait', unreachable: 'DOWN' };

interface FleetPageData {
  version: number;
  report: FleetJson;
  links: Record<string, string>;
}

/** one target's row as the page shows it (what tests read) */
export interface FleetRow {
  rank: number;
  id: string;
  status: string;
  href: string;
}

function topSuspect(t: FleetJsonTarget): string {
  const s = t.report?.suspects[0];
  if (!s) return '';
  const runtime = t.report!.profiles.find((p) => p.profile === s.profile)?.runtime ?? undefined;
  const more = t.report!.suspects.length > 1 ? ` (+${t.report!.suspects.length - 1})` : '';
  return `${s.resource ? `${s.resource} ` : ''}${s.name} ${formatRate(s.growthPerMinute, s.unit, s.profile as LeakKind, runtime)}${more}`;
}

function heapGrowth(t: FleetJsonTarget): string {
  if (!t.report || t.status === 'unreachable') return '';
  return `${t.relativeGrowthPerMinute >= 0 ? '+' : ''}${(t.relativeGrowthPerMinute * 100).toFixed(1)}%/min`;
}

export async function fleetView(): Promise<void> {
  const sec = takeOverPage('fleet-view', 'fleet');
  const status = document.getElementById('status')!;
  const summary = el('div', { id: 'fleet-summary' });
  const findings = el('div', { id: 'fleet-findings' });
  const table = el('table', { id: 'fleet-targets' });
  const notes = el('div', { id: 'fleet-notes', class: 'muted' });
  sec.append(summary, el('h2', {}, 'Findings: the same suspect in several instances of a job'), findings, el('h2', {}, 'Targets, most likely leaking first'), table, notes);
  const api = { ready: false, version: -1, rows: [] as FleetRow[], findings: [] as string[], error: undefined as string | undefined };
  Object.defineProperty(window, '__leakscopeFleet', { value: api, writable: false, configurable: false });

  // a served page's token goes along to the targets' pages
  const token = new URLSearchParams(location.search).get('token');
  const withToken = (href: string) => (token && href ? `${href}${href.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}` : href);

  function render(d: FleetPageData): void {
    const r = d.report;
    const c = r.counts;
    document.getElementById('title')!.textContent = `fleet ${r.fleetDir ?? ''}`;
    const parts = [`${c.targets} targets`, `${c.leaking} leaking`, `${c.ok} without a leak`];
    if (c.noVerdict > 0) parts.push(`${c.noVerdict} without a verdict yet`);
    if (c.unreachable > 0) parts.push(`${c.unreachable} unreachable`);
    summary.textContent = `${parts.join(', ')}; watched for ${formatDuration(r.durationMs)}${r.intervalMs ? `, every ${r.intervalMs < 1000 ? `${r.intervalMs}ms` : formatDuration(r.intervalMs)}` : ''}`;
    findings.textContent = '';
    api.findings = r.findings.map((f) => findingHeadline(f as FleetFinding));
    if (r.findings.length === 0) findings.append(el('div', { class: 'muted' }, c.leaking > 0 ? 'No suspect is shared by several instances of a job.' : 'No leak in any target.'));
    r.findings.forEach((f, i) => {
      const members = el('div', { class: 'members' });
      f.members.forEach((m, k) => {
        if (k > 0) members.append(', ');
        const href = withToken(d.links[m.id] ?? '');
        members.append(href ? el('a', { href }, m.id) : m.id);
      });
      if (f.without > 0) members.append(el('span', { class: 'muted' }, ` (${f.without} other ${f.job ? `${f.job} ` : ''}instance${f.without === 1 ? '' : 's'} unreachable or without a verdict)`));
      findings.append(el('div', { class: 'finding' }, el('div', { class: 'headline' }, `${i + 1}. ${api.findings[i]}`), members));
    });
    table.textContent = '';
    table.append(el('thead', {}, el('tr', {}, ...['#', 'status', 'target', 'job', 'samples', 'confidence', 'heap growth', 'top suspect / error'].map((h) => el('th', { class: h === 'target' || h.startsWith('top') ? 'name' : '' }, h)))));
    const body = el('tbody');
    api.rows = [];
    for (const t of r.targets) {
      const href = withToken(d.links[t.id] ?? '');
      api.rows.push({ rank: t.rank, id: t.id, status: t.status, href });
      const gone = t.vanished ? el('span', { class: 'muted' }, ' (left discovery)') : '';
      const extra = [t.gaps > 0 ? `${t.gaps} failed poll${t.gaps === 1 ? '' : 's'}` : '', t.restarts > 0 ? `${t.restarts} restart${t.restarts === 1 ? '' : 's'}` : ''].filter(Boolean).join(', ');
      const what = t.status === 'unreachable' ? el('span', { class: 'error' }, t.lastError ?? 'no answer') : t.status === 'no-verdict' ? el('span', { class: 'muted' }, `no verdict: at least ${t.report?.minSamples ?? '?'} samples needed`) : topSuspect(t) || el('span', { class: 'muted' }, 'no leak');
      const tr = el(
        'tr',
        { class: `target ${t.status}`, 'data-id': t.id, 'data-rank': String(t.rank) },
        el('td', { class: 'num' }, String(t.rank)),
        el('td', { class: `status ${t.status}` }, STATUS_WORD[t.status]),
        el('td', { class: 'name' }, href ? el('a', { href, class: 'target-link', title: `heap over time of ${t.id}` }, t.id) : t.id, gone),
        el('td', {}, t.job || '-'),
        el('td', { class: 'num' }, String(t.samples), extra ? el('div', { class: 'muted' }, extra) : ''),
        el('td', { class: 'num' }, t.status === 'leak' ? t.confidence.toFixed(3) : ''),
        el('td', { class: 'num' }, heapGrowth(t)),
        el('td', { class: 'name' }, what),
      );
      if (href) tr.onclick = (ev) => {
        if ((ev.target as HTMLElement).closest('a')) return;
        location.href = href;
      };
      body.append(tr);
    }
    table.append(body);
    notes.textContent = r.notes.map((n) => `note: ${n}`).join('\n');
    status.className = '';
    status.textContent = '';
  }

  for (;;) {
    try {
      const d = await apiGet<FleetPageData | { version: number; unchanged: true }>(`api/fleet?known=${api.version}`);
      if (!('unchanged' in d)) {
        render(d);
        api.version = d.version;
      }
      api.error = undefined;
    } catch (e) {
      status.textContent = (e as Error).message;
      status.className = 'error';
      api.error = (e as Error).message;
    }
    api.ready = true;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}
