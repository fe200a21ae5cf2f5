/**
 * The call graph view: graphviz's SVG of `leakscope graph` (sent by the server), pannable (drag)
 * and zoomable (wheel, around the pointer) by moving the SVG's viewBox; clicking a node calls back
 * with its name (the page focuses on it). Without graphviz the server says so and the page shows
 * that line with the nodes as a list.
 */
import { percentage, scaledLabel } from '../core/units.js';
import type { GraphData } from './types.js';

export interface GraphViewApi {
  /** names of the nodes drawn (in DOT order, N1 first) */
  nodes: string[];
  /** the current viewBox: x, y, w, h */
  viewBox: number[];
  /** ms to apply the last pan or zoom */
  redrawMs: number;
}

interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

export class GraphView {
  readonly api: GraphViewApi = { nodes: [], viewBox: [], redrawMs: 0 };
  private svg: SVGSVGElement | undefined;
  private vb: Box = { x: 0, y: 0, w: 1, h: 1 };
  private full: Box = { x: 0, y: 0, w: 1, h: 1 };

  constructor(
    private readonly host: HTMLElement,
    private readonly message: HTMLElement,
    private readonly onNode: (name: string) => void,
  ) {}

  /** Shows `data`; the nodes `selected` (the focus regex) matches are outlined. */
  show(data: GraphData, selected?: RegExp): void {
    this.host.textContent = '';
    this.svg = undefined;
    this.api.nodes = data.nodes.map((n) => n.name);
    const byId = new Map(data.nodes.map((n) => [n.id, n]));
    if (!data.svg) {
      this.message.textContent = `${data.svgError ?? 'no SVG'} — the nodes of the graph as a list:`;
      this.message.className = 'error';
      const ol = document.createElement('ol');
      ol.className = 'graph-list';
      for (const n of data.nodes) {
        const li = document.createElement('li');
        li.textContent = `${n.name}  flat ${scaledLabel(n.flat, data.unit, 'auto')} (${percentage(n.flat, data.total).trim()})  cum ${scaledLabel(n.cum, data.unit, 'auto')} (${percentage(n.cum, data.total).trim()})`;
        li.dataset.name = n.name;
        li.onclick = () => this.onNode(n.name);
        ol.append(li);
      }
      this.host.append(ol);
      return;
    }
    this.message.className = '';
    this.message.textContent = 'drag to pan, wheel to zoom, double-click to fit; click a node to focus on it';
    const doc = new DOMParser().parseFromString(data.svg, 'image/svg+xml');
    const root = doc.documentElement;
    if (root.nodeName !== 'svg') {
      this.message.textContent = 'the call graph SVG could not be read';
      this.message.className = 'error';
      return;
    }
    // nothing active from the SVG: drop scripts, event attributes and links (graphviz writes none, but the names are the profile's)
    for (const el of Array.from(root.querySelectorAll('script, foreignObject'))) el.remove();
    for (const el of Array.from(root.querySelectorAll('*'))) {
      for (const a of Array.from(el.attributes)) if (/^on/i.test(a.name) || /href$/i.test(a.name)) el.removeAttribute(a.name);
    }
    const svg = document.importNode(root, true) as unknown as SVGSVGElement;
    const vb = (svg.getAttribute('viewBox') ?? '').split(/[\s,]+/).map(Number);
    this.full = vb.length === 4 && vb.every(Number.isFinite) ? { x: vb[0]!, y: vb[1]!, w: vb[2]!, h: vb[3]! } : { x: 0, y: 0, w: 1000, h: 1000 };
    svg.removeAttribute('width');
    svg.removeAttribute('height');
    svg.setAttribute('preserveAspectRatio', 'xMidYMin meet');
    svg.id = 'graph-svg';
    this.svg = svg;
    for (const g of Array.from(svg.querySelectorAll<SVGGElement>('g.node'))) {
      // graphviz titles each node with its DOT name (N1…); its ids can collide with the legend's
      const m = /^N(\d+)$/.exec(g.querySelector('title')?.textContent?.trim() ?? '');
      const n = m ? byId.get(Number(m[1])) : undefined;
      if (!n) continue;
      g.dataset.name = n.name;
      g.classList.toggle('selected', selected?.test(n.name) ?? false);
    }
    this.host.append(svg);
    this.fit();
    this.wire(svg);
  }

  /** the whole graph, or its upper part at a readable scale when it is very tall */
  fit(): void {
    const f = this.full;
    const aspect = this.host.clientHeight > 0 ? this.host.clientWidth / this.host.clientHeight : 2;
    // a graph much taller than the view would be unreadably small: its top part, at most 2.5 views tall
    this.setBox({ x: f.x, y: f.y, w: f.w, h: Math.min(f.h, (2.5 * f.w) / aspect) });
  }

  private setBox(b: Box): void {
    const t0 = performance.now();
    this.vb = b;
    this.svg?.setAttribute('viewBox', `${b.x} ${b.y} ${b.w} ${b.h}`);
    this.api.viewBox = [b.x, b.y, b.w, b.h];
    this.api.redrawMs = performance.now() - t0;
    performance.mark('leakscope:graph-moved');
  }

  /** a screen point in the SVG's user units */
  private toSvg(svg: SVGSVGElement, cx: number, cy: number): { x: number; y: number } {
    const m = svg.getScreenCTM();
    if (!m) return { x: this.vb.x, y: this.vb.y };
    const p = new DOMPoint(cx, cy).matrixTransform(m.inverse());
    return { x: p.x, y: p.y };
  }

  private wire(svg: SVGSVGElement): void {
    svg.addEventListener(
      'wheel',
      (e) => {
        e.preventDefault();
        const k = Math.exp(Math.max(-1, Math.min(1, e.deltaY * (e.deltaMode === 1 ? 0.05 : 0.002))));
        const p = this.toSvg(svg, e.clientX, e.clientY);
        const b = this.vb;
        const w = Math.min(Math.max(b.w * k, this.full.w / 200), this.full.w * 20);
        const r = w / b.w;
        this.setBox({ x: p.x - (p.x - b.x) * r, y: p.y - (p.y - b.y) * r, w, h: b.h * r });
      },
      { passive: false },
    );
    let drag: { x: number; y: number; box: Box; moved: boolean; scale: number } | undefined;
    svg.addEventListener('pointerdown', (e) => {
      if (e.button !== 0) return;
      const m = svg.getScreenCTM();
      drag = { x: e.clientX, y: e.clientY, box: { ...this.vb }, moved: false, scale: m ? m.a : 1 };
    });
    svg.addEventListener('pointermove', (e) => {
      if (!drag) return;
      const dx = e.clientX - drag.x;
      const dy = e.clientY - drag.y;
      if (!drag.moved && Math.abs(dx) + Math.abs(dy) < 4) return;
      if (!drag.moved) svg.setPointerCapture(e.pointerId);
      drag.moved = true;
      svg.classList.add('dragging');
      this.setBox({ ...drag.box, x: drag.box.x - dx / drag.scale, y: drag.box.y - dy / drag.scale });
    });
    const end = (e: PointerEvent) => {
      if (!drag) return;
      const moved = drag.moved;
      drag = undefined;
      svg.classList.remove('dragging');
      if (moved || e.type !== 'pointerup') return;
      const g = (e.target as Element).closest?.('g.node') as SVGGElement | null;
      if (g?.dataset.name) this.onNode(g.dataset.name);
    };
    svg.addEventListener('pointerup', end);
    svg.addEventListener('pointercancel', end);
    svg.addEventListener('dblclick', () => this.fit());
  }
}
