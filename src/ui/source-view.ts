/**
 * A function's source as `leakscope list` shows it: flat and cum per line, with the file's lines
 * when the server found the file (--source-path), else the lines that carry samples and list's
 * "could not find file" line.
 */
import { percentage, scaledLabel } from '../core/units.js';
import type { SourceData } from './types.js';

export function renderSource(host: HTMLElement, d: SourceData): void {
  host.textContent = '';
  const fmt = (v: number) => (v === 0 ? '.' : scaledLabel(v, d.unit, 'auto'));
  for (const f of d.functions) {
    const h = document.createElement('h3');
    const v = (x: number) => scaledLabel(x, d.unit, 'auto');
    h.textContent = `${f.name} in ${f.file || '(no file)'} — flat ${v(f.flat)}, cum ${v(f.cum)} (${percentage(f.cum, d.total).trim()} of total)`;
    host.append(h);
    if (!f.sourceFound) {
      const p = document.createElement('div');
      p.className = 'src-missing';
      p.textContent = `could not find file ${f.file}: start leakscope web with --source-path DIR to see its lines`;
      host.append(p);
    }
    const t = document.createElement('table');
    t.className = 'src-table';
    for (const l of f.lines) {
      const tr = document.createElement('tr');
      if (l.flat !== 0 || l.cum !== 0) tr.className = 'hot';
      for (const [c, cls] of [[fmt(l.flat), 'num'], [fmt(l.cum), 'num'], [String(l.line), 'num ln'], [l.text ?? '', 'code']] as const) {
        const td = document.createElement('td');
        td.className = cls;
        td.textContent = c;
        tr.append(td);
      }
      t.append(tr);
    }
    host.append(t);
  }
}
