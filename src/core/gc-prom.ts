/**
 * The Prometheus text exposition format (version 0.0.4), as the agent's `/debug/pprof/metrics`
 * and every Prometheus client serve it: `# TYPE` and `# HELP` lines, samples `name{l="v",…} value
 * [timestamp]`. Pure and tolerant: a line that does not parse is counted and skipped, so one odd
 * line never hides the rest. Histograms and summaries are grouped under the family their `# TYPE`
 * line names (`x_bucket`, `x_sum`, `x_count` → family `x`).
 */

export type PromType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface PromSample {
  /** the sample's own name (`x_bucket`, `x_sum`, … for a histogram) */
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface PromFamily {
  name: string;
  type: PromType;
  help: string;
  samples: PromSample[];
}

export interface PromText {
  families: Map<string, PromFamily>;
  /** lines that were neither a comment nor a sample */
  badLines: number;
  /** the first bad line (cut to 120 characters), to say what was wrong */
  firstBad?: string;
}

const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const SUFFIXES: Record<string, string[]> = { histogram: ['_bucket', '_sum', '_count'], summary: ['_sum', '_count'] };

/** A sample value: a float, `+Inf`, `-Inf` or `NaN` (Go's ParseFloat spellings). */
export function parsePromValue(s: string): number | undefined {
  if (/^[+]?inf$/i.test(s)) return Infinity;
  if (/^-inf$/i.test(s)) return -Infinity;
  if (/^nan$/i.test(s)) return NaN;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) return undefined;
  return Number(s);
}

/** `{a="x",b="y\"z"}` starting at text[i] → labels and the index after `}`; undefined when malformed. */
function parseLabels(text: string, i: number): { labels: Record<string, string>; end: number } | undefined {
  const labels: Record<string, string> = {};
  i++; // '{'
  for (;;) {
    while (text[i] === ' ' || text[i] === '\t') i++;
    if (text[i] === '}') return { labels, end: i + 1 };
    const m = NAME.exec(text.slice(i, i + 200));
    if (!m) return undefined;
    const name = m[0];
    i += name.length;
    while (text[i] === ' ') i++;
    if (text[i] !== '=') return undefined;
    i++;
    while (text[i] === ' ') i++;
    if (text[i] !== '"') return undefined;
    i++;
    let v = '';
    for (;;) {
      const c = text[i];
      if (c === undefined) return undefined;
      if (c === '"') break;
      if (c === '\\') {
        const n = text[i + 1];
        v += n === 'n' ? '\n' : n === '"' ? '"' : n === '\\' ? '\\' : `\\${n ?? ''}`;
        i += 2;
        continue;
      }
      v += c;
      i++;
    }
    i++;
    labels[name] = v;
    while (text[i] === ' ') i++;
    if (text[i] === ',') i++;
    else if (text[i] !== '}') return undefined;
  }
}

/** The family a sample belongs to: its own name, or the histogram/summary it is a part of. */
function familyOf(name: string, families: Map<string, PromFamily>): PromFamily | undefined {
  const own = families.get(name);
  if (own) return own;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!name.endsWith(suffix)) continue;
    const f = families.get(name.slice(0, -suffix.length));
    if (f && SUFFIXES[f.type]?.includes(suffix)) return f;
  }
  return undefined;
}

export function parsePromText(text: string): PromText {
  const families = new Map<string, PromFamily>();
  let badLines = 0;
  let firstBad: string | undefined;
  const bad = (line: string) => {
    badLines++;
    firstBad ??= line.slice(0, 120);
  };
  const family = (name: string): PromFamily => {
    let f = families.get(name);
    if (!f) families.set(name, (f = { name, type: 'untyped', help: '', samples: [] }));
    return f;
  };
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    if (line.startsWith('#')) {
      const m = /^#\s*(TYPE|HELP)\s+([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\s+(.*))?$/.exec(line);
      if (!m) continue; // other comments
      const f = family(m[2]!);
      if (m[1] === 'TYPE') {
        const t = (m[3] ?? '').trim();
        if (TYPES.has(t)) f.type = t as PromType;
        else bad(line);
      } else f.help = (m[3] ?? '').replace(/\\n/g, '\n').replace(/\\\\/g, '\\');
      continue;
    }
    const m = NAME.exec(line);
    if (!m) {
      bad(line);
      continue;
    }
    const name = m[0];
    let i = name.length;
    let labels: Record<string, string> = {};
    if (line[i] === '{') {
      const l = parseLabels(line, i);
      if (!l) {
        bad(line);
        continue;
      }
      labels = l.labels;
      i = l.end;
    }
    // an OpenMetrics exemplar (`… value # {trace_id="x"} 1.0`) is not part of the sample
    const hash = line.indexOf(' # ', i);
    const rest = (hash < 0 ? line.slice(i) : line.slice(i, hash)).trim().split(/\s+/);
    const value = rest.length >= 1 && rest.length <= 2 ? parsePromValue(rest[0]!) : undefined;
    if (value === undefined || (rest.length === 2 && !/^-?\d+$/.test(rest[1]!))) {
      bad(line);
      continue;
    }
    (familyOf(name, families) ?? family(name)).samples.push({ name, labels, value });
  }
  return { families, badLines, ...(firstBad !== undefined ? { firstBad } : {}) };
}

/** One gauge or counter's value (the first sample whose labels include `match`). */
export function promValue(t: PromText, name: string, match: Record<string, string> = {}): number | undefined {
  const f = t.families.get(name);
  if (!f) return undefined;
  const s = f.samples.find((x) => x.name === name && Object.entries(match).every(([k, v]) => x.labels[k] === v));
  return s?.value;
}

export interface PromHistogram {
  /** upper bounds, ascending, +Inf last */
  le: number[];
  /** cumulative counts per bound */
  buckets: number[];
  sum: number;
  count: number;
}

/**
 * A histogram family's series split by one label (e.g. `kind`): label value → buckets, sum, count.
 * Buckets are sorted by their bound; a series without `_count` takes the +Inf bucket's.
 */
export function promHistograms(t: PromText, name: string, by: string): Map<string, PromHistogram> {
  const out = new Map<string, PromHistogram>();
  const f = t.families.get(name);
  if (!f) return out;
  const parts = new Map<string, { b: [number, number][]; sum?: number; count?: number }>();
  for (const s of f.samples) {
    const key = s.labels[by] ?? '';
    let p = parts.get(key);
    if (!p) parts.set(key, (p = { b: [] }));
    if (s.name === `${name}_bucket`) {
      const le = parsePromValue(s.labels.le ?? '');
      if (le !== undefined && !Number.isNaN(le)) p.b.push([le, s.value]);
    } else if (s.name === `${name}_sum`) p.sum = s.value;
    else if (s.name === `${name}_count`) p.count = s.value;
  }
  for (const [key, p] of parts) {
    p.b.sort((x, y) => x[0] - y[0]);
    const inf = p.b.length > 0 && p.b[p.b.length - 1]![0] === Infinity ? p.b[p.b.length - 1]![1] : undefined;
    out.set(key, { le: p.b.map((x) => x[0]), buckets: p.b.map((x) => x[1]), sum: p.sum ?? 0, count: p.count ?? inf ?? 0 });
  }
  return out;
}
