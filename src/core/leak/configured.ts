/**
 * Where the user's code configures a library (issue 14, "a leak inside a library is named at the
 * user's configuring line").
 *
 * A heap suspect whose bytes are allocated inside a library is named at the first user frame of
 * its stack: the line that calls into the library. That is the line to change when the user's code
 * calls the leaking library itself (`histogram.observe({ route: req.url })`). It is not when the
 * user's code reaches the library through another one: express-session's MemoryStore keeps a
 * session per cookie-less request, saved when express ends the response, so the stack runs
 * `MemoryStore.set ← … ← express's res.json ← your handler` — every handler that answers is on
 * it, and none of them is where the leak can be fixed. The user's line for that leak is where the
 * library was set up: `app.use(session({...}))`, on no allocation stack at all.
 *
 * The rule: when the package the user frame calls (`entryPackage`) is not the package the bytes
 * are allocated in (`library`), the leaking package was wired in by the user's code somewhere
 * else; its configuring sites are the calls of what the user's source imports from that package
 * (`session(...)`, `new Pool(...)`, `client.collectDefaultMetrics()`), found in the user's source
 * text by `findConfigurationCalls`. The node layer reads the files (see src/node/leak-sources.ts)
 * and maps the line through source maps.
 *
 * Pure: text in, lines out. No parser: imports and requires are recognised by their usual forms
 * (ESM `import … from 'pkg'`, CommonJS `require('pkg')`, and TypeScript's compiled
 * `__importDefault(require("pkg"))` with its `(0, pkg_1.default)(…)` calls), comments and string
 * contents are blanked first so a mention in either is not a call.
 */
import { libraryPackage } from './summary.js';
import type { Suspect } from './analyze.js';

export interface ConfigurationCall {
  /** 1-based line of the call */
  line: number;
  /** the callee as written (`session`, `client.Histogram`, `express_session_1.default`) */
  callee: string;
}

/** The package whose configuring site a suspect needs, or undefined (see the module comment). */
export function configuringPackage(s: Pick<Suspect, 'profile' | 'library' | 'entryPackage' | 'origin'>): string | undefined {
  if (s.profile !== 'heap' || s.origin !== 'user' || !s.library || !s.entryPackage) return undefined;
  const pkg = libraryPackage(s.library.file);
  return pkg && pkg !== s.entryPackage ? pkg : undefined;
}

/**
 * The same question for a confirmed heap site with no user frame at all (`LeakAnalysis.outside`):
 * the package its bytes are allocated in, when a different package (the framework at the root of
 * the stack: express's router, fastify's hooks) calls into it. express-session's middleware
 * creates each session from express's router, so no frame of the user's is on that stack, and the
 * only line of the user's that drives it is `app.use(session({...}))`. A site inside the framework
 * itself (fastify's own request objects, reached from `node:http`) gets no package: the user's
 * `Fastify()` does not say what to change. The stack is the suspect's, leaf first, as
 * `name file:line` texts.
 */
export function configuringPackageOfOutside(s: Pick<Suspect, 'profile' | 'origin' | 'file' | 'stack'>): string | undefined {
  if (s.profile !== 'heap' || s.origin !== 'library') return undefined;
  const leaf = libraryPackage(s.file);
  if (!leaf) return undefined;
  const root = rootPackage(s.stack);
  return root && root !== leaf ? leaf : undefined;
}

/** The file (as written) and line of one `name file:line` stack text (null when it names none). */
export function stackFrameAt(text: string): { file: string; line: number } | null {
  const m = /\s(\S*):(\d+)$/.exec(text);
  return m ? { file: m[1]!, line: Number(m[2]) } : null;
}

/** The file of one `name file:line` stack text, as written ('' when it names none). */
export function stackFrameFile(text: string): string {
  return stackFrameAt(text)?.file ?? '';
}

/** The package of the outermost library frame of a stack (`name file:line` texts, leaf first), or ''. */
export function rootPackage(stack: readonly string[]): string {
  let root = '';
  for (const text of stack) {
    const pkg = libraryPackage(stackFrameFile(text));
    if (pkg) root = pkg;
  }
  return root;
}

/**
 * The source with comments and the contents of string and template literals replaced by blanks
 * (newlines kept, so offsets and line numbers still hold). Quotes themselves stay.
 */
