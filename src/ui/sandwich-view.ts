/**
 * A function's sandwich, as speedscope draws it: its callers as a small inverted flame above it,
 * its callees as a small flame below, widths by the edge weights `peek` reports (report/tree.ts;
 * the server sends them), the function itself full width between them. Clicking a caller or a
 * callee opens that function's sandwich. Below, the callers' and callees' trees expand step by
 * step beyond one level (renderSandwichTrees).
 */
import { percentage, scaledLabel } from '../core/units.js';
import type { FlameLayout } from '../report/flame.js';
import { sandwichStep } from './sandwich-tree.js';
import type { SandwichData } from './types.js';

type Edge = { name: string; weight: number; inline: boolean };

function bars(edges: Edge[], cum: number, cls: string, fmt: (v: number) => string, onPick: (name: string) => void, rest?: { label: string; value: number }): HTMLElement {
  const row = document.createElement('div');
  row.className = `sw-row ${cls}`;
  let x = 0;
  const whole = Math.abs(cum) || 1;
  const add = (label: string, value: number, edge?: Edge) => {
    const w = (100 * Math.abs(value)) / whole;
    const d = document.createElement('div');
    d.className = edge ? 'sw-bar' : 'sw-bar sw-self';
    d.style.left = `${x}%`;
    d.style.width = `${Math.max(w, 0.2)}%`;
    d.textContent = label;
    d.title = `${label}\n${fmt(value)} (${percentage(value, cum).trim()} of this function's cum)${edge?.inline ? '\n(inline)' : ''}`;
    if (edge) {
      d.dataset.name = edge.name;
      d.dataset.weight = String(edge.weight);
      d.onclick = () => onPick(edge.name);
    }
    row.append(d);
    x += w;
  };
  for (const e of edges) add(e.name, e.weight, e);
  if (rest && rest.value !== 0) add(rest.label, rest.value);
  if (edges.length === 0 && !rest?.value) {
    row.classList.add('sw-empty');
    row.textContent = cls === 'sw-callers' ? '(no callers: a root)' : '(no callees)';
  }
  return row;
}

/** Renders the sandwich of every node `peek` matched (usually one) into `host`. */
export function renderSandwich(host: HTMLElement, d: SandwichData, onPick: (name: string) => void): void {
  host.textContent = '';
  const fmt = (v: number) => scaledLabel(v, d.unit, 'auto');
  for (const n of d.nodes) {
    const box = document.createElement('div');
    box.className = 'sandwich';
    const h = document.createElement('h3');
    h.textContent = 'callers ↑ (width: share of its cum through each caller)';
    box.append(h, bars(n.callers, n.cum, 'sw-callers', fmt, onPick));
    const mid = document.createElement('div');
    mid.className = 'sw-row sw-focus';
    const bar = document.createElement('div');
    bar.className = 'sw-bar sw-main';
    bar.style.left = '0';
    bar.style.width = '100%';
    bar.textContent = `${n.name} — flat ${fmt(n.flat)} (${percentage(n.flat, d.total).trim()}), cum ${fmt(n.cum)} (${percentage(n.cum, d.total).trim()})`;
    bar.dataset.name = n.name;
    mid.append(bar);
    const h2 = document.createElement('h3');
    h2.textContent = 'callees ↓ (and its own flat: self)';
    box.append(mid, h2, bars(n.callees, n.cum, 'sw-callees', fmt, onPick, { label: 'self', value: n.flat }));
    // peek's numbers as a table too: weight and share of the function's cum
    const t = document.createElement('table');
    t.className = 'sw-table';
    const row = (cells: string[], cls: string) => {
      const tr = document.createElement('tr');
      tr.className = cls;
      cells.forEach((c, k) => {
        const td = document.createElement('td');
        td.textContent = c;
        if (k < 2) td.className = 'num';
        tr.append(td);
      });
      t.append(tr);
    };
    for (const e of n.callers) row([fmt(e.weight), percentage(e.weight, n.cum).trim(), `↑ ${e.name}${e.inline ? ' (inline)' : ''}`], 'sw-caller');
    row([fmt(n.cum), percentage(n.cum, d.total).trim(), n.name], 'sw-self-row');
    for (const e of n.callees) row([fmt(e.weight), percentage(e.weight, n.cum).trim(), `↓ ${e.name}${e.inline ? ' (inline)' : ''}`], 'sw-callee');
    box.append(t);
    host.append(box);
  }
}

/** at most this many names per step (the rest summed in one line) */
const STEP_LIMIT = 30;

/**
 * The callers' and callees' trees beyond one level (sandwich-tree.ts, from the flame graph's
 * layout): each name expands (▸) into the next step, conditioned on the path above it.
 */
export function renderSandwichTrees(host: HTMLElement, l: FlameLayout, fn: string, unit: string): void {
  const fmt = (v: number) => scaledLabel(v, unit, 'auto');
  const box = document.createElement('div');
  box.className = 'sw-trees';
  const root = sandwichStep(l, [fn], 'callers');
  if (root.value === 0) {
    box.textContent = `${fn}: not in the flame graph's layout (under 0.1% of the total?)`;
    host.append(box);
    return;
  }
  const whole = root.value;
  const list = (path: string[], dir: 'callers' | 'callees'): HTMLElement => {
    const step = sandwichStep(l, path, dir);
    const ul = document.createElement('ul');
    ul.className = 'sw-tree';
    const line = (text: string, cls: string) => {
      const li = document.createElement('li');
      li.className = cls;
      li.textContent = text;
      ul.append(li);
    };
    for (const c of step.children.slice(0, STEP_LIMIT)) {
      const li = document.createElement('li');
      const p = [...path, c.name];
      li.dataset.path = JSON.stringify(p);
      li.dataset.value = String(c.value);
      const tog = document.createElement('span');
      tog.className = 'toggle';
      tog.textContent = '▸';
      const label = document.createElement('span');
      label.textContent = ` ${dir === 'callers' ? '↑' : '↓'} ${c.name} — ${fmt(c.value)} (${percentage(c.value, whole).trim()})`;
      li.append(tog, label);
      tog.onclick = () => {
        const open = li.querySelector(':scope > ul');
        if (open) {
          open.remove();
          tog.textContent = '▸';
          return;
        }
        tog.textContent = '▾';
        li.append(list(p, dir));
      };
      ul.append(li);
    }
    const rest = step.children.slice(STEP_LIMIT).reduce((a, c) => a + c.value, 0);
    if (rest > 0) line(`… ${step.children.length - STEP_LIMIT} more, ${fmt(rest)}`, 'muted');
    if (dir === 'callees' && step.self > 0) line(`self ${fmt(step.self)} (${percentage(step.self, whole).trim()})`, 'muted sw-self-line');
    if (step.children.length === 0 && dir === 'callers') line('(no callers: a root)', 'muted');
    if (step.children.length === 0 && step.self === 0 && dir === 'callees') line('(no callees)', 'muted');
    return ul;
  };
  const h = document.createElement('h3');
  h.textContent = `callers, step by step (▸ expands; % of ${fn}'s ${fmt(whole)})`;
  const callers = list([fn], 'callers');
  callers.id = 'sw-callers-tree';
  const h2 = document.createElement('h3');
  h2.textContent = 'callees, step by step';
  const callees = list([fn], 'callees');
  callees.id = 'sw-callees-tree';
  const note = document.createElement('div');
  note.className = 'muted';
  note.textContent = "from the flame graph's merged stacks: frames under 0.1% of the total are left out of the steps";
  box.append(h, callers, h2, callees, note);
  host.append(box);
}
