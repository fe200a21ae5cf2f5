/**
 * Prometheus' `file_sd` target files: a list of groups, each `targets` (host:port strings) and
 * optional `labels` (name → string). JSON, or the YAML that people write for it. The YAML reader
 * is a small one of our own for exactly that shape (block and flow lists and maps, plain / single /
 * double quoted scalars, comments, `---`); anything beyond it (anchors, tags, multi-line scalars)
 * is refused with the line where it starts. Pure: text in, groups out, E_USAGE on any fault.
 */
import { LeakscopeError } from '../core/errors.js';

export interface TargetGroup {
  targets: string[];
  labels: Record<string, string>;
}

type Y = string | Y[] | { [k: string]: Y };

/** Label names as Prometheus accepts them. */
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export function parseFileSd(text: string, name: string): TargetGroup[] {
  const body = text.replace(/^\uFEFF/, '');
  let doc: unknown;
  const first = /\S/.exec(body);
  if (!first) throw new LeakscopeError('E_USAGE', `${name}: empty target file (file_sd wants a list of {targets, labels})`);
  if (first[0] === '[' || first[0] === '{') {
    try {
      doc = JSON.parse(body);
    } catch (e) {
      // a YAML flow list is not always JSON (unquoted strings): try the YAML reader before failing
      try {
        doc = parseYaml(body, name);
      } catch {
        throw new LeakscopeError('E_USAGE', `${name}: not valid JSON (${(e as Error).message})`);
      }
    }
  } else doc = parseYaml(body, name);
  return validate(doc, name);
}

function validate(doc: unknown, name: string): TargetGroup[] {
  if (!Array.isArray(doc)) throw new LeakscopeError('E_USAGE', `${name}: a file_sd file is a list of {targets, labels} groups, got ${kindOf(doc)}`);
  const out: TargetGroup[] = [];
  doc.forEach((g, i) => {
    const where = `${name}: group ${i + 1}`;
    if (g === null || typeof g !== 'object' || Array.isArray(g)) throw new LeakscopeError('E_USAGE', `${where}: a group is a map with "targets" and "labels", got ${kindOf(g)}`);
    const o = g as Record<string, unknown>;
    for (const k of Object.keys(o)) if (k !== 'targets' && k !== 'labels') throw new LeakscopeError('E_USAGE', `${where}: unknown key "${k}" (targets, labels)`);
    if (!Array.isArray(o.targets)) throw new LeakscopeError('E_USAGE', `${where}: "targets" must be a list of host:port strings`);
    const targets: string[] = [];
    for (const t of o.targets) {
      if (typeof t !== 'string' || t.trim() === '') throw new LeakscopeError('E_USAGE', `${where}: every target must be a host:port string, got ${kindOf(t)}`);
      targets.push(t.trim());
    }
    const labels: Record<string, string> = {};
    if (o.labels !== undefined && o.labels !== null) {
      if (typeof o.labels !== 'object' || Array.isArray(o.labels)) throw new LeakscopeError('E_USAGE', `${where}: "labels" must be a map of name: value`);
      for (const [k, v] of Object.entries(o.labels as Record<string, unknown>)) {
        if (!LABEL_NAME.test(k)) throw new LeakscopeError('E_USAGE', `${where}: "${k}" is not a valid label name`);
        if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') throw new LeakscopeError('E_USAGE', `${where}: label "${k}" must be a string`);
        labels[k] = String(v);
      }
    }
    out.push({ targets, labels });
  });
  return out;
}

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a map';
  return `${typeof v} ${JSON.stringify(v)}`.slice(0, 60);
}

// ---------------------------------------------------------------- the YAML subset

interface Line {
  no: number;
  indent: number;
  text: string;
}

function yamlError(name: string, no: number, msg: string): LeakscopeError {
  return new LeakscopeError('E_USAGE', `${name}:${no}: ${msg}`);
}

/** Strips a comment (`#` at the start or after a space, outside quotes). */
function stripComment(s: string): string {
  let q: string | undefined;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (q) {
      if (c === '\\' && q === '"') i++;
      else if (c === q) q = undefined;
    } else if (c === '"' || c === "'") q = c;
    else if (c === '#' && (i === 0 || s[i - 1] === ' ' || s[i - 1] === '\t')) return s.slice(0, i);
  }
  return s;
}

