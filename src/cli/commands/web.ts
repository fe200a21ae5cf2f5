/**
 * `leakscope web`: the flame graph and top table of a profile (or a diff) in a browser. A thin
 * shell: the numbers come from the same report functions as `top --json` (report/top.ts) and the
 * flame layout (report/flame.ts); the page is the bundled UI (src/ui, built into dist/src/ui).
 *
 * Safety, as the agent: loopback by default; a non-loopback --http needs --token; every request
 * passes core/http-guard's checkRequest (Host must name this server; foreign Origin and cross-site
 * fetches refused) or gets 403; no CORS headers; GET and HEAD only; it only reads.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CommandSpec } from '../io.js';
import { subtractBase } from '../../core/algebra.js';
import { LeakscopeError } from '../../core/errors.js';
import { checkRequest, parseAllowedHosts, type GuardPolicy } from '../../core/http-guard.js';
import type { Profile } from '../../core/profile.js';
import { isUrl } from '../../node/url.js';
import { parseCommandArgs } from '../args.js';
import { fetchOptionsFrom, loadMerged, reportFlagHelp, reportFlagSpec, reportOptionsFrom, type ReportFlagValues } from '../report-flags.js';
import { flameLayout } from '../../report/flame.js';
import { prepareReport, type ReportOptions } from '../../report/prepare.js';
import { renderTopJson, topReport } from '../../report/top.js';
import type { Meta } from '../../ui/types.js';
import { runWebMode } from '../web-modes.js';
import { isLoopback, sendUi, tokenOk } from '../web-server.js';
import { cacheKey, graphData, initialFilters, loadMergedTolerant, openBrowser, optionsFromQuery, sandwichData, SmallCache, sourceData } from './web-pprof.js';

const spec = {
  ...reportFlagSpec,
  http: { type: 'string' },
  export: { type: 'string' },
  open: { type: 'boolean' },
  interval: { type: 'string' },
} as const;

export interface WebValues extends ReportFlagValues {
  http?: string;
  export?: string;
  open?: boolean;
  /** the GC view of a live service: time between metric scrapes */
  interval?: string;
}

/** The profiles behind the views: `top` reads `report` (as `top` would); the flame graph reads
 * `flame`, which under --base too keeps the base's samples apart (labelled) so that each frame can
 * show base and new. */
export interface Inputs {
  report: Profile;
  flame: Profile;
  diff: boolean;
  /** sources that failed to load (the rest are served) */
  errors: string[];
}

export async function loadInputs(sources: string[], v: WebValues): Promise<Inputs> {
  if (sources.length === 0) throw new LeakscopeError('E_USAGE', 'web: no profile given');
  const base = v.base ?? [];
  const diffBase = v['diff-base'] ?? [];
  if (base.length > 0 && diffBase.length > 0) throw new LeakscopeError('E_USAGE', 'web: --base and --diff-base cannot be used together');
  if (v.normalize && base.length + diffBase.length === 0) throw new LeakscopeError('E_USAGE', 'web: --normalize needs a base profile (--base or --diff-base)');
  const fetch = fetchOptionsFrom(v);
  const errors: string[] = [];
  const [src, b] = await Promise.all([
    loadMergedTolerant(sources, fetch, errors),
    base.length + diffBase.length > 0 ? loadMerged([...base, ...diffBase], fetch) : Promise.resolve(undefined),
  ]);
  if (!b) return { report: src, flame: src, diff: false, errors };
  const normalize = Boolean(v.normalize);
  const flame = subtractBase(src, b, { diff: true, normalize });
  return { report: diffBase.length > 0 ? flame : subtractBase(src, b, { diff: false, normalize }), flame, diff: true, errors };
}

/** One sample type's view data as JSON text: top --json verbatim, its unit and labels, the layout. */
export function viewJson(inp: Inputs, o: ReportOptions, si: string): string {
  const opts = { ...o, sampleIndex: si };
  const prep = prepareReport(inp.report, opts);
  const top = topReport(prep, opts, 0);
  const flamePrep = inp.flame === inp.report ? prep : prepareReport(inp.flame, opts);
  const flame = flameLayout(flamePrep, opts);
  if (inp.flame !== inp.report) flame.total = prep.total; // percentages as top's (of the base under --diff-base)
  return `{"top":${renderTopJson(top).trim()},"outputUnit":${JSON.stringify(top.outputUnit)},"labels":${JSON.stringify(top.labels)},"warnings":${JSON.stringify(prep.warnings)},"flame":${JSON.stringify(flame)}}`;
}

export function metaOf(inp: Inputs, o: ReportOptions, title: string): Meta {
  const prep = prepareReport(inp.report, o);
  return {
    title,
    sampleTypes: inp.report.sampleTypes.map((t) => ({ type: t.type, unit: t.unit })),
    sampleType: prep.sampleType,
    diff: inp.diff,
    warnings: prep.warnings,
    errors: inp.errors,
    filters: initialFilters(o),
  };
}

const uiDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'ui');

function readAsset(name: string): string {
  try {
    return readFileSync(join(uiDir, name), 'utf8');
  } catch {
    throw new LeakscopeError('E_IO', `the web UI is not built (${join(uiDir, name)} is missing): run npm run build`);
  }
}

/** The page with its script and styles inlined (and, for an export, its data). */
export function pageHtml(data?: string): { html: string; scriptHash: string } {
  const script = readAsset('app.js').replaceAll('</script', '<\\/script');
  const style = readAsset('style.css').replaceAll('</style', '<\\/style');
  const dataTag = data === undefined ? '' : `<script id="leakscope-data" type="application/json">${data.replaceAll('<', '\\u003c')}</script>`;
  const html = readAsset('index.html')
    .replace('/*LEAKSCOPE:STYLE*/', () => style)
    .replace('<!--LEAKSCOPE:DATA-->', () => dataTag)
    .replace('/*LEAKSCOPE:SCRIPT*/', () => script);
  return { html, scriptHash: createHash('sha256').update(script).digest('base64') };
}

/** `host:port`, `:port`, `[v6]:port` → parts. */
export function parseListen(addr: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(addr.trim());
  if (!m) throw new LeakscopeError('E_USAGE', `--http must be HOST:PORT (e.g. 127.0.0.1:8080, :0), got "${addr}"`);
  const port = Number(m[3]);
  if (port > 65535) throw new LeakscopeError('E_USAGE', `--http port must be at most 65535, got ${port}`);
  const host = m[1] ?? (m[2] === '' ? '127.0.0.1' : m[2]!);
  return { host, port };
}

