/**
 * Which view the page starts: the server names its mode in <meta name="leakscope-mode"> —
 * `timeline` (a watch run directory; `?p=FILE[&b=BASE]` opens one sample's flame graph or a
 * segment's diff through the ordinary flame view), `snapshots` or `gc` (a live service's GC view).
 * `fleet` is a fleet directory's page (a target's page names the fleet page in <meta
 * name="leakscope-fleet">). Without it, the flame graph.
 */
import { bakedData, pageLink, setBakedPrefix } from './api.js';
import { fleetView } from './fleet-view.js';
import { gcPage } from './gc-view.js';
import { snapshotView } from './snapshot-view.js';
import { timelineView } from './timeline-view.js';

/** true when a view other than the flame graph took the page */
export async function startExtraView(): Promise<boolean> {
  let mode = document.querySelector<HTMLMetaElement>('meta[name="leakscope-mode"]')?.content;
  const q = new URLSearchParams(location.search);
  // a target of a fleet (web FLEET_DIR): a way back to the fleet page
  let fleet = document.querySelector<HTMLMetaElement>('meta[name="leakscope-fleet"]')?.content;
  if (mode === 'fleet' && q.get('t') && bakedData()) {
    // an exported fleet: the target's heap over time from the same file
    setBakedPrefix(`t/${encodeURIComponent(q.get('t')!)}/`);
    mode = 'timeline';
    fleet = location.pathname;
  }
  if (fleet) {
    const a = document.createElement('a');
    a.id = 'back-to-fleet';
    const token = q.get('token');
    a.href = fleet + (token ? `?token=${encodeURIComponent(token)}` : '');
    a.textContent = '← fleet';
    document.querySelector('header h1')?.after(a);
  }
  if (mode === 'fleet') {
    await fleetView();
    return true;
  }
  if (mode === 'timeline' && !q.get('p')) {
    await timelineView();
    return true;
  }
  if (mode === 'timeline') {
    // one sample's flame graph: a way back to the chart
    const a = document.createElement('a');
    a.id = 'back-to-timeline';
    a.href = pageLink({});
    a.textContent = '← heap over time';
    document.querySelector('header h1')?.after(a);
    return false;
  }
  if (mode === 'snapshots') {
    await snapshotView();
    return true;
  }
  if (mode === 'gc') {
    await gcPage();
    return true;
  }
  return false;
}

/** the query parameters the flame view forwards to the server (which profile of a run) */
export function forwardedParams(): [string, string][] {
  const q = new URLSearchParams(location.search);
  const out: [string, string][] = [];
  for (const k of ['p', 'b']) {
    const v = q.get(k);
    if (v) out.push([k, v]);
  }
  return out;
}
