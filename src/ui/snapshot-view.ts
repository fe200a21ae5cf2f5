/**
 * Heap snapshots: `snapshot leaks`' groups (three or more snapshots), each expandable into its
 * retainer path and example objects; or, for one snapshot, `snapshot summary`'s classes (sortable)
 * and the retainers of one object, expandable one step at a time like DevTools' Retainers pane.
 */
import type { HeapSummary } from '../core/heap/summary.js';
import type { LeakGroup } from '../core/heap/leaks.js';
import { formatBytes } from '../report/snapshot.js';
import { apiGet, el, takeOverPage } from './api.js';

interface SnapshotsData {
  mode: 'leaks' | 'summary';
  title: string;
  sources: string[];
  leaks?: { snapshots: number; leakedObjects: number; groups: LeakGroup[] };
  summary?: HeapSummary;
}

interface RetainerStep {
  id: number;
  className: string;
  name: string;
  edge: string;
  edgeType: string;
  retaining: boolean;
  selfSize: number;
  retainedSize: number;
}

interface RetainersAnswer {
  object: { id: number; className: string; name: string; selfSize: number; retainedSize: number; location: string | null; retainerPath: string[]; steps: { edgeType: string; edge: string; className: string; name: string; id: number }[] };
  retainers: RetainerStep[];
  totalRetainers: number;
}

/** An object and its retainers, each expandable into its own (fetched on demand). */
function retainerTree(id: number, onError: (m: string) => void): HTMLElement {
  const box = el('div', { class: 'retainers', 'data-root-id': String(id) });
  const head = el('div', { class: 'muted' }, `loading retainers of @${id}…`);
  box.append(head);
  const expand = async (li: HTMLElement, oid: number) => {
    const open = li.querySelector(':scope > ul');
    const tog = li.querySelector<HTMLElement>(':scope > .toggle');
    if (open) {
      open.remove();
      if (tog) tog.textContent = '▸';
      return;
    }
    let a: RetainersAnswer;
    try {
      a = await apiGet<RetainersAnswer>(`api/retainers?id=${oid}`);
    } catch (e) {
      onError((e as Error).message);
      return;
    }
    if (tog) tog.textContent = '▾';
    const ul = el('ul');
    for (const r of a.retainers) ul.append(item(r));
    if (a.totalRetainers > a.retainers.length) ul.append(el('li', { class: 'muted' }, `… ${a.totalRetainers - a.retainers.length} more retainers`));
    if (a.retainers.length === 0) ul.append(el('li', { class: 'muted' }, '(no retainers: a GC root)'));
    li.append(ul);
  };
  const item = (r: RetainerStep): HTMLElement => {
    const tog = el('span', { class: 'toggle' }, '▸');
    const li = el(
      'li',
      { 'data-id': String(r.id), class: r.retaining ? '' : 'weak' },
      tog,
      el('span', { class: 'edge' }, `${r.edgeType === 'element' || r.edgeType === 'hidden' ? `[${r.edge}]` : r.edge} in `),
      el('span', { class: 'cls' }, r.className),
      r.name && r.name !== r.className ? ` "${r.name}"` : '',
      el('span', { class: 'muted' }, ` @${r.id} · self ${formatBytes(r.selfSize)} · retained ${formatBytes(r.retainedSize)}${r.retaining ? '' : ` · ${r.edgeType} (not retaining)`}`),
    );
    tog.onclick = () => void expand(li, r.id);
    return li;
  };
  void (async () => {
    let a: RetainersAnswer;
    try {
      a = await apiGet<RetainersAnswer>(`api/retainers?id=${id}`);
    } catch (e) {
      head.textContent = (e as Error).message;
      head.className = 'error';
      return;
    }
    const o = a.object;
    head.className = '';
    head.textContent = `${o.className} @${o.id}: self ${formatBytes(o.selfSize)}, retained ${formatBytes(o.retainedSize)}${o.location ? `, at ${o.location}` : ''}`;
    box.append(el('div', { class: 'path' }, o.steps.length === 0 ? '(not reachable from the GC roots through retaining edges)' : `shortest retainer path: ${o.retainerPath.join(' → ')}`));
    const ul = el('ul', { class: 'tree' });
    const top = el('li', { 'data-id': String(o.id) }, el('span', { class: 'toggle' }, '▾'), el('span', { class: 'cls' }, o.className), el('span', { class: 'muted' }, ` @${o.id}`));
    top.querySelector<HTMLElement>('.toggle')!.onclick = () => void expand(top, o.id);
    ul.append(top);
    box.append(el('div', { class: 'muted' }, 'retained by (▸ expands one step):'), ul);
    const inner = el('ul');
    for (const r of a.retainers) inner.append(item(r));
    if (a.retainers.length === 0) inner.append(el('li', { class: 'muted' }, '(no retainers: a GC root)'));
    top.append(inner);
  })();
  return box;
}

