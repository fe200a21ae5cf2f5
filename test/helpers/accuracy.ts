/**
 * The accuracy suite's answer keys (examples/real-services/<service>/answers.json) and the scorer:
 * a pure function from what `watch --json` and `snapshot leaks --json` (and memlab's `find-leaks`)
 * reported to found / misattributed / missed / false positives against the key.
 *
 * How a report is matched to the key:
 * - watch: a suspect is FOUND for a leak when its own file:line — or, for a library the user's code
 *   reaches through another one, the line where the user's code configures it (`configuredAt`,
 *   the key's line for express-session's MemoryStore: `app.use(session(...))`) — lies in one of the
 *   leak's `accept` ranges and its profile is one the leak must show in. Otherwise it is MISATTRIBUTED to a leak when
 *   a frame of its stack matches one of the leak's `identify` patterns (the leak is recognised, the
 *   place named is wrong). Otherwise it is a FALSE POSITIVE (of a look-alike when a frame matches
 *   one, else unattributed: a runtime or framework site).
 * - snapshot groups (and memlab traces): each retainer path (plus the class name) is scanned for the
 *   answer key's fragments (path elements that name an owner: `pendingAudit`, `MemoryStore`,
 *   `Timeout`…). The deepest fragment names the owner — the group belongs to that leak or look-alike.
 *   A leak's group is FOUND when its path passes through no other leak's owner and its location
 *   (when the key gives one) is the expected file:line; otherwise it is MISATTRIBUTED, with the
 *   reason. A group owned by a look-alike, or by nothing in the key, is a FALSE POSITIVE.
 * A second report of an already matched leak is counted as `extra` (one leak should be one report),
 * never as a false positive.
 */

export type LeakKindKey = 'heap' | 'async' | 'promise';

/** `path/suffix.js:10-20` (a file and a line range), `path.js:12` (one line) or a substring of the file. */
export type FramePattern = string;

