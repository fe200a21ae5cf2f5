/**
 * Heap suspects that the heap snapshots show to be a cache (issue 14).
 *
 * A bounded cache that is still filling grows exactly like a leak for as long as it fills: the
 * sampling heap profiler sees allocations that stay alive, in many small steps, and no rule on the
 * series alone can tell them apart within a minute. The heap snapshots `watch --snapshots` takes
 * can: `snapshot leaks` calls a group a `possible-cache` when its holder is a cache bounded by a
 * configured maximum (lru-cache's `max`), removes entries, or its rise slows. When the line that
 * stores into such a cache lies in the body of a suspect's function, and nothing the snapshots call
 * a leak is stored there or reached through the suspect's stack, the suspect is set aside as a near
 * miss that says why — never dropped without a word. Pure: the source text comes from `read`.
 */
import type { LeakAnalysis, NearMiss, Suspect } from './analyze.js';
import { stackFrameAt, stackFrameFile } from './configured.js';

/** What this needs of a `snapshot leaks --json` group. */
export interface CacheEvidenceGroup {
  status?: unknown;
  location?: unknown;
  cacheEvidence?: unknown;
  name?: unknown;
  className?: unknown;
  retainerPath?: unknown;
  owner?: unknown;
  growth?: unknown;
  count?: unknown;
  retainedSize?: unknown;
}

/** The variables a group's path starts from: the names right after a `(module scope)` or
 *  `(closure scope)` element of its owner's path (else its own). */
export function pathVariables(g: CacheEvidenceGroup): string[] {
  const ownerPath = g.owner && typeof g.owner === 'object' ? (g.owner as { retainerPath?: unknown }).retainerPath : undefined;
  const path = Array.isArray(ownerPath) ? ownerPath : Array.isArray(g.retainerPath) ? g.retainerPath : [];
  const out: string[] = [];
  for (let i = 0; i + 1 < path.length; i++) {
    const v = path[i + 1];
    if ((path[i] === '(module scope)' || path[i] === '(closure scope)') && typeof v === 'string' && /^[A-Za-z_$][\w$]*$/.test(v) && !out.includes(v)) out.push(v);
  }
  return out;
}

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Whether `text` stores into the container held by variable `name` (`name.set(`, `.push(`,
 *  `.add(`, `.unshift(`, `name[key] =`). */
export function storesInto(text: string, name: string): boolean {
  return new RegExp(`(?<![\\w$#.])${escapeRe(name)}\\s*(?:\\.\\s*(?:set|push|add|unshift)\\s*\\(|\\[[^\\]\\n]*\\]\\s*=(?![=>]))`).test(text);
}