export function blankCommentsAndStrings(src: string): string {
  const out = src.split('');
  let i = 0;
  const n = src.length;
  const blank = (from: number, to: number) => {
    for (let k = from; k < to; k++) if (out[k] !== '\n') out[k] = ' ';
  };
  while (i < n) {
    const c = src[i]!;
    const d = src[i + 1];
    if (c === '/' && d === '/') {
      const e = src.indexOf('\n', i);
      const end = e < 0 ? n : e;
      blank(i, end);
      i = end;
    } else if (c === '/' && d === '*') {
      const e = src.indexOf('*/', i + 2);
      const end = e < 0 ? n : e + 2;
      blank(i, end);
      i = end;
    } else if (c === "'" || c === '"' || c === '`') {
      let j = i + 1;
      while (j < n && src[j] !== c) {
        if (src[j] === '\\') j++;
        else if (c !== '`' && src[j] === '\n') break; // an unterminated string ends at the line
        j++;
      }
      blank(i + 1, Math.min(j, n));
      i = j + 1;
    } else i++;
  }
  return out.join('');
}

const ID = '[A-Za-z_$][\\w$]*';

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/**
 * The local names the source binds to what it imports from `pkg` (or a subpath of it), and the
 * character offsets of those import statements.
 */
export function packageBindings(src: string, pkg: string): { names: string[]; at: number[] } {
  const spec = `['"]${escapeRe(pkg)}(?:/[^'"\\n]*)?['"]`;
  const names = new Set<string>();
  const at: number[] = [];
  const named = (list: string) => {
    for (const part of list.split(',')) {
      const m = new RegExp(`^\\s*(?:type\\s+)?(${ID})(?:\\s+as\\s+(${ID}))?\\s*$`).exec(part);
      if (m && !/^\s*type\s/.test(part)) names.add(m[2] ?? m[1]!);
    }
  };
  const destructured = (list: string) => {
    for (const part of list.split(',')) {
      const m = new RegExp(`^\\s*(${ID})(?:\\s*:\\s*(${ID}))?\\s*(?:=[^,]*)?$`).exec(part);
      if (m) names.add(m[2] ?? m[1]!);
    }
  };
  // import X from 'p' · import X, { a, b as c } from 'p' · import * as X from 'p' · import { a } from 'p'
  const esm = new RegExp(`\\bimport\\s+(?!type\\s)([\\w$\\s{},*]+?)\\s+from\\s*${spec}`, 'g');
  for (let m; (m = esm.exec(src)); ) {
    at.push(m.index);
    const clause = m[1]!;
    const ns = new RegExp(`\\*\\s*as\\s+(${ID})`).exec(clause);
    if (ns) names.add(ns[1]!);
    const braces = /\{([^}]*)\}/.exec(clause);
    if (braces) named(braces[1]!);
    const def = new RegExp(`^\\s*(${ID})\\s*(?:,|$)`).exec(clause);
    if (def) names.add(def[1]!);
  }
  // const X = require('p') · = require('p').default · = __importDefault(require('p')) · const { a, b: c } = require('p')
  const cjs = new RegExp(`\\b(?:const|let|var)\\s+(${ID}|\\{[^}]*\\})\\s*=\\s*(?:[\\w$]+\\()?\\s*require\\(\\s*${spec}\\s*\\)`, 'g');
  for (let m; (m = cjs.exec(src)); ) {
    at.push(m.index);
    const b = m[1]!;
    if (b.startsWith('{')) destructured(b.slice(1, -1));
    else names.add(b);
  }
  return { names: [...names], at };
}

/**
 * The lines where the source calls (or constructs with `new`) something it imported from `pkg`:
 * `session({...})`, `new client.Histogram({...})`, `(0, express_session_1.default)({...})`. In
 * source order, one per line.
 */
export function findConfigurationCalls(src: string, pkg: string): ConfigurationCall[] {
  // bindings are read from the real text (the specifier is a string), calls from the blanked one
  const { names } = packageBindings(src, pkg);
  if (names.length === 0) return [];
  const code = blankCommentsAndStrings(src);
  const lineStarts = [0];
  for (let i = 0; i < code.length; i++) if (code[i] === '\n') lineStarts.push(i + 1);
  const lineOf = (off: number) => {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid]! <= off) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };
  const alt = names.map(escapeRe).join('|');
  // the binding, not preceded by a name character or a dot (`x.session(` is someone else's),
  // an optional member chain, an optional `)` (TypeScript's `(0, m.default)(`), then `(`
  const call = new RegExp(`(?<![\\w$.])(${alt})((?:\\s*\\.\\s*[A-Za-z_$][\\w$]*)*)\\s*\\)?\\s*\\(`, 'g');
  const out: ConfigurationCall[] = [];
  const seen = new Set<number>();
  for (let m; (m = call.exec(code)); ) {
    // (a declaration never matches: `import x from`, `const x = require(` name x without a call)
    const line = lineOf(m.index);
    if (seen.has(line)) continue;
    seen.add(line);
    out.push({ line, callee: `${m[1]!}${m[2]!.replace(/\s+/g, '')}` });
  }
  return out;
}