export async function snapshotView(): Promise<void> {
  const status = document.getElementById('status')!;
  const root = takeOverPage('snapshot-view', '');
  const errors = el('div', { id: 'snapshot-errors', class: 'error' });
  root.append(errors);
  const onError = (m: string) => (errors.textContent = m);
  let d: SnapshotsData;
  try {
    d = await apiGet<SnapshotsData>('api/snapshots');
  } catch (e) {
    status.textContent = (e as Error).message;
    status.className = 'error';
    return;
  }
  document.getElementById('title')!.textContent = d.title;
  const api = { ready: false, mode: d.mode };
  Object.defineProperty(window, '__leakscopeSnapshots', { value: api, writable: false, configurable: false });

  if (d.mode === 'leaks') {
    const l = d.leaks!;
    const leaks = l.groups.filter((g) => g.status !== 'possible-cache').length;
    status.textContent = `${leaks} leak group(s)${l.groups.length > leaks ? ` and ${l.groups.length - leaks} possible cache(s)` : ''} across ${l.snapshots} snapshots · ${l.leakedObjects} objects born between the first two still alive`;
    const table = el('table', { id: 'leak-groups' });
    table.append(el('thead', {}, el('tr', {}, ...['#', 'count', 'retained', 'growth', 'status', 'name', 'location'].map((h) => el('th', { class: h === 'name' || h === 'location' ? 'name' : '' }, h)))));
    const body = el('tbody');
    l.groups.forEach((g, i) => {
      const tr = el(
        'tr',
        { class: 'group', 'data-index': String(i), title: 'click: retainer path and example objects' },
        el('td', { class: 'num' }, `▸ ${i + 1}`),
        el('td', { class: 'num count' }, String(g.count)),
        el('td', { class: 'num retained' }, formatBytes(g.retainedSize)),
        el('td', { class: 'num growth' }, g.growth.join(' → ')),
        el('td', { class: g.status === 'possible-cache' ? 'status cache' : 'status leak' }, g.status),
        el('td', { class: 'name' }, g.name),
        el('td', { class: 'name' }, g.location ?? ''),
      );
      tr.dataset.retainedSize = String(g.retainedSize);
      let detail: HTMLElement | undefined;
      tr.onclick = () => {
        if (detail) {
          detail.remove();
          detail = undefined;
          tr.firstElementChild!.textContent = `▸ ${i + 1}`;
          return;
        }
        tr.firstElementChild!.textContent = `▾ ${i + 1}`;
        const box = el('div', { class: 'group-detail' });
        box.append(el('div', { class: 'label' }, 'retainer path'), el('ol', { class: 'retainer-path' }, ...g.retainerPath.map((s) => el('li', {}, s))));
        if (g.classes.length > 1) box.append(el('div', {}, `classes: ${g.classes.map((c) => `${c.count} ${c.className}`).join(', ')}`));
        for (const why of g.cacheEvidence) box.append(el('div', { class: 'muted' }, `why a possible cache: ${why}`));
        if (g.owner) box.append(el('div', {}, `owner: ${g.owner.className} @${g.owner.id} (retains ${formatBytes(g.owner.retainedSize)})${g.owner.location ? ` at ${g.owner.location}` : ''}`));
        box.append(el('div', { class: 'label' }, `example object (the largest of the group, in ${d.sources[d.sources.length - 1]})`));
        box.append(retainerTree(g.representativeId, onError));
        detail = el('tr', { class: 'detail' }, el('td', { colspan: '7' }, box));
        tr.after(detail);
      };
      body.append(tr);
    });
    table.append(body);
    root.append(table);
    if (l.groups.length === 0) root.append(el('p', {}, `no growing leak groups across ${l.snapshots} snapshots`));
  } else {
    const s = d.summary!;
    status.textContent = `${s.nodeCount} nodes, ${s.edgeCount} edges, ${formatBytes(s.totalSize)} total${s.unreachable ? `, ${s.unreachable} unreachable` : ''} · ${s.rows.length} classes`;
    const form = el('div', { class: 'controls' });
    const idBox = el('input', { id: 'object-id', placeholder: 'object id, e.g. 12345', size: '14' });
    const go = el('button', { id: 'show-retainers' }, 'retainers');
    const out = el('div', { id: 'object-retainers' });
    const show = () => {
      const id = Number(idBox.value.replace(/^@/, '').trim());
      out.textContent = '';
      if (!Number.isInteger(id) || id < 0) return onError('give an object id (a number, as in @12345)');
      onError('');
      out.append(retainerTree(id, onError));
    };
    go.onclick = show;
    idBox.onkeydown = (e) => {
      if (e.key === 'Enter') show();
    };
    form.append(el('label', {}, 'retainers of @', idBox), go);
    root.append(form, out);
    const LIMIT = 500;
    type SortKey = 'count' | 'shallowSize' | 'retainedSize' | 'className';
    let sort = 'retainedSize' as SortKey;
    const table = el('table', { id: 'summary-table' });
    const headRow = el('tr');
    const cols: [SortKey, string][] = [['count', 'count'], ['shallowSize', 'shallow'], ['retainedSize', 'retained'], ['className', 'class']];
    for (const [k, label] of cols) {
      const th = el('th', { 'data-sort': k, class: k === 'className' ? 'name' : '' }, label);
      th.onclick = () => {
        sort = k;
        fill();
      };
      headRow.append(th);
    }
    table.append(el('thead', {}, headRow));
    const body = el('tbody');
    table.append(body);
    const more = el('p', { class: 'muted' });
    root.append(table, more);
    const fill = () => {
      const rows = s.rows.slice();
      if (sort === 'className') rows.sort((a, b) => a.className.localeCompare(b.className));
      else {
        const k = sort;
        rows.sort((a, b) => b[k] - a[k] || a.className.localeCompare(b.className));
      }
      body.textContent = '';
      for (const r of rows.slice(0, LIMIT)) {
        body.append(el('tr', { 'data-class': r.className }, el('td', { class: 'num' }, String(r.count)), el('td', { class: 'num' }, formatBytes(r.shallowSize)), el('td', { class: 'num' }, formatBytes(r.retainedSize)), el('td', { class: 'name' }, r.className)));
      }
      for (const th of headRow.querySelectorAll<HTMLElement>('th')) th.classList.toggle('sorted', th.dataset.sort === sort);
      more.textContent = rows.length > LIMIT ? `… ${rows.length - LIMIT} more classes` : '';
    };
    fill();
  }
  api.ready = true;
}
