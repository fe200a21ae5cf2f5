/** GET a JSON endpoint of the leakscope server, with the page's token when it has one. */
export async function apiGet<T>(path: string): Promise<T> {
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
  const token = new URLSearchParams(location.search).get('token');
  if (token) q.set('token', token);
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