export const webCommand: CommandSpec = {
  usage: `usage: leakscope web [flags] <profile|url>...
       leakscope web [--http ADDR] <watch-run-dir>            heap over time, suspects, gaps, restarts
       leakscope web [--http ADDR] S1.heapsnapshot [S2 S3…]   snapshot leak groups (3+), or summary (1)
       leakscope web [--interval D] http://host:port          GC view of a live Node agent (its metrics)
Serves the flame graph, the top table (a row opens its callers, callees and source) and the call
graph of the profile (merged when several; a diff with --diff-base/--base) in a browser, like
go tool pprof -http; focus/ignore/hide/show and the granularity can be changed in the page. Prints the URL on stdout; Ctrl-C stops.
  --http ADDR            where to listen (default 127.0.0.1:0: loopback, a free port)
  --token T              required on every request (header "Authorization: Bearer T" or ?token=T);
                         needed when ADDR is not loopback (or LEAKSCOPE_TOKEN); also sent to agent URLs
  --export FILE.html     write one self-contained page (data, script, styles inlined; works from
                         file:// without network) instead of serving; for a profile, a watch
                         run directory (with its samples' flame graphs and GC) or snapshots
  --open                 open the page in a browser (xdg-open, chromium…) when one is found
  --interval D           GC view of a service URL: time between metric scrapes (default 2s)
Sources that fail to load are reported (on stderr and in the page); the rest are served.
The flags below set the initial state (sample type, granularity, filters), as for top.
${reportFlagHelp}`,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs<WebValues>(argv, spec, 'web');
    const opts = reportOptionsFrom(values);
    const listen = values.export === undefined ? parseListen(values.http ?? '127.0.0.1:0') : undefined;
    const token = values.token ?? process.env.LEAKSCOPE_TOKEN;
    if (listen && !isLoopback(listen.host) && !token) {
      throw new LeakscopeError('E_USAGE', `--http ${values.http}: listening beyond loopback needs --token (or LEAKSCOPE_TOKEN)`);
    }
    // a watch run directory (heap over time) or heap snapshots: their own views (cli/web-modes.ts)
    const mode = await runWebMode(positionals, values, io);
    if (mode !== undefined) return mode;
    const inputs = await loadInputs(positionals, values);
    const names = (xs: string[]) => xs.map((x) => (isUrl(x) ? x : basename(x))).join(' + ');
    const title = names(positionals) + (values['diff-base']?.length ? ` vs ${names(values['diff-base'])}` : values.base?.length ? ` − ${names(values.base)}` : '');
    const meta = metaOf(inputs, opts, title);
    for (const w of meta.warnings) io.stderr(`${w}\n`);
    for (const e of inputs.errors) io.stderr(`leakscope web: ${e}\n`);

    if (values.export !== undefined) {
      const views: string[] = [];
      for (const t of meta.sampleTypes) views.push(`${JSON.stringify(t.type)}:${viewJson(inputs, opts, t.type)}`);
      // src/ui/types.ts's Embedded
      const data = `{"meta":${JSON.stringify(meta)},"views":{${views.join(',')}}}`;
      try {
        writeFileSync(values.export, pageHtml(data).html);
      } catch (e) {
        throw new LeakscopeError('E_IO', `cannot write ${values.export}: ${(e as Error).message}`);
      }
      io.stdout(`${values.export}\n`);
      return 0;
    }

    const page = pageHtml();
    const cache = new SmallCache<string>(16);
    const policy: { listen?: GuardPolicy['listen']; allowedHosts: string[] } = { allowedHosts: parseAllowedHosts(process.env.LEAKSCOPE_ALLOWED_HOSTS) };
    const send = (res: ServerResponse, status: number, type: string, body: string, head: boolean) => sendUi(res, page.scriptHash, status, type, body, head);
    /** a request's error: one line on stderr and in the answer (400 for bad filters, 404 for no match) */
    const failed = (res: ServerResponse, e: unknown, head: boolean) => {
      const msg = e instanceof LeakscopeError ? e.message : `internal error: ${(e as Error).message}`;
      io.stderr(`leakscope web: ${msg}\n`);
      const code = e instanceof LeakscopeError ? e.code : '';
      const status = code === 'E_USAGE' || code === 'E_REGEX' ? 400 : code === 'E_NO_DATA' ? 404 : 500;
      return send(res, status, 'text/plain; charset=utf-8', msg + '\n', head);
    };
    const server = createServer((req, res) => {
      const head = req.method === 'HEAD';
      const verdict = checkRequest(policy, { host: req.headers.host, origin: req.headers.origin, secFetchSite: req.headers['sec-fetch-site'] as string | undefined });
      if (!verdict.ok) return send(res, 403, 'text/plain; charset=utf-8', verdict.reason + '\n', head);
      if (req.method !== 'GET' && !head) return send(res, 405, 'text/plain; charset=utf-8', 'method not allowed: leakscope web only reads\n', head);
      const url = new URL(req.url ?? '/', 'http://leakscope.invalid');
      if (!tokenOk(req, url, token)) return send(res, 401, 'text/plain; charset=utf-8', 'unauthorized: this server needs its token (?token=… or Authorization: Bearer …)\n', head);
      try {
        if (url.pathname === '/') return send(res, 200, 'text/html; charset=utf-8', page.html, head);
        if (url.pathname === '/api/meta') return send(res, 200, 'application/json', JSON.stringify(meta), head);
        if (url.pathname.startsWith('/api/') && url.pathname !== '/api/meta') {
          const q = url.searchParams;
          const si = q.get('si') ?? meta.sampleType;
          if (!meta.sampleTypes.some((t) => t.type === si)) return send(res, 404, 'text/plain; charset=utf-8', `no sample type "${si.slice(0, 100)}"\n`, head);
          const o = optionsFromQuery(opts, q);
          const key = cacheKey(url.pathname, q, ['name', 'fn']);
          const hit = cache.get(key);
          if (hit !== undefined) return send(res, 200, 'application/json', hit, head);
          let body: string | Promise<string>;
          if (url.pathname === '/api/view') body = viewJson(inputs, o, si);
          else if (url.pathname === '/api/graph') body = graphData(inputs.report, o).then((g) => JSON.stringify(g));
          else if (url.pathname === '/api/sandwich') body = JSON.stringify(sandwichData(inputs.report, o, q.get('name') ?? ''));
          else if (url.pathname === '/api/source') body = JSON.stringify(sourceData(inputs.report, o, q.get('fn') ?? ''));
          else return send(res, 404, 'text/plain; charset=utf-8', 'not found\n', head);
          void Promise.resolve(body).then(
            (b) => {
              cache.set(key, b);
              send(res, 200, 'application/json', b, head);
            },
            (e: unknown) => failed(res, e, head),
          );
          return;
        }
        return send(res, 404, 'text/plain; charset=utf-8', 'not found\n', head);
      } catch (e) {
        return failed(res, e, head);
      }
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) => reject(new LeakscopeError('E_IO', `cannot listen on ${values.http ?? '127.0.0.1:0'}: ${e.code ?? e.message}`)));
      server.listen(listen!.port, listen!.host, () => resolve());
    });
    const addr = server.address();
    const port = typeof addr === 'object' && addr ? addr.port : listen!.port;
    policy.listen = { host: listen!.host, port };
    const shown = listen!.host.includes(':') ? `[${listen!.host}]` : listen!.host === '0.0.0.0' ? '127.0.0.1' : listen!.host;
    const pageUrl = `http://${shown}:${port}/${token ? `?token=${encodeURIComponent(token)}` : ''}`;
    io.stdout(`${pageUrl}\n`);
    if (values.open) openBrowser(pageUrl, io.stderr);
    await new Promise<void>((resolve) => {
      const stop = () => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        server.close(() => resolve());
        server.closeAllConnections();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    return 0;
  },
};