export interface LoadRequest {
  weight: number;
  method: string;
  /** `{seq}` → a counter, `{rand:N}` → a random integer below N */
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface PlantedLeak {
  id: string;
  kind: LeakKindKey;
  description: string;
  watch: {
    /** profiles of which at least one must show the leak */
    profiles: string[];
    /** the user's file (repository-relative) and line that store into the leaking container or create the resource */
    file: string;
    line: number;
    /** text found on that line (the key checks itself against the source) */
    code: string;
    /** line ranges of `file` where a reported site counts as the right place (the sampler names a function's first line) */
    accept: [number, number][];
    identify: FramePattern[];
  };
  snapshot: {
    /** retainer-path elements or class names that name the leak's owner */
    identify: string[];
    /** `file:line` the group must carry, or null when a heap snapshot cannot know it */
    location: string | null;
    accept?: [number, number][];
  };
}

export interface LookAlike {
  id: string;
  description: string;
  identify: { watch: FramePattern[]; snapshot: string[] };
}

export interface AnswerKey {
  service: string;
  description: string;
  /** what to run, repository-relative */
  entry: string;
  /** the source file the key's lines refer to */
  source: string;
  load: LoadRequest[];
  leaks: PlantedLeak[];
  lookalikes: LookAlike[];
}

/** What the scorer needs of a `watch --json` suspect. */
export interface WatchSuspect {
  profile: string;
  name: string;
  file: string;
  line: number;
  stack: string[];
  /** where the user's code configures the library the bytes are allocated in (see above) */
  configuredAt?: { file: string; line: number };
}

/** What the scorer needs of a `snapshot leaks --json` group. */
export interface SnapshotGroup {
  className: string;
  count?: number;
  retainerPath: string[];
  location: string | null;
  /** `possible-cache`: reported as a cache that may still be filling, not as a leak (issue 14) */
  status?: string;
}

export interface Found {
  leak: string;
  at: string;
}
export interface Misattributed {
  leak: string;
  at: string;
  expected: string;
  reason: string;
}
export interface FalsePositive {
  at: string;
  /** the look-alike it is, when recognised */
  lookalike?: string;
}

export interface ToolScore {
  found: Found[];
  misattributed: Misattributed[];
  missed: string[];
  falsePositives: FalsePositive[];
  /** further reports of a leak already matched */
  extra: { leak: string; at: string }[];
  /** groups the tool itself called a possible cache, not a leak: neither found nor false positives */
  possibleCaches?: { owner: string | null; at: string }[];
}

/** Checks an answer key against its source lines; returns the problems (empty when consistent). */
export function checkAnswerKey(key: AnswerKey, readSource: (file: string) => string): string[] {
  const problems: string[] = [];
  const ids = new Set<string>();
  for (const l of key.leaks) {
    if (ids.has(l.id)) problems.push(`${l.id}: duplicate id`);
    ids.add(l.id);
    if (!['heap', 'async', 'promise'].includes(l.kind)) problems.push(`${l.id}: kind ${l.kind}`);
    const lines = readSource(l.watch.file).split('\n');
    const text = lines[l.watch.line - 1] ?? '';
    if (!text.includes(l.watch.code)) problems.push(`${l.id}: ${l.watch.file}:${l.watch.line} is "${text.trim()}", not "${l.watch.code}"`);
    if (!l.watch.accept.some(([a, b]) => l.watch.line >= a && l.watch.line <= b)) problems.push(`${l.id}: line ${l.watch.line} outside its accepted ranges`);
    if (l.snapshot.identify.length === 0) problems.push(`${l.id}: no snapshot fragments`);
  }
  return problems;
}

const normFile = (f: string): string => f.replace(/^file:\/\//, '').replace(/\\/g, '/');

/** `name file:line` (file may be empty or contain spaces? no: the last blank separates) → file, line. */
export function parseFrame(frame: string): { name: string; file: string; line: number } {
  const m = /^(.*?)\s*(\S*):(\d+)$/.exec(frame);
  if (!m) return { name: frame, file: '', line: 0 };
  return { name: m[1]!, file: normFile(m[2]!), line: Number(m[3]) };
}

function fileMatches(file: string, suffix: string): boolean {
  const f = normFile(file);
  return f === suffix || f.endsWith(`/${suffix}`);
}

/** Whether a frame at file:line matches a pattern. */
export function frameMatches(file: string, line: number, pattern: FramePattern): boolean {
  const range = /^(.+?):(\d+)(?:-(\d+))?$/.exec(pattern);
  if (range && !range[1]!.startsWith('node:')) {
    const from = Number(range[2]);
    const to = range[3] ? Number(range[3]) : from;
    return fileMatches(file, range[1]!) && line >= from && line <= to;
  }
  return normFile(file).includes(pattern);
}

const inRanges = (line: number, ranges: [number, number][]) => ranges.some(([a, b]) => line >= a && line <= b);

const describeSuspect = (s: WatchSuspect) => `${s.profile}:${s.name} ${s.file}:${s.line}${s.configuredAt ? ` (configured at ${s.configuredAt.file}:${s.configuredAt.line})` : ''}`;

/** The places a suspect names in the user's code: its own site, and its configuring line. */
const namedAt = (s: WatchSuspect) => [{ file: s.file, line: s.line }, ...(s.configuredAt ? [s.configuredAt] : [])];

/**
 * The leak or look-alike a stack belongs to: the first frame from the leaf that a pattern of the key
 * matches decides (leaks before look-alikes at the same frame). Library and runtime frames on the
 * way are passed over; the walk stops at the first frame of the service's own code (the directory
 * of `key.source`) — the code that drives the allocation — whether or not the key names it, so a
 * user function further up (a middleware that calls `next()`, an ancestor of every route) does not
 * claim what its callees allocate.
 */
function nearestOwner(key: AnswerKey, frames: { file: string; line: number }[]): { leak?: PlantedLeak; lookalike?: LookAlike } | undefined {
  const serviceDir = key.source.slice(0, key.source.lastIndexOf('/') + 1);
  for (const f of frames) {
    const leak = key.leaks.find((l) => l.watch.identify.some((p) => frameMatches(f.file, f.line, p)));
    if (leak) return { leak };
    const lookalike = key.lookalikes.find((la) => la.identify.watch.some((p) => frameMatches(f.file, f.line, p)));
    if (lookalike) return { lookalike };
    if (normFile(f.file).includes(`/${serviceDir}`) || normFile(f.file).startsWith(serviceDir)) return undefined;
  }
  return undefined;
}

export function scoreWatch(key: AnswerKey, suspects: WatchSuspect[]): ToolScore {
  const out: ToolScore = { found: [], misattributed: [], missed: [], falsePositives: [], extra: [], possibleCaches: [] };
  const foundIds = new Set<string>();
  const mis = new Map<string, Misattributed>();
  // found first, over all suspects: a leak named at the right place by one suspect and elsewhere
  // by another is found (the other one is extra)
  const rest: WatchSuspect[] = [];
  for (const s of suspects) {
    const leak = key.leaks.find((l) => namedAt(s).some((p) => fileMatches(p.file, l.watch.file) && inRanges(p.line, l.watch.accept)) && l.watch.profiles.includes(s.profile));
    // named at a leak's line, but its stack belongs to another leak (a library site of that leak
    // charged to a user frame it shares with this one): not found
    const stackOwner = leak ? nearestOwner(key, s.stack.map(parseFrame))?.leak : undefined;
    if (!leak || (stackOwner && stackOwner !== leak)) {
      rest.push(s);
      continue;
    }
    if (foundIds.has(leak.id)) out.extra.push({ leak: leak.id, at: describeSuspect(s) });
    else {
      foundIds.add(leak.id);
      out.found.push({ leak: leak.id, at: describeSuspect(s) });
    }
  }
  for (const s of rest) {
    const stackOwner = nearestOwner(key, s.stack.map(parseFrame))?.leak;
    const at = key.leaks.find((l) => namedAt(s).some((p) => fileMatches(p.file, l.watch.file) && inRanges(p.line, l.watch.accept)));
    const located = at && (!stackOwner || stackOwner === at) ? at : undefined;
    // the stack (leaf first) decides; the site alone when the stack says nothing
    const owner = located ? { leak: located } : (nearestOwner(key, s.stack.map(parseFrame)) ?? nearestOwner(key, [{ file: s.file, line: s.line }]));
    const leak = owner?.leak;
    if (leak) {
      if (foundIds.has(leak.id) || mis.has(leak.id)) {
        out.extra.push({ leak: leak.id, at: describeSuspect(s) });
        continue;
      }
      const expected = `${leak.watch.file}:${leak.watch.line} (${leak.watch.profiles.join(' or ')})`;
      const reason = located ? `right place, but in the ${s.profile} profile` : `named at ${s.file}:${s.line} instead of the user's line`;
      mis.set(leak.id, { leak: leak.id, at: describeSuspect(s), expected, reason });
      continue;
    }
    out.falsePositives.push({ at: describeSuspect(s), ...(owner?.lookalike ? { lookalike: owner.lookalike.id } : {}) });
  }
  out.misattributed = [...mis.values()];
  out.missed = key.leaks.filter((l) => !foundIds.has(l.id) && !mis.has(l.id)).map((l) => l.id);
  return out;
}

/** A path's elements with the class name last, for fragment matching. */
function pathElements(g: SnapshotGroup): string[] {
  return [...g.retainerPath, g.className];
}

/** Index of the deepest element equal to one of the fragments (-1: none). */
function deepest(elements: string[], fragments: string[]): number {
  for (let i = elements.length - 1; i >= 0; i--) if (fragments.includes(elements[i]!)) return i;
  return -1;
}

/** `…/file.js:12` or `file.ts:12:5` → repository-relative match against `suffix:line`. */
function locationMatches(location: string | null, leak: PlantedLeak): boolean {
  const want = leak.snapshot.location;
  if (want === null) return true;
  if (!location) return false;
  const m = /^(.*?):(\d+)(?::\d+)?$/.exec(normFile(location));
  if (!m) return false;
  const wm = /^(.*):(\d+)$/.exec(want)!;
  const ranges = leak.snapshot.accept ?? [[Number(wm[2]), Number(wm[2])]];
  return fileMatches(m[1]!, wm[1]!) && inRanges(Number(m[2]), ranges);
}

const describeGroup = (g: SnapshotGroup) => `${g.className}${g.count !== undefined ? ` ×${g.count}` : ''}: ${g.retainerPath.join(' → ')}${g.location ? ` @${g.location}` : ''}`;

export function scoreSnapshot(key: AnswerKey, groups: SnapshotGroup[], opts: { requireLocation?: boolean } = {}): ToolScore {
  const requireLocation = opts.requireLocation ?? true;
  const out: ToolScore = { found: [], misattributed: [], missed: [], falsePositives: [], extra: [], possibleCaches: [] };
  const foundIds = new Set<string>();
  const mis = new Map<string, Misattributed>();
  const owners: { id: string; leak?: PlantedLeak; fragments: string[] }[] = [
    ...key.leaks.map((l) => ({ id: l.id, leak: l, fragments: l.snapshot.identify })),
    ...key.lookalikes.map((la) => ({ id: la.id, fragments: la.identify.snapshot })),
  ];
  // found groups first, so that a leak found once makes its other groups extra, not misattributed
  const classified = groups.map((g) => {
    const els = pathElements(g);
    let best: (typeof owners)[number] | undefined;
    let bestAt = -1;
    for (const o of owners) {
      const at = deepest(els, o.fragments);
      if (at > bestAt) {
        bestAt = at;
        best = o;
      }
    }
    let reason: string | undefined;
    if (best?.leak) {
      const through = owners.filter((o) => o.leak && o !== best && deepest(els.slice(0, bestAt), o.fragments) >= 0).map((o) => o.id);
      if (through.length > 0) reason = `its path runs through another leak (${through.join(', ')})`;
      else if (requireLocation && !locationMatches(g.location, best.leak)) reason = `location ${g.location ?? 'missing'}, expected ${best.leak.snapshot.location}`;
    }
    return { g, owner: best, reason };
  });
  // A group the tool calls a possible cache is no leak claim: it neither finds a planted leak nor
  // counts against the tool (the verdict the user reads is "may be a cache still filling").
  for (const c of classified.filter((c) => c.g.status === 'possible-cache')) out.possibleCaches!.push({ owner: c.owner?.id ?? null, at: describeGroup(c.g) });
  for (const c of classified.filter((c) => c.g.status !== 'possible-cache' && c.owner?.leak && !c.reason)) {
    if (foundIds.has(c.owner!.id)) out.extra.push({ leak: c.owner!.id, at: describeGroup(c.g) });
    else {
      foundIds.add(c.owner!.id);
      out.found.push({ leak: c.owner!.id, at: describeGroup(c.g) });
    }
  }
  for (const c of classified.filter((c) => c.g.status !== 'possible-cache' && !(c.owner?.leak && !c.reason))) {
    if (c.owner?.leak) {
      const id = c.owner.id;
      if (foundIds.has(id) || mis.has(id)) out.extra.push({ leak: id, at: describeGroup(c.g) });
      else mis.set(id, { leak: id, at: describeGroup(c.g), expected: `${c.owner.leak.snapshot.identify.join('/')}${c.owner.leak.snapshot.location ? ` @${c.owner.leak.snapshot.location}` : ''}`, reason: c.reason! });
    } else out.falsePositives.push({ at: describeGroup(c.g), ...(c.owner ? { lookalike: c.owner.id } : {}) });
  }
  out.misattributed = [...mis.values()];
  out.missed = key.leaks.filter((l) => !foundIds.has(l.id) && !mis.has(l.id)).map((l) => l.id);
  return out;
}

/** One line per tool: found/misattributed/missed/false positives of the key's leaks. */
export function scoreLine(s: ToolScore, leaks: number): string {
  return `${s.found.length}/${leaks} found, ${s.misattributed.length} misattributed, ${s.missed.length} missed, ${s.falsePositives.length} false positive${s.falsePositives.length === 1 ? '' : 's'}`;
}

/** A readable account of a score, for test messages and the findings file. */
export function explainScore(tool: string, s: ToolScore): string {
  const lines = [`${tool}:`];
  for (const f of s.found) lines.push(`  found          ${f.leak}: ${f.at}`);
  for (const m of s.misattributed) lines.push(`  misattributed  ${m.leak}: ${m.at} — ${m.reason}; expected ${m.expected}`);
  for (const m of s.missed) lines.push(`  missed         ${m}`);
  for (const f of s.falsePositives) lines.push(`  FALSE POSITIVE ${f.lookalike ? `(${f.lookalike}) ` : ''}${f.at}`);
  for (const e of s.extra) lines.push(`  extra          ${e.leak}: ${e.at}`);
  for (const c of s.possibleCaches ?? []) lines.push(`  possible cache ${c.owner ? `(${c.owner}) ` : ''}${c.at}`);
  return lines.join('\n');
}

/**
 * memlab `find-leaks` text output → one retainer path per leak cluster. A cluster reads
 *   --Similar leaks in this run: N--
 *   --Retained size of leaked objects: S--
 *   [<synthetic>] (synthetic) @1 [19MB]
 *     --edge (type)--->  [Name] (type) @id [size]
 *     …
 * Its elements are the edge and node names, root first, as in a leakscope retainer path; the last
 * node is the class. memlab knows no source location.
 */
export function parseMemlabTraces(text: string): SnapshotGroup[] {
  const out: SnapshotGroup[] = [];
  // eslint-disable-next-line no-control-regex
  const lines = text.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').split('\n');
  let count: number | undefined;
  let els: string[] | undefined;
  const flush = () => {
    if (els && els.length > 0) out.push({ className: els[els.length - 1]!, count, retainerPath: els.slice(0, -1), location: null });
    els = undefined;
  };
  for (const line of lines) {
    const head = /--Similar leaks in this run: (\d+)--/.exec(line);
    if (head) {
      flush();
      count = Number(head[1]);
      els = [];
      continue;
    }
    if (!els) continue;
    const edge = /^\s*--(.*?) \([^)]*\)--->\s+\[(.*?)\] \([^)]*\) @\d+/.exec(line);
    const root = /^\s*\[(.*?)\] \([^)]*\) @\d+/.exec(line);
    if (edge) els.push(edge[1]!, edge[2]!);
    else if (root && els.length === 0) els.push(root[1]!);
    else if (line.trim() === '' && els.length > 0) flush();
  }
  flush();
  return out;
}