const normFile = (f: string): string => f.replace(/^file:\/\//, '').replace(/\\/g, '/');

/** `file:line` or `file:line:column` → file and line (null when it is neither). */
export function parseLocation(loc: unknown): { file: string; line: number } | null {
  if (typeof loc !== 'string') return null;
  const m = /^(.*?):(\d+)(?::\d+)?$/.exec(loc);
  if (!m || !m[1]) return null;
  return { file: normFile(m[1]), line: Number(m[2]) };
}

/**
 * The lines [from, to] (1-based) of the body of the function that starts on line `startLine`: from
 * the first `{` after `=>` or `)` on or after that line to the brace that closes it. Strings
 * ('…', "…") and line comments are skipped; braces inside template literals are counted (they
 * balance in `${…}`). null when no body is found.
 */
export function functionBodyLines(src: string, startLine: number): { from: number; to: number } | null {
  let off = 0;
  for (let l = 1; l < startLine; l++) {
    const nl = src.indexOf('\n', off);
    if (nl < 0) return null;
    off = nl + 1;
  }
  // the body's brace: after `=>`, or after the parameters' `)` (and a TypeScript return type);
  // an arrow with an expression body ends on the line of its `=>` as far as this is concerned
  const head = /=>\s*(\{)?|\)\s*(?::\s*[\w$<>[\]|&., ]+)?\{/g;
  head.lastIndex = off;
  const m = head.exec(src);
  if (!m) return null;
  if (m[0].startsWith('=>') && !m[1]) {
    const at = lineOf(src, off, startLine, m.index);
    return { from: startLine, to: at };
  }
  const open = m.index + m[0].length - 1;
  let depth = 0;
  let end = -1;
  for (let i = open; i < src.length; i++) {
    const c = src[i]!;
    if (c === "'" || c === '"') {
      for (i++; i < src.length && src[i] !== c && src[i] !== '\n'; i++) if (src[i] === '\\') i++;
    } else if (c === '/' && src[i + 1] === '/') {
      while (i < src.length && src[i] !== '\n') i++;
    } else if (c === '{') depth++;
    else if (c === '}' && --depth === 0) {
      end = i;
      break;
    }
  }
  if (end < 0) return null;
  return { from: lineOf(src, off, startLine, open), to: lineOf(src, off, startLine, end) };
}

/** The line of offset `pos`, counting from line `line` that starts at offset `off`. */
function lineOf(src: string, off: number, line: number, pos: number): number {
  for (let k = src.indexOf('\n', off); k >= 0 && k < pos; k = src.indexOf('\n', k + 1)) line++;
  return line;
}

/** a function head on a line: `function name(`, `name = (…) =>` / `name = function`, or a method
 *  `name(…) {` (not `if (`, `for (`, …) */
const HEAD_RE = [
  /\bfunction\s*\*?\s*([A-Za-z_$][\w$]*)\s*[<(]/,
  /\b([A-Za-z_$][\w$]*)\s*(?::[^=]*)?=\s*(?:async\s+)?(?:function\b|(?:\([^)]*\)|[A-Za-z_$][\w$]*)\s*(?::[^=]*)?=>)/,
  /^\s*(?:(?:public|private|protected|static|async|override)\s+)*([A-Za-z_$][\w$]*)\s*(?:<[^>]*>)?\([^)]*\)\s*(?::[^{]*)?\{\s*$/,
];
const NOT_A_NAME = new Set(['if', 'for', 'while', 'switch', 'catch', 'with', 'return', 'function']);

/**
 * The name of the innermost named function whose body holds line `line` (1-based): the first
 * function head found going up from it (at most 300 lines) whose body reaches that line. null when
 * the line is in an anonymous function or at module scope.
 */
export function enclosingFunctionName(src: string, line: number): string | null {
  const lines = src.split('\n');
  for (let l = Math.min(line, lines.length); l >= 1 && l > line - 300; l--) {
    const text = lines[l - 1]!;
    let name: string | null = null;
    for (const re of HEAD_RE) {
      const m = re.exec(text);
      if (m && m[1] && !NOT_A_NAME.has(m[1])) {
        name = m[1];
        break;
      }
    }
    if (!name) continue;
    const body = functionBodyLines(src, l);
    if (body && body.from <= line && line <= body.to) return name;
  }
  return null;
}

/** a location in a library: reached through a suspect's stack when a frame is in that file */
const inLibrary = (f: string): boolean => f.includes('/node_modules/');

const frameFile = (frame: string): string => {
  const f = stackFrameFile(frame);
  return f ? normFile(f) : '';
};

type Site = { loc: { file: string; line: number } | null; vars: string[]; evidence: string[]; label: string; growth: number[]; name: string; count: number; retainedSize: number };

function sites(groups: readonly CacheEvidenceGroup[]): { caches: Site[]; leaks: Site[] } {
  const caches: Site[] = [];
  const leaks: Site[] = [];
  for (const g of groups) {
    const loc = parseLocation(g.location);
    const vars = pathVariables(g);
    const evidence = Array.isArray(g.cacheEvidence) ? g.cacheEvidence.filter((e): e is string => typeof e === 'string') : [];
    const growth = Array.isArray(g.growth) ? g.growth.filter((x): x is number => typeof x === 'number') : [];
    const name = typeof g.name === 'string' ? g.name : String(g.className ?? '?');
    const count = typeof g.count === 'number' ? g.count : 0;
    const retainedSize = typeof g.retainedSize === 'number' ? g.retainedSize : 0;
    const site = { loc, vars, evidence, growth, name, count, retainedSize, label: vars[0] ?? (loc ? `line ${loc.line}` : name) };
    if (g.status === 'possible-cache') caches.push(site);
    else leaks.push(site);
  }
  return { caches, leaks };
}

/** The source of a heap site's file, and the lines and text of its function's body (null when
 *  it is not a heap site or the source cannot be read). */
function functionText(s: { profile: string; file: string; line: number }, read: (file: string) => string | null): { src: string; file: string; from: number; to: number; text: string } | null {
  if (s.profile !== 'heap') return null;
  const src = read(s.file);
  const body = src ? functionBodyLines(src, s.line) : null;
  if (!src || !body) return null;
  return { src, file: normFile(s.file), ...body, text: src.split('\n').slice(body.from - 1, body.to).join('\n') };
}

type FunctionText = NonNullable<ReturnType<typeof functionText>>;

/** Whether a function's body stores into a group: the group's store line is in the body, or the
 *  body stores into the variable the group's path starts from. */
function storesIn(f: FunctionText): (g: Site) => boolean {
  return (g) => (g.loc !== null && g.loc.file === f.file && g.loc.line >= f.from && g.loc.line <= f.to) || g.vars.some((v) => storesInto(f.text, v));
}

/**
 * Whether a function's body calls, by name, the function of the same file that holds a group's
 * store line: a helper V8 inlined into its caller (geocode() storing into its cache, charged by
 * the sampler to the handler that calls it). `storer` names a group's storing function, once per
 * group, from the source of its file.
 */
function callsStorer(f: FunctionText, storer: (g: Site, src: string) => string | null): (g: Site) => boolean {
  return (g) => {
    if (g.loc === null || g.loc.file !== f.file) return false;
    const name = storer(g, f.src);
    return name !== null && new RegExp(`(?<![\\w$.])${escapeRe(name)}\\s*\\(`).test(f.text);
  };
}

/** The body of a heap site's function in the user's code, and whether it stores into a group. */
function bodyOf(s: { profile: string; file: string; line: number }, read: (file: string) => string | null): ((g: Site) => boolean) | null {
  const f = functionText(s, read);
  return f ? storesIn(f) : null;
}

/** A variable of a file that holds a library LRU cache constructed with a configured maximum. */
export interface BoundedCache {
  name: string;
  line: number;
  /** the option as written: `max: 1500` */
  bound: string;
}

/**
 * The variables of a source file that hold a library LRU cache built with a configured maximum:
 * `const productCache = new LRUCache({ max: 1500 })` (lru-cache 7+), `new LRU({ max })` (lru-cache
 * 6 and older), `new QuickLRU({ maxSize: 1000 })`, TypeScript type arguments and annotations
 * allowed. Such a cache cannot outgrow its bound; while it fills it grows like a leak.
 */
export function boundedCaches(src: string): BoundedCache[] {
  const out: BoundedCache[] = [];
  const decl = /\b(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*(?::[^=\n]+)?=\s*new\s+(?:[\w$]+\.)?[\w$]*(?:LRU|Lru|lru)[\w$]*\s*(?:<[^>\n]*>)?\s*\(\s*\{([^}]*)\}/g;
  for (let m = decl.exec(src); m; m = decl.exec(src)) {
    const opt = /(?:^|[\s,{])(max|maxSize|maxEntries)\s*(?::\s*([^,}\n]+?))?\s*(?:,|$)/.exec(m[2]!);
    if (!opt) continue;
    const line = src.slice(0, m.index).split('\n').length;
    out.push({ name: m[1]!, line, bound: opt[2] ? `${opt[1]}: ${opt[2].trim()}` : opt[1]! });
  }
  return out;
}

/**
 * Moves the heap suspects whose growth the snapshots explain as a cache into \`a.nearMisses\`, each
 * with \`cache\` set to the snapshots' evidence. Returns the suspects set aside.
 *
 * The same for a suspect whose function stores into a library LRU cache the source builds with a
 * maximum (\`boundedCaches\`) when the snapshots show nothing it stores rising: a cache full
 * before the first snapshot leaves no group to point at, and the sampler's steps while it filled
 * (or its churn after) are all it saw. Callers apply this only when snapshots were taken.
 */
export function setAsideSnapshotCaches(a: LeakAnalysis, groups: readonly CacheEvidenceGroup[], read: (file: string) => string | null): Suspect[] {
  const { caches, leaks } = sites(groups);
  const aside: Suspect[] = [];
  const keep: Suspect[] = [];
  const bounded = new Map<string, BoundedCache[]>();
  const boundedIn = (file: string, src: string): BoundedCache[] => {
    let b = bounded.get(file);
    if (!b) bounded.set(file, (b = boundedCaches(src)));
    return b;
  };
  for (const s of a.suspects) {
    const f = s.origin === 'user' ? functionText(s, read) : null;
    const storedHere = f ? storesIn(f) : null;
    const fromSnapshots = storedHere ? caches.filter(storedHere) : [];
    const fromSource = f ? boundedIn(f.file, f.src).filter((b) => storesInto(f.text, b.name)) : [];
    const cache = [
      ...fromSnapshots,
      ...fromSource
        .filter((b) => !fromSnapshots.some((c) => c.vars.includes(b.name)))
        .map((b) => ({ label: b.name, evidence: [`built with ${b.bound} at ${f!.file.split('/').pop()}:${b.line}`, 'nothing it stores rises in the heap snapshots'] })),
    ];
    // a leak stored in the same function, or reached through the suspect's stack (a library the
    // snapshots place a leak in), keeps it a suspect: it may be both
    const stackFiles = new Set(s.stack.map(frameFile));
    if (s.library) stackFiles.add(normFile(s.library.file));
    const leakHere = leaks.some((l) => storedHere?.(l) || (l.loc !== null && inLibrary(l.loc.file) && stackFiles.has(l.loc.file)));
    if (cache.length === 0 || leakHere) {
      keep.push(s);
      continue;
    }
    aside.push(s);
    const evidence = [...new Set(cache.flatMap((c) => c.evidence))];
    const at = [...new Set(cache.map((c) => c.label))].join(', ');
    const m: NearMiss = {
      profile: s.profile,
      name: s.name,
      file: s.file,
      line: s.line,
      unit: s.unit,
      ...(s.library ? { library: s.library } : {}),
      reason: 'leak',
      slopePerMinute: s.growthPerMinute,
      growth: s.lastValue - s.firstValue,
      pValue: s.pValue,
      first: s.firstValue,
      last: s.lastValue,
      cache:
        fromSnapshots.length > 0
          ? `it grew like a leak, but the heap snapshots show it stores into a cache (${at}${evidence.length ? `: ${evidence.join('; ')}` : ''})`
          : `it grew like a leak, but it stores into a cache bounded by its configuration (${at}${evidence.length ? `: ${evidence.join('; ')}` : ''})`,
    };
    a.nearMisses.unshift(m);
  }
  a.suspects = keep;
  return aside;
}

/**
 * The other way round: a heap near miss of the user's code (it grew, but a rule failed: too few
 * sampler steps, one big step) whose function stores into a container the snapshots call a leak
 * — its objects rising in every snapshot — that no suspect already stores into, becomes a suspect
 * with \`snapshotConfirmed\` saying so. The sampler sees such a leak at its resolution; the
 * snapshots count its objects.
 *
 * And a group rising in every snapshot, stored at a line of the user's code that no suspect's
 * stack and no near miss accounts for, becomes a suspect of its own at that line
 * (\`snapshotOnly\`): a leak of small objects at a modest rate (a listener a request) can leave
 * too few sampler steps to be even a near miss, and the snapshots still count it. Suspects
 * charged to a configured library claim nothing through their own function (above).
 * Returns the suspects added.
 */
export function confirmFromSnapshots(a: LeakAnalysis, groups: readonly CacheEvidenceGroup[], read: (file: string) => string | null): Suspect[] {
  const { leaks } = sites(groups);
  const rising = leaks.filter((l) => l.growth.length >= 3 && l.growth.every((v, i) => i === 0 || v > l.growth[i - 1]!));
  if (rising.length === 0) return [];
  const claimed = new Set<Site>();
  const storers = new Map<Site, string | null>();
  const storer = (g: Site, src: string): string | null => {
    if (!storers.has(g)) storers.set(g, g.loc ? enclosingFunctionName(src, g.loc.line) : null);
    return storers.get(g)!;
  };
  for (const s of a.suspects) {
    // a suspect charged to where a library is configured is that library's allocations: what its
    // function's body stores into itself (the 'reconnect' listeners next to the session save)
    // is left to the function's own near miss; any other suspect claims what the functions of
    // its user frames store
    const frames = s.configuredAt ? [] : [s, ...userFrames(s.stack).map((f) => ({ profile: s.profile, ...f }))];
    const stored = frames.flatMap((fr) => {
      const f = functionText(fr, read);
      return f ? [storesIn(f), callsStorer(f, storer)] : [];
    });
    const stackFiles = new Set(s.stack.map(frameFile));
    if (s.library) stackFiles.add(normFile(s.library.file));
    if (s.configuredAt) stackFiles.add(normFile(s.configuredAt.file));
    // a suspect named at the group's own line (an async suspect's setInterval call, whose
    // Timeouts the snapshots count) is that group, whatever its profile
    const sameLine = (l: Site): boolean => l.loc !== null && l.loc.file === normFile(s.file) && l.loc.line === s.line;
    for (const l of rising) if (sameLine(l) || stored.some((st) => st(l)) || (l.loc !== null && inLibrary(l.loc.file) && stackFiles.has(l.loc.file))) claimed.add(l);
  }
  const added: Suspect[] = [];
  for (const m of [...a.nearMisses]) {
    if (m.profile !== 'heap' || m.cache || !(m.last > m.first) || m.file.includes('/node_modules/') || m.file.startsWith('node:')) continue;
    const stored = bodyOf(m, read);
    const group = stored ? rising.find((l) => !claimed.has(l) && stored(l)) : undefined;
    if (!group) continue;
    claimed.add(group);
    const kind = a.kinds.find((k) => k.kind === m.profile);
    const last = kind?.totals[kind.totals.length - 1] ?? 0;
    const s: Suspect = {
      profile: m.profile,
      name: m.name,
      file: m.file,
      line: m.line,
      stack: [],
      origin: 'user',
      ...(m.library ? { library: m.library } : {}),
      growthPerMinute: m.slopePerMinute,
      unit: m.unit,
      confidence: 1 - m.pValue,
      pValue: m.pValue,
      tau: 0,
      totalGrowth: m.growth,
      firstValue: m.first,
      lastValue: m.last,
      firstDetectedSample: m.heldAtSample ?? (kind?.totals.length ?? 0),
      firstDetectedMs: m.heldAtMs ?? (kind?.times[kind.times.length - 1] ?? 0),
      share: last > 0 ? m.last / last : 0,
      snapshotConfirmed: `${group.name}${group.loc ? ` stored at ${group.loc.file}:${group.loc.line}` : ''}, rising in every heap snapshot (${group.growth.join(' → ')}); the sampler alone: ${m.heldAtSample !== undefined ? `confirmed at sample ${m.heldAtSample}, not at the end` : 'not confirmed'} (${m.reason})`,
    };
    a.nearMisses.splice(a.nearMisses.indexOf(m), 1);
    a.suspects.push(s);
    added.push(s);
  }
  // what is left: rising groups stored in the user's code that nothing above accounts for (a
  // near miss storing into it would have claimed it)
  const heap = a.kinds.find((k) => k.kind === 'heap');
  if (!heap) return added;
  for (const m of a.nearMisses) {
    if (m.profile !== 'heap') continue;
    const stored = bodyOf(m, read);
    for (const l of rising) if (stored?.(l)) claimed.add(l);
  }
  for (const l of rising) {
    if (claimed.has(l) || l.loc === null || inLibrary(l.loc.file) || l.loc.file.startsWith('node:') || !l.loc.file.startsWith('/')) continue;
    const first = l.growth[0]!;
    const last = l.growth[l.growth.length - 1]!;
    const s: Suspect = {
      profile: 'heap',
      name: l.name,
      file: l.loc.file,
      line: l.loc.line,
      stack: [],
      origin: 'user',
      growthPerMinute: 0,
      unit: heap.unit,
      confidence: 0,
      pValue: 1,
      tau: 0,
      totalGrowth: 0,
      firstValue: 0,
      lastValue: 0,
      firstDetectedSample: heap.totals.length,
      firstDetectedMs: heap.times[heap.times.length - 1] ?? 0,
      share: 0,
      snapshotOnly: { count: l.count, retainedSize: l.retainedSize, growth: l.growth },
      snapshotConfirmed: `${l.name} stored at ${l.loc.file}:${l.loc.line}, rising in every heap snapshot (${l.growth.join(' → ')}: ${last - first} more from the first to the last); the sampler saw too few steps of it for even a near miss`,
    };
    claimed.add(l);
    a.suspects.push(s);
    added.push(s);
  }
  return added;
}

/** The user's frames of a stack (`name file:line` texts): file and the function's first line. */
function userFrames(stack: readonly string[]): { file: string; line: number }[] {
  const out: { file: string; line: number }[] = [];
  for (const text of stack) {
    const at = stackFrameAt(text);
    if (!at || !at.file || inLibrary(at.file) || at.file.startsWith('node:')) continue;
    out.push({ file: normFile(at.file), line: at.line });
  }
  return out;
}
