/**
 * The UI server shared by `leakscope web <run-dir>`, `leakscope web <snapshots…>` and `leakscope
 * watch --http`: the bundled page (with its mode named in a <meta> tag) and JSON routes, behind the
 * same rules as `leakscope web <profile>`: loopback by default, a non-loopback address needs a
 * token, every request passes core/http-guard's checkRequest, GET and HEAD only, no CORS headers.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { LeakscopeError } from '../core/errors.js';
import { checkRequest, parseAllowedHosts, type GuardPolicy } from '../core/http-guard.js';
import { pageHtml, parseListen } from './commands/web.js';
import type { CliIO } from './io.js';

export type UiMode = 'timeline' | 'snapshots' | 'gc' | 'fleet';

export interface RouteResult {
  status?: number;
  type?: string;
  body: string;
}

/** Answers one API path (with its query); undefined → 404. May be async (loading on demand). */
export type UiRoute = (url: URL) => RouteResult | undefined | Promise<RouteResult | undefined>;

export interface UiServer {
  url: string;
  server: Server;
  close(): Promise<void>;
}

export function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** The UI's token: `Authorization: Bearer T` (the scheme in any case) or `?token=T`; constant time. */
export function tokenOk(req: IncomingMessage, url: URL, token: string | undefined): boolean {
  if (!token) return true;
  const auth = req.headers.authorization;
  const given = auth && /^bearer /i.test(auth) ? auth.slice(7).trim() : (url.searchParams.get('token') ?? '');
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Throws E_USAGE when `addr` is not loopback and there is no token. */
export function checkListen(addr: string, token: string | undefined): { host: string; port: number } {
  const listen = parseListen(addr);
  if (!isLoopback(listen.host) && !token) throw new LeakscopeError('E_USAGE', `--http ${addr}: listening beyond loopback needs --token (or LEAKSCOPE_TOKEN)`);
  return listen;
}

/** The page of a mode: the UI bundle, told by a <meta> tag which view to start (with its data inlined, for an export). */
export function modePage(mode: UiMode, data?: string): { html: string; scriptHash: string } {
  const p = pageHtml(data);
  return { html: p.html.replace('<head>', `<head>\n<meta name="leakscope-mode" content="${mode}">`), scriptHash: p.scriptHash };
}

/**
 * One answer of a UI server: no caching, no sniffing, no referrer, and a content security policy
 * that runs only the page's own inlined script (by its hash) and connects only to this server.
 * HEAD gets the same headers and no body.
 */
export function sendUi(res: ServerResponse, scriptHash: string, status: number, type: string, body: string, head: boolean): void {
  res.writeHead(status, {
    'content-type': type,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'content-security-policy': `default-src 'none'; script-src 'sha256-${scriptHash}'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:; frame-ancestors 'none'`,
  });
  res.end(head ? undefined : body);
}

export async function startUiServer(o: { addr: string; token: string | undefined; mode: UiMode; route: UiRoute; io: CliIO; name: string }): Promise<UiServer> {
  const listen = checkListen(o.addr, o.token);
  const page = modePage(o.mode);
  const policy: { listen?: GuardPolicy['listen']; allowedHosts: string[] } = { allowedHosts: parseAllowedHosts(process.env.LEAKSCOPE_ALLOWED_HOSTS) };
  const send = (res: ServerResponse, status: number, type: string, body: string, head: boolean) => sendUi(res, page.scriptHash, status, type, body, head);
  const text = 'text/plain; charset=utf-8';
  const server = createServer((req, res) => {
    const head = req.method === 'HEAD';
    const verdict = checkRequest(policy, { host: req.headers.host, origin: req.headers.origin, secFetchSite: req.headers['sec-fetch-site'] as string | undefined });
    if (!verdict.ok) return send(res, 403, text, verdict.reason + '\n', head);
    if (req.method !== 'GET' && !head) return send(res, 405, text, `method not allowed: leakscope ${o.name} only reads\n`, head);
    const url = new URL(req.url ?? '/', 'http://leakscope.invalid');
    if (!tokenOk(req, url, o.token)) return send(res, 401, text, 'unauthorized: this server needs its token (?token=… or Authorization: Bearer …)\n', head);
    if (url.pathname === '/') return send(res, 200, 'text/html; charset=utf-8', page.html, head);
    const fail = (e: unknown) => {
      const msg = e instanceof LeakscopeError ? e.message : `internal error: ${(e as Error).message}`;
      o.io.stderr(`leakscope ${o.name}: ${msg}\n`);
      if (!res.headersSent) send(res, e instanceof LeakscopeError && e.code === 'E_USAGE' ? 400 : 500, text, msg + '\n', head);
    };
    try {
      Promise.resolve(o.route(url)).then((r) => {
        if (!r) return send(res, 404, text, 'not found\n', head);
        send(res, r.status ?? 200, r.type ?? 'application/json', r.body, head);
      }, fail);
    } catch (e) {
      fail(e);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(new LeakscopeError('E_IO', `cannot listen on ${o.addr}: ${e.code ?? e.message}`)));
    server.listen(listen.port, listen.host, () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : listen.port;
  policy.listen = { host: listen.host, port };
  const shown = listen.host.includes(':') ? `[${listen.host}]` : listen.host === '0.0.0.0' ? '127.0.0.1' : listen.host;
  return {
    url: `http://${shown}:${port}/${o.token ? `?token=${encodeURIComponent(o.token)}` : ''}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Serves until SIGINT/SIGTERM. */
export function untilSignal(s: UiServer): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      void s.close().then(resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
