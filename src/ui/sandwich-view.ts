/**
 * A function's sandwich, as speedscope draws it: its callers as a small inverted flame above it,
 * its callees as a small flame below, widths by the edge weights `peek` reports (report/tree.ts;
 * the server sends them), the function itself full width between them. Clicking a caller or a
 * callee opens that function's sandwich.
 */
import { percentage, scaledLabel } from '../core/units.js';
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
