/**
 * `leakscope web FLEET_DIR` (and `--export`): the fleet page (targets ranked, findings grouped) and, under
 * `/t/<run dir>/`, each target's heap-over-time view. `/api/fleet` is `analyze --json FLEET_DIR`'s
 * report, made by the same functions (cli/fleet.ts analyzeFleetDir, report/fleet.ts
 * fleetReportJson), so the page and the CLI never disagree; it is recomputed when fleet.json or a
 * target's index changed (a fleet still being watched fills in). A target's routes are
 * web-rundir.ts's, reached with the `/t/<dir>` prefix taken off.
 */
import { statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { LeakscopeError } from '../core/errors.js';
import { readFleetMeta, type FleetMetaFile } from '../node/fleet-dir.js';
import { fleetReportJson, type FleetJson } from '../report/fleet.js';
import { analyzeFleetDir } from './fleet.js';
import type { CliIO } from './io.js';
import { RunDirGc, withGc } from './web-gc.js';
import { RunDirView } from './web-rundir.js';
import { modePage, type RouteResult, type UiRoute } from './web-server.js';
import type { Baked } from '../ui/types.js';
import { routeKey } from '../ui/types.js';

/** What `/api/fleet` answers: the report, and the page path of each target's run directory. */
export interface FleetPageData {
  version: number;
  report: FleetJson;
  /** target id → `t/<dir>/` (relative to the fleet page) */
  links: Record<string, string>;
}

/** The page of one target: the timeline view, told where the fleet page is. */
export function targetPage(): string {
  return modePage('timeline').html.replace('<head>', '<head>\n<meta name="leakscope-fleet" content="../../">');
}

export class FleetView {
  readonly dir: string;
  private readonly io: CliIO;
  private stamp = '';
  private version = 0;
  private loading: Promise<FleetPageData> | undefined;
  private readonly targets = new Map<string, { view: RunDirView; gc: RunDirGc; route: UiRoute }>();

  constructor(dir: string, io: CliIO) {
    this.dir = resolve(dir);
    this.io = io;
  }

  private fileStamp(p: string): string {
    try {
      const s = statSync(p);
      return `${s.mtimeMs}:${s.size}`;
    } catch {
      return '-';
    }
  }

  private async currentStamp(): Promise<{ stamp: string; meta: FleetMetaFile }> {
    const meta = await readFleetMeta(this.dir);
    const parts = [this.fileStamp(join(this.dir, 'fleet.json'))];
    for (const t of meta.targets) parts.push(this.fileStamp(join(this.dir, t.dir, 'index.jsonl')));
    return { stamp: parts.join('|'), meta };
  }

  /** The fleet report as it is now (recomputed only when something changed). */
  async data(): Promise<FleetPageData> {
    const { stamp, meta } = await this.currentStamp();
    if (this.loading && stamp === this.stamp) return this.loading;
    this.stamp = stamp;
    const version = ++this.version;
    const p = analyzeFleetDir(this.dir, 'normal', undefined).then((r) => {
      const links: Record<string, string> = {};
      for (const t of meta.targets) links[t.id] = `t/${encodeURIComponent(t.dir)}/`;
      return { version, report: fleetReportJson(r.analysis, r.meta), links };
    });
    p.catch(() => {
      if (this.loading === p) this.stamp = '';
    });
    this.loading = p;
    return p;
  }

  /** The routes of the target whose run directory is `name` (one of fleet.json's). */
  async target(name: string): Promise<{ view: RunDirView; gc: RunDirGc; route: UiRoute }> {
    let r = this.targets.get(name);
    if (r) return r;
    const meta = await readFleetMeta(this.dir);
    if (!meta.targets.some((t) => t.dir === name)) throw new LeakscopeError('E_USAGE', `${name.slice(0, 200)}: not a target of this fleet`);
    const view = new RunDirView(join(this.dir, name), this.io);
    const gc = new RunDirGc(view.dir, this.io, false);
    r = { view, gc, route: withGc(gc.route, view.route) };
    this.targets.set(name, r);
    return r;
  }

  readonly route: UiRoute = async (url: URL): Promise<RouteResult | undefined> => {
    if (url.pathname === '/api/fleet') {
      const d = await this.data();
      if (url.searchParams.get('known') === String(d.version)) return { body: `{"version":${d.version},"unchanged":true}` };
      return { body: JSON.stringify(d) };
    }
    const m = /^\/t\/([^/]+)(\/.*)?$/.exec(url.pathname);
    if (!m) return undefined;
    let name: string;
    try {
      name = decodeURIComponent(m[1]!);
    } catch {
      return undefined;
    }
    const { route } = await this.target(name);
    // its page's requests are relative: only /t/<dir>/ finds them
    if (m[2] === undefined) return { status: 404, type: 'text/plain; charset=utf-8', body: `not found: the target's page is /t/${m[1]}/\n` };
    const rest = m[2];
    if (rest === '/') return { type: 'text/html; charset=utf-8', body: targetPage() };
    const inner = new URL(url.href);
    inner.pathname = rest;
    return route(inner);
  };
}

/**
 * `web --export FILE.html FLEET_DIR`: one page with the fleet report and every target's heap over
 * time, GC view and suspects' diff flame graphs baked in (the routes' own answers). In the file a
 * target is `?t=<run dir>` (the page asks its baked routes under `t/<run dir>/`); single samples'
 * flame graphs are left out (export the target's run directory for those).
 */
export async function exportFleet(dir: string, file: string, io: CliIO): Promise<number> {
  const fleet = new FleetView(dir, io);
  const meta = await readFleetMeta(fleet.dir);
  const d = await fleet.data();
  const routes: Record<string, unknown> = {};
  const links: Record<string, string> = {};
  for (const t of meta.targets) links[t.id] = `?t=${encodeURIComponent(t.dir)}`;
  routes[routeKey('api/fleet')] = { ...d, links };
  let diffs = 0;
  for (const t of meta.targets) {
    const { view, gc, route } = await fleet.target(t.dir);
    const pre = `t/${encodeURIComponent(t.dir)}/`;
    const td = await view.data();
    routes[routeKey(`${pre}api/timeline`)] = td;
    routes[routeKey(`${pre}api/gc`)] = (await gc.view()) ?? { none: true, version: 0 };
    for (const s of td.suspects) {
      const pb = `p=${encodeURIComponent(s.segmentLastFile)}&b=${encodeURIComponent(s.segmentFirstFile)}`;
      const ask = async (path: string): Promise<string> => {
        const r = await route(new URL(path, 'http://export.invalid/'));
        if (!r || (r.status ?? 200) !== 200) throw new LeakscopeError('E_IO', `export: ${t.dir}/${path}: ${r ? r.body.trim() : 'not found'}`);
        return r.body;
      };
      const m = JSON.parse(await ask(`api/meta?${pb}`)) as { sampleType: string; sampleTypes: { type: string }[] };
      routes[routeKey(`${pre}api/meta?${pb}`)] = { ...m, sampleTypes: m.sampleTypes.filter((x) => x.type === m.sampleType) };
      routes[routeKey(`${pre}api/view?${pb}&si=${encodeURIComponent(m.sampleType)}`)] = JSON.parse(await ask(`api/view?${pb}&si=${encodeURIComponent(m.sampleType)}`));
      diffs++;
    }
  }
  const baked: Baked = {
    baked: true,
    routes,
    missing: "not in this fleet export (it carries each target's heap over time and its suspects' diff flame graphs; export the target's run directory, or serve the fleet with leakscope web, for single samples)",
  };
  const html = modePage('fleet', JSON.stringify(baked)).html;
  try {
    writeFileSync(file, html);
  } catch (e) {
    throw new LeakscopeError('E_IO', `cannot write ${file}: ${(e as Error).message}`);
  }
  const n = (k: number, w: string) => `${k} ${w}${k === 1 ? '' : 's'}`;
  io.stderr(`leakscope web: exported ${n(meta.targets.length, 'target')}, ${n(d.report.findings.length, 'finding')}, ${n(diffs, "suspect's diff")} (${(Buffer.byteLength(html) / 1048576).toFixed(2)} MB)\n`);
  io.stdout(`${file}\n`);
  return 0;
}
