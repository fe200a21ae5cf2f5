/**
 * `soak --requests FILE`: the requests the load sends, one per line, weighted.
 *
 *   # comment; blank lines are skipped
 *   GET /api?user=u1                       (weight 1)
 *   5 GET /api?product=p7                  (weight 5: five times as often)
 *   {"weight": 2, "method": "POST", "path": "/api/orders",
 *    "headers": {"content-type": "application/json"}, "body": "{\"sku\":\"p7\"}"}   (one line)
 *
 * The weights become a fixed sequence (smooth weighted round robin, so a request of weight 5 is
 * spread out, not sent five times in a row) that every connection cycles through.
 */
import { readFile } from 'node:fs/promises';
import { LeakscopeError } from '../core/errors.js';

export interface SoakRequest {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
  weight: number;
}

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
const MAX_SEQUENCE = 10_000;

function bad(file: string, line: number, why: string): never {
  throw new LeakscopeError('E_USAGE', `${file}:${line}: ${why}`);
}

export function parseRequests(text: string, file: string): SoakRequest[] {
  const out: SoakRequest[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    const n = i + 1;
    if (line === '' || line.startsWith('#')) continue;
    let r: SoakRequest;
    if (line.startsWith('{')) {
      let o: unknown;
      try {
        o = JSON.parse(line);
      } catch (e) {
        bad(file, n, `not valid JSON (${(e as Error).message.split('\n')[0]})`);
      }
      if (typeof o !== 'object' || o === null || Array.isArray(o)) bad(file, n, 'a JSON line must be an object');
      const j = o as Record<string, unknown>;
      for (const k of Object.keys(j)) if (!['method', 'path', 'headers', 'body', 'weight'].includes(k)) bad(file, n, `unknown field "${k}" (method, path, headers, body, weight)`);
      const method = j.method === undefined ? 'GET' : j.method;
      if (typeof method !== 'string') bad(file, n, 'method must be a string');
      if (typeof j.path !== 'string') bad(file, n, 'path must be a string starting with /');
      if (j.headers !== undefined && (typeof j.headers !== 'object' || j.headers === null || Array.isArray(j.headers) || Object.values(j.headers).some((v) => typeof v !== 'string'))) {
        bad(file, n, 'headers must be an object of strings');
      }
      if (j.body !== undefined && typeof j.body !== 'string') bad(file, n, 'body must be a string (JSON-encode a JSON body)');
      const weight = j.weight === undefined ? 1 : j.weight;
      if (typeof weight !== 'number') bad(file, n, 'weight must be a number');
      r = { method: method.toUpperCase(), path: j.path, weight, ...(j.headers ? { headers: j.headers as Record<string, string> } : {}), ...(j.body !== undefined ? { body: j.body } : {}) };
    } else {
      const parts = line.split(/\s+/);
      let weight = 1;
      if (/^\d+(\.\d+)?$/.test(parts[0]!)) weight = Number(parts.shift());
      if (parts.length !== 2) bad(file, n, `expected "[WEIGHT] METHOD /path" or a JSON object, got "${line.slice(0, 80)}"`);
      r = { method: parts[0]!.toUpperCase(), path: parts[1]!, weight };
    }
    if (!METHODS.has(r.method)) bad(file, n, `unknown method "${r.method}" (${[...METHODS].join(', ')})`);
    if (!r.path.startsWith('/') || /\s/.test(r.path)) bad(file, n, `path must start with / and have no spaces, got "${r.path.slice(0, 80)}"`);
    if (!Number.isInteger(r.weight) || r.weight < 1 || r.weight > 1000) bad(file, n, `weight must be a whole number from 1 to 1000, got ${r.weight}`);
    out.push(r);
  }
  if (out.length === 0) throw new LeakscopeError('E_USAGE', `${file}: no requests (one per line: "[WEIGHT] METHOD /path" or a JSON object)`);
  return out;
}

export async function readRequests(file: string): Promise<SoakRequest[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new LeakscopeError('E_IO', `--requests ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  if (text.length > 16 << 20) throw new LeakscopeError('E_TOO_LARGE', `--requests ${file}: more than 16 MiB`);
  return parseRequests(text, file);
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** The cycle the connections send: each request as often as its weight, spread out. */
export function weightedSequence(reqs: readonly SoakRequest[]): SoakRequest[] {
  const g = reqs.reduce((s, r) => gcd(s, r.weight), 0);
  let weights = reqs.map((r) => r.weight / g);
  let total = weights.reduce((s, w) => s + w, 0);
  if (total > MAX_SEQUENCE) {
    const f = MAX_SEQUENCE / total;
    weights = weights.map((w) => Math.max(1, Math.round(w * f)));
    total = weights.reduce((s, w) => s + w, 0);
  }
  const current = weights.map(() => 0);
  const seq: SoakRequest[] = [];
  for (let k = 0; k < total; k++) {
    let best = 0;
    for (let i = 0; i < weights.length; i++) {
      current[i]! += weights[i]!;
      if (current[i]! > current[best]!) best = i;
    }
    current[best]! -= total;
    seq.push(reqs[best]!);
  }
  return seq;
}
