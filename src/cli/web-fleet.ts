/**
 * `leakscope web FLEET_DIR`: the fleet page (targets ranked, findings grouped) and, under
 * `/t/<run dir>/`, each target's heap-over-time view. `/api/fleet` is `analyze --json FLEET_DIR`'s
 * report, made by the same functions (cli/fleet.ts analyzeFleetDir, report/fleet.ts
 * fleetReportJson), so the page and the CLI never disagree; it is recomputed when fleet.json or a
 * target's index changed (a fleet still being watched fills in). A target's routes are
 * web-rundir.ts's, reached with the `/t/<dir>` prefix taken off.
 */
import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { LeakscopeError } from '../core/errors.js';
import { readFleetMeta, type FleetMetaFile } from '../node/fleet-dir.js';
import { fleetReportJson, type FleetJson } from '../report/fleet.js';
import { analyzeFleetDir } from './fleet.js';
import type { CliIO } from './io.js';
import { RunDirGc, withGc } from './web-gc.js';
import { RunDirView } from './web-rundir.js';
import { modePage, type RouteResult, type UiRoute } from './web-server.js';

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
  private readonly targets = new Map<string, UiRoute>();

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
  private async target(name: string): Promise<UiRoute> {
    let r = this.targets.get(name);
    if (r) return r;
    const meta = await readFleetMeta(this.dir);
    if (!meta.targets.some((t) => t.dir === name)) throw new LeakscopeError('E_USAGE', `${name.slice(0, 200)}: not a target of this fleet`);
    const view = new RunDirView(join(this.dir, name), this.io);
    r = withGc(new RunDirGc(view.dir, this.io, false).route, view.route);
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
    const route = await this.target(name);
    const rest = m[2] ?? '/';
    if (rest === '/') return { type: 'text/html; charset=utf-8', body: targetPage() };
    const inner = new URL(url.href);
    inner.pathname = rest;
    return route(inner);
  };
}
