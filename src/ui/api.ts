import { routeKey, type Baked } from './types.js';

let baked: Baked | null | undefined;
/** an exported fleet's target (`?t=DIR`): its answers are baked under `t/DIR/` */
let bakedPrefix = '';
export function setBakedPrefix(p: string): void {
  bakedPrefix = p;
}
/** the answers an exported page carries (undefined when served) */
export function bakedData(): Baked | undefined {
  if (baked === undefined) {
    const el = document.getElementById('leakscope-data');
    const d = el ? (JSON.parse(el.textContent ?? 'null') as Partial<Baked> | null) : null;
    baked = d && d.baked === true ? (d as Baked) : null;
  }
  return baked ?? undefined;
}

/** An exported page's answer to a request, as the server would give it (`unchanged` when the
 * page already has this version). */
export function bakedGet<T>(b: Baked, path: string): T {
  const key = routeKey(bakedPrefix + path);
  if (!(key in b.routes)) throw new Error(`${key.split('?')[0]}: ${b.missing}`);
  const v = b.routes[key] as { version?: number };
  const known = new URLSearchParams(path.split('?')[1] ?? '').get('known');
  if (known !== null && v && typeof v === 'object' && v.version !== undefined && String(v.version) === known) return { version: v.version, unchanged: true } as T;
  return v as T;
}

/** GET a JSON endpoint of the leakscope server, with the page's token when it has one (or the
 * answer an exported page carries). */
export async function apiGet<T>(path: string): Promise<T> {
  const b = bakedData();
  if (b) return bakedGet<T>(b, path);
  const token = new URLSearchParams(location.search).get('token');
  const u = new URL(path, location.href);
  u.hash = '';
  if (token) u.searchParams.set('token', token);
  const r = await fetch(u, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  if (!r.ok) throw new Error(`${path.split('?')[0]}: ${r.status} ${(await r.text()).trim()}`);
  return (await r.json()) as T;
}

/** a link to this page with other query parameters (the token kept) */
export function pageLink(params: Record<string, string>): string {
  const q = new URLSearchParams();
  const here = new URLSearchParams(location.search);
  const token = here.get('token');
  if (token) q.set('token', token);
  // an exported fleet's target stays that target
  const t = here.get('t');
  if (t && bakedPrefix) q.set('t', t);
  for (const [k, v] of Object.entries(params)) q.set(k, v);
  return `${location.pathname}?${q.toString()}`;
}

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else e.setAttribute(k, v);
  }
  e.append(...children);
  return e;
}

/** hides the flame graph's own controls and sections, and gives a view its own section */
export function takeOverPage(id: string, title: string): HTMLElement {
  for (const s of ['nav', 'label:has(#sample-type)', 'label:has(#search)', '#search-result', '#flame-view', '#top-view', '#filters']) {
    for (const e of document.querySelectorAll<HTMLElement>(s)) e.hidden = true;
  }
  document.getElementById('title')!.textContent = title;
  const sec = el('section', { id, class: 'extra-view' });
  document.body.insertBefore(sec, document.getElementById('leakscope-data') ?? document.body.lastElementChild);
  return sec;
}
