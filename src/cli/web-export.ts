/**
 * `leakscope web --export FILE.html <run-dir | snapshots…>`: one self-contained page. The page's
 * API answers are baked in (src/ui/types.ts Baked), made by the very routes that serve them, so
 * the exported views show the served numbers: for a run directory the heap over time with its
 * suspects, the GC view when the run kept metrics, each suspect's diff flame graph and as many
 * samples' flame graphs as fit the size budget (the last of each segment and the first, then
 * spread evenly); for snapshots the leak groups (or the summary) and the retainers of each
 * group's example object a few steps out.
 */
import { writeFileSync } from 'node:fs';
import { LeakscopeError } from '../core/errors.js';
import type { TimelineData } from '../report/timeline.js';
import type { Baked } from '../ui/types.js';
import { routeKey } from '../ui/types.js';
import type { CliIO } from './io.js';
import { RunDirGc } from './web-gc.js';
import { RunDirView } from './web-rundir.js';
import { modePage, type UiMode, type UiRoute } from './web-server.js';
import { SnapshotsView } from './web-snapshots.js';

/** what the flame graphs of one export may weigh (the suspects' diffs always go in) */
export const EXPORT_LAYOUT_BUDGET = 24 * 1024 * 1024;
/** objects whose retainers a snapshot export carries */
export const EXPORT_RETAINERS = 400;

async function ask(route: UiRoute, path: string): Promise<string> {
  const r = await route(new URL(path, 'http://export.invalid/'));
  if (!r || (r.status ?? 200) !== 200) throw new LeakscopeError('E_IO', `export: ${path}: ${r ? r.body.trim() : 'not found'}`);
  return r.body;
}

function write(file: string, mode: UiMode, data: string, io: CliIO, note: string): number {
  const html = modePage(mode, data).html;
  try {
    writeFileSync(file, html);
  } catch (e) {
    throw new LeakscopeError('E_IO', `cannot write ${file}: ${(e as Error).message}`);
  }
  io.stderr(`leakscope web: exported ${note} (${(Buffer.byteLength(html) / 1048576).toFixed(2)} MB)\n`);
  io.stdout(`${file}\n`);
  return 0;
}

/** Order in which samples' flame graphs go in: each segment's last and first, then halving the gaps. */
export function samplePriority(n: number, segmentEnds: number[]): number[] {
  const out: number[] = [];
  const seen = new Set<number>();
  const add = (i: number) => {
    if (i >= 0 && i < n && !seen.has(i)) seen.add(i), out.push(i);
  };
  for (const e of segmentEnds) add(e);
  add(0);
  for (let step = 2 ** Math.ceil(Math.log2(Math.max(1, n))); step >= 1; step = Math.floor(step / 2)) {
    for (let i = 0; i < n; i += step) add(i);
    if (step === 1) break;
  }
  return out;
}

export async function exportRunDir(dir: string, file: string, io: CliIO, budget = EXPORT_LAYOUT_BUDGET): Promise<number> {
  const view = new RunDirView(dir, io);
  await view.fromIndex(); // an unreadable index fails here
  const d: TimelineData = await view.data();
  const routes: Record<string, unknown> = {};
  routes[routeKey('api/timeline')] = d;
  const gc = await new RunDirGc(view.dir, io, false).view();
  routes[routeKey('api/gc')] = gc ?? { none: true, version: 0 };
  let bytes = 0;
  const add = async (p: string, b: string | undefined, si: string | undefined, force: boolean): Promise<boolean> => {
    const pb = `p=${encodeURIComponent(p)}${b ? `&b=${encodeURIComponent(b)}` : ''}`;
    const meta = JSON.parse(await ask(view.route, `api/meta?${pb}`)) as { sampleType: string; sampleTypes: { type: string }[] };
    const type = si && meta.sampleTypes.some((t) => t.type === si) ? si : meta.sampleType;
    const body = await ask(view.route, `api/view?${pb}&si=${encodeURIComponent(type)}`);
    if (!force && bytes + body.length > budget) return false;
    bytes += body.length;
    // only the sample type carried: the page's selector offers what it can show
    routes[routeKey(`api/meta?${pb}`)] = { ...meta, sampleType: type, sampleTypes: meta.sampleTypes.filter((t) => t.type === type) };
    routes[routeKey(`api/view?${pb}&si=${encodeURIComponent(type)}`)] = JSON.parse(body);
    return true;
  };
  for (const s of d.suspects) await add(s.segmentLastFile, s.segmentFirstFile, undefined, true);
  let shipped = 0;
  let total = 0;
  let full = false;
  for (const k of d.kinds) {
    total += k.points.length;
    const ends = k.points.map((p, i) => (i === k.points.length - 1 || k.points[i + 1]!.segment !== p.segment ? i : -1)).filter((i) => i >= 0);
    for (const i of samplePriority(k.points.length, ends)) {
      if (full) break;
      if (await add(k.points[i]!.file, undefined, k.sampleTypes[0], false)) shipped++;
      else full = true;
    }
  }
  const baked: Baked = {
    baked: true,
    routes,
    missing: `not in this export (it carries the flame graphs of ${shipped} of ${total} samples, to stay under ${Math.round(budget / 1048576)} MB; serve the run directory with leakscope web for all)`,
  };
  const n = (k: number, w: string) => `${k} ${w}${k === 1 ? '' : 's'}`;
  return write(file, 'timeline', JSON.stringify(baked), io, `${n(d.kinds.length, 'kind')}, ${n(d.suspects.length, 'suspect')}, ${shipped} of ${total} samples' flame graphs${gc ? `, GC (${n(gc.scrapes, 'scrape')})` : ''}`);
}

export async function exportSnapshots(sources: string[], file: string, io: CliIO, max = EXPORT_RETAINERS): Promise<number> {
  const v = await SnapshotsView.open(sources, io);
  const routes: Record<string, unknown> = {};
  const body = JSON.parse(await ask(v.route, 'api/snapshots')) as { mode: string; leaks?: { groups: { representativeId: number }[] } };
  routes[routeKey('api/snapshots')] = body;
  // the retainers of each group's example object, breadth first, a few steps out
  const queue: number[] = (body.leaks?.groups ?? []).map((g) => g.representativeId);
  const seen = new Set<number>(queue);
  let n = 0;
  while (queue.length > 0 && n < max) {
    const id = queue.shift()!;
    const a = JSON.parse(await ask(v.route, `api/retainers?id=${id}`)) as { retainers: { id: number }[] };
    routes[routeKey(`api/retainers?id=${id}`)] = a;
    n++;
    for (const r of a.retainers) if (!seen.has(r.id)) seen.add(r.id), queue.push(r.id);
  }
  const baked: Baked = {
    baked: true,
    routes,
    missing: `not in this export (it carries the retainers of ${n} objects near each group's example; serve the snapshots with leakscope web to walk further)`,
  };
  return write(file, 'snapshots', JSON.stringify(baked), io, `${body.mode === 'leaks' ? `${body.leaks?.groups.length ?? 0} leak groups` : 'the summary'}, retainers of ${n} objects`);
}