export function parseYaml(text: string, name: string): unknown {
  const lines: Line[] = [];
  let docs = 0;
  text.split(/\r?\n/).forEach((raw, i) => {
    if (/\t/.test(/^\s*/.exec(raw)![0])) throw yamlError(name, i + 1, 'tabs are not allowed for indentation in YAML');
    const s = stripComment(raw).replace(/\s+$/, '');
    if (s.trim() === '') return;
    if (/^---(\s|$)/.test(s)) {
      if (++docs > 1 || lines.length > 0) throw yamlError(name, i + 1, 'only one YAML document is allowed');
      return;
    }
    if (s === '...') return;
    lines.push({ no: i + 1, indent: s.length - s.trimStart().length, text: s.trimStart() });
  });
  if (lines.length === 0) throw new LeakscopeError('E_USAGE', `${name}: empty target file (file_sd wants a list of {targets, labels})`);
  // a document that is one flow collection (JSON-like, maybe over several lines)
  if (/^[[{]/.test(lines[0]!.text)) return parseScalarOrFlow(lines.map((l) => l.text).join(' '), name, lines[0]!.no);
  const p = { i: 0 };
  const v = parseBlock(lines, p, lines[0]!.indent, name);
  if (p.i < lines.length) throw yamlError(name, lines[p.i]!.no, Array.isArray(v) && lines[p.i]!.indent === lines[0]!.indent ? 'expected a list item ("- ")' : 'unexpected indentation');
  return v;
}

function parseBlock(lines: Line[], p: { i: number }, indent: number, name: string): Y {
  const l = lines[p.i]!;
  if (l.text === '-' || l.text.startsWith('- ')) return parseSeq(lines, p, indent, name);
  return parseMap(lines, p, indent, name);
}

function parseSeq(lines: Line[], p: { i: number }, indent: number, name: string): Y[] {
  const out: Y[] = [];
  while (p.i < lines.length) {
    const l = lines[p.i]!;
    if (l.indent < indent) break;
    if (l.indent > indent) throw yamlError(name, l.no, 'unexpected indentation');
    // a list under a map key may sit at the key's column: the map's next key ends it
    if (!(l.text === '-' || l.text.startsWith('- '))) break;
    const rest = l.text.slice(1).trimStart();
    if (rest === '') {
      p.i++;
      if (p.i < lines.length && lines[p.i]!.indent > indent) out.push(parseBlock(lines, p, lines[p.i]!.indent, name));
      else out.push('');
      continue;
    }
    // "- key: value" starts a map whose keys sit at the column after "- "
    const col = indent + (l.text.length - rest.length);
    if (rest.startsWith('- ')) {
      lines[p.i] = { no: l.no, indent: col, text: rest };
      out.push(parseSeq(lines, p, col, name));
    } else if (mapKey(rest) !== undefined) {
      lines[p.i] = { no: l.no, indent: col, text: rest };
      out.push(parseMap(lines, p, col, name));
    } else {
      out.push(parseScalarOrFlow(rest, name, l.no));
      p.i++;
    }
  }
  return out;
}

/** `key: …` → the key and the rest, or undefined when the line is not a map entry. */
function mapKey(s: string): { key: string; rest: string } | undefined {
  let key: string;
  let after: string;
  if (s[0] === '"' || s[0] === "'") {
    const end = quotedEnd(s);
    if (end < 0) return undefined;
    key = unquote(s.slice(0, end + 1));
    after = s.slice(end + 1);
    if (!/^\s*:(\s|$)/.test(after)) return undefined;
    after = after.replace(/^\s*:/, '');
  } else {
    const m = /^([^\s:[\]{},#&*!|>'"%@`][^:]*?)\s*:(\s|$)/.exec(s);
    if (!m) return undefined;
    key = m[1]!;
    after = s.slice(m[0].length - m[2]!.length);
  }
  return { key, rest: after.trim() };
}

function parseMap(lines: Line[], p: { i: number }, indent: number, name: string): { [k: string]: Y } {
  const out: { [k: string]: Y } = {};
  while (p.i < lines.length) {
    const l = lines[p.i]!;
    if (l.indent < indent) break;
    if (l.indent > indent) throw yamlError(name, l.no, 'unexpected indentation');
    const kv = mapKey(l.text);
    if (!kv) throw yamlError(name, l.no, l.text.startsWith('- ') ? 'a list item where a map entry was expected' : `expected "key: value", got "${l.text.slice(0, 40)}"`);
    if (Object.prototype.hasOwnProperty.call(out, kv.key)) throw yamlError(name, l.no, `duplicate key "${kv.key}"`);
    p.i++;
    if (kv.rest === '') {
      const next = lines[p.i];
      // a block under the key: deeper, or a list at the same column (YAML allows that for lists)
      if (next && (next.indent > indent || (next.indent === indent && (next.text === '-' || next.text.startsWith('- '))))) out[kv.key] = parseBlock(lines, p, next.indent, name);
      else out[kv.key] = '';
    } else out[kv.key] = parseScalarOrFlow(kv.rest, name, l.no);
  }
  return out;
}

function parseScalarOrFlow(s: string, name: string, no: number): Y {
  if (/^[&*!|>]/.test(s)) throw yamlError(name, no, `YAML ${s[0] === '&' || s[0] === '*' ? 'anchors and aliases' : s[0] === '!' ? 'tags' : 'block scalars'} are not supported in a target file`);
  if (s[0] === '[' || s[0] === '{') {
    const r = { s, i: 0 };
    const v = parseFlow(r, name, no);
    skipWs(r);
    if (r.i < s.length) throw yamlError(name, no, `unexpected "${s.slice(r.i, r.i + 10)}" after a flow collection`);
    return v;
  }
  return scalar(s, name, no);
}

function quotedEnd(s: string): number {
  const q = s[0]!;
  for (let i = 1; i < s.length; i++) {
    if (q === '"' && s[i] === '\\') {
      i++;
      continue;
    }
    if (s[i] === q) {
      if (q === "'" && s[i + 1] === "'") {
        i++;
        continue;
      }
      return i;
    }
  }
  return -1;
}

function unquote(s: string): string {
  if (s[0] === "'") return s.slice(1, -1).replace(/''/g, "'");
  const map: Record<string, string> = { n: '\n', t: '\t', '"': '"', '\\': '\\', '/': '/', r: '\r', '0': '\0' };
  return s.slice(1, -1).replace(/\\(u[0-9a-fA-F]{4}|.)/g, (_, c: string) => (c.length === 5 ? String.fromCharCode(parseInt(c.slice(1), 16)) : (map[c] ?? c)));
}

function scalar(s: string, name: string, no: number): string {
  if (s[0] === '"' || s[0] === "'") {
    const end = quotedEnd(s);
    if (end < 0) throw yamlError(name, no, 'unterminated quoted string');
    if (s.slice(end + 1).trim() !== '') throw yamlError(name, no, `unexpected text after a quoted string: "${s.slice(end + 1).trim().slice(0, 20)}"`);
    return unquote(s.slice(0, end + 1));
  }
  return s;
}

function skipWs(r: { s: string; i: number }): void {
  while (r.i < r.s.length && /\s/.test(r.s[r.i]!)) r.i++;
}

function parseFlow(r: { s: string; i: number }, name: string, no: number): Y {
  skipWs(r);
  const c = r.s[r.i];
  if (c === '[') {
    r.i++;
    const out: Y[] = [];
    skipWs(r);
    if (r.s[r.i] === ']') {
      r.i++;
      return out;
    }
    for (;;) {
      out.push(parseFlow(r, name, no));
      skipWs(r);
      if (r.s[r.i] === ',') {
        r.i++;
        skipWs(r);
        if (r.s[r.i] === ']') {
          r.i++;
          return out;
        }
        continue;
      }
      if (r.s[r.i] === ']') {
        r.i++;
        return out;
      }
      throw yamlError(name, no, r.i >= r.s.length ? 'a flow list "[" is not closed on its line' : `expected "," or "]" in a flow list, got "${r.s[r.i]}"`);
    }
  }
  if (c === '{') {
    r.i++;
    const out: { [k: string]: Y } = {};
    skipWs(r);
    if (r.s[r.i] === '}') {
      r.i++;
      return out;
    }
    for (;;) {
      skipWs(r);
      const key = flowScalar(r, name, no, true);
      skipWs(r);
      if (r.s[r.i] !== ':') throw yamlError(name, no, `expected ":" after "${key}" in a flow map`);
      r.i++;
      out[key] = parseFlow(r, name, no);
      skipWs(r);
      if (r.s[r.i] === ',') {
        r.i++;
        continue;
      }
      if (r.s[r.i] === '}') {
        r.i++;
        return out;
      }
      throw yamlError(name, no, r.i >= r.s.length ? 'a flow map "{" is not closed on its line' : `expected "," or "}" in a flow map, got "${r.s[r.i]}"`);
    }
  }
  return flowScalar(r, name, no, false);
}

function flowScalar(r: { s: string; i: number }, name: string, no: number, isKey: boolean): string {
  skipWs(r);
  const c = r.s[r.i];
  if (c === '"' || c === "'") {
    const end = quotedEnd(r.s.slice(r.i));
    if (end < 0) throw yamlError(name, no, 'unterminated quoted string');
    const v = unquote(r.s.slice(r.i, r.i + end + 1));
    r.i += end + 1;
    return v;
  }
  const start = r.i;
  // a plain scalar in flow context ends at , ] } (and a key at ": ")
  while (r.i < r.s.length) {
    const ch = r.s[r.i]!;
    if (ch === ',' || ch === ']' || ch === '}' || ch === '[' || ch === '{') break;
    if (ch === ':' && (isKey ? /[\s,\]}]|$/.test(r.s[r.i + 1] ?? '') : /\s/.test(r.s[r.i + 1] ?? ''))) break;
    r.i++;
  }
  const v = r.s.slice(start, r.i).trim();
  if (v === '' && (r.s[r.i] === '[' || r.s[r.i] === '{')) throw yamlError(name, no, 'nested flow collections are not supported here');
  return v;
}
