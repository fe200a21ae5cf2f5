/**
 * Which HTTP requests a leakscope server answers: the one rule shared by the agent's listener, its
 * mounted handler, `leakscope web` and `watch --http`.
 *
 * Why: these servers hand out heap contents (every string in a process) and start work that pauses
 * a service. Binding loopback is not enough — a web page the developer opens can point its own host
 * name at 127.0.0.1 (DNS rebinding) and then read the server as if it were same-origin. The browser
 * still sends the page's host name in `Host`, so a request is answered only when `Host` names the
 * server itself (the address it listens on, `localhost`, or a name the operator allowed). And a
 * browser tab is never a legitimate client: a request that carries a foreign `Origin`, or that the
 * browser marks `Sec-Fetch-Site: cross-site`/`same-site`, is refused even when its Host passes.
 *
 * Pure: no I/O; callers pass the headers and where they listen.
 */

export interface GuardPolicy {
  /**
   * The address the server listens on. Without it (a handler mounted in someone else's server)
   * loopback names and literals are accepted on any port.
   */
  readonly listen?: { readonly host: string; readonly port: number };
  /**
   * Further names (case-insensitive). `name` allows any port, `name:port` that port only,
   * `.example.internal` every name below that domain, and `*` any Host at all (for a server
   * reached through names nobody can list; the Origin and Sec-Fetch-Site rules still apply).
   */
  readonly allowedHosts?: readonly string[];
}

export interface GuardRequest {
  readonly host?: string | undefined;
  readonly origin?: string | undefined;
  readonly secFetchSite?: string | undefined;
}

export type GuardVerdict = { readonly ok: true } | { readonly ok: false; readonly reason: string };

const OK: GuardVerdict = { ok: true };

interface HostPort {
  /** lower case, without brackets or a trailing dot */
  name: string;
  /** undefined when the header carried none */
  port: number | undefined;
}

/** `name`, `name:port`, `[v6]`, `[v6]:port` → parts; undefined when it is not a host. */
export function parseHostHeader(value: string): HostPort | undefined {
  const v = value.trim().toLowerCase();
  if (v === '' || /[\s/?#@\\]/.test(v)) return undefined;
  let name: string;
  let rest: string;
  if (v.startsWith('[')) {
    const end = v.indexOf(']');
    if (end < 0) return undefined;
    name = v.slice(1, end);
    rest = v.slice(end + 1);
    if (!/^[0-9a-f:.]+$/.test(name)) return undefined;
  } else {
    const colon = v.indexOf(':');
    if (colon >= 0 && v.indexOf(':', colon + 1) >= 0) return undefined; // bare IPv6 needs brackets
    name = colon < 0 ? v : v.slice(0, colon);
    rest = colon < 0 ? '' : v.slice(colon);
  }
  if (name.endsWith('.')) name = name.slice(0, -1);
  if (name === '') return undefined;
  let port: number | undefined;
  if (rest !== '') {
    if (!/^:\d{1,5}$/.test(rest)) return undefined;
    port = Number(rest.slice(1));
    if (port > 65535) return undefined;
  }
  return { name, port };
}

function isIPv4(name: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(name);
}
function isIPLiteral(name: string): boolean {
  return isIPv4(name) || name.includes(':');
}
function isLoopbackLiteral(name: string): boolean {
  if (name.startsWith('::ffff:')) name = name.slice(7); // IPv4-mapped
  return name === '::1' || name === '0:0:0:0:0:0:0:1' || (isIPv4(name) && name.startsWith('127.'));
}
function isWildcard(name: string): boolean {
  return name === '0.0.0.0' || name === '::' || name === '' || name === '0:0:0:0:0:0:0:0';
}
function normalHost(h: string): string {
  let s = h.trim().toLowerCase();
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
  return s;
}

/** Whether a parsed Host names this server under the policy. */
function hostAllowed(policy: GuardPolicy, h: HostPort): boolean {
  for (const entry of policy.allowedHosts ?? []) {
    const e = entry.trim().toLowerCase();
    if (e === '') continue;
    if (e === '*') return true;
    if (e.startsWith('.')) {
      if (h.name.endsWith(e) && h.name.length > e.length) return true;
      continue;
    }
    const p = parseHostHeader(e);
    if (p && p.name === h.name && (p.port === undefined || p.port === (h.port ?? 80))) return true;
  }
  const listen = policy.listen;
  if (!listen) return h.name === 'localhost' || isLoopbackLiteral(h.name);
  const port = h.port ?? 80;
  if (port !== listen.port) return false;
  if (h.name === 'localhost') return true;
  const lh = normalHost(listen.host);
  if (h.name === lh) return true;
  // Listening on every interface: any IP literal reaches it legitimately (a rebinding page can
  // only ever send a name); names still need allowing.
  return isWildcard(lh) && isIPLiteral(h.name);
}

/**
 * Decides whether to answer a request. Refusals carry a one-line reason for a 403 body; nothing is
 * to be collected for a refused request.
 */
export function checkRequest(policy: GuardPolicy, req: GuardRequest): GuardVerdict {
  if (req.host === undefined || req.host.trim() === '') {
    return { ok: false, reason: 'forbidden: the request has no Host header' };
  }
  const h = parseHostHeader(req.host);
  if (!h || !hostAllowed(policy, h)) {
    return {
      ok: false,
      reason: `forbidden: Host '${req.host.slice(0, 200)}' is not this server's address; add it to LEAKSCOPE_ALLOWED_HOSTS (or the allowedHosts option) if it is a name you use for it`,
    };
  }
  const site = req.secFetchSite?.trim().toLowerCase();
  if (site === 'cross-site' || site === 'same-site') {
    return { ok: false, reason: `forbidden: a request from another site's page (Sec-Fetch-Site: ${site})` };
  }
  if (req.origin !== undefined) {
    const o = req.origin.trim().toLowerCase();
    const m = /^[a-z][a-z0-9+.-]*:\/\/([^/]+)$/.exec(o);
    const oh = m ? parseHostHeader(m[1]!) : undefined;
    const scheme = o.slice(0, o.indexOf(':'));
    const defPort = scheme === 'https' ? 443 : 80;
    if (!oh || oh.name !== h.name || (oh.port ?? defPort) !== (h.port ?? 80)) {
      return { ok: false, reason: `forbidden: a request from another page (Origin: ${req.origin.slice(0, 200)})` };
    }
  }
  return OK;
}

/** `LEAKSCOPE_ALLOWED_HOSTS`: names separated by commas or white space. */
export function parseAllowedHosts(value: string | undefined): string[] {
  if (!value) return [];
  return value
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}
