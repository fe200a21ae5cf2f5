/**
 * Names from source text, for the leak finder's report: the function a closure is defined in
 * (`handleStream()`, `app.get('/stream') callback`) and the line that stores into a container
 * (`requests.set(…)`). Pure string work over a file the shell has read; a small tokenizer that
 * knows strings, comments, template literals and regular expressions well enough to match
 * braces, not a parser: what it cannot name it leaves unnamed.
 */

const BLOCK_KEYWORDS = new Set(['if', 'for', 'while', 'switch', 'catch', 'with', 'return', 'typeof', 'else', 'do', 'try', 'finally']);
const REGEX_AFTER_WORD = new Set(['return', 'typeof', 'case', 'do', 'else', 'in', 'of', 'new', 'delete', 'void', 'throw', 'instanceof', 'yield', 'await']);

interface Token {
  /** identifier/keyword text, a punctuator, or '' for string, number and regex literals */
  text: string;
  /** a string literal's source text (quotes included) */
  str?: string;
}

interface Frame {
  /** 'fn' opens a function body, 'tmpl' a template literal's `${`, 'block' anything else */
  kind: 'fn' | 'block' | 'tmpl';
  name: string | null;
}

const isIdStart = (c: number): boolean => (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 36 || c === 95 || c === 35 || c > 127;
const isIdPart = (c: number): boolean => isIdStart(c) || (c >= 48 && c <= 57);

/** offset of a 1-based line and column, or -1 */
function offsetOf(src: string, line: number, column: number): number {
  let off = 0;
  for (let l = 1; l < line; l++) {
    const nl = src.indexOf('\n', off);
    if (nl < 0) return -1;
    off = nl + 1;
  }
  return off + Math.max(0, column - 1);
}

/**
 * The name of the innermost named function whose body contains the 1-based position (a closure's
 * location as V8 records it), or null. Methods and declared functions by their name, functions
 * assigned to a variable or property by that name, callbacks by the call they are passed to.
 */
export function enclosingFunction(src: string, line: number, column: number): string | null {
  const target = offsetOf(src, line, column);
  if (target < 0 || target > src.length) return null;
  const toks: Token[] = [];
  /** token index of each open '(' (to find a call's callee and a parameter list's start) */
  const parens: number[] = [];
  /** for each ')' token index: the index of its '(' */
  const match = new Map<number, number>();
  const frames: Frame[] = [];
  const n = src.length;
  let i = 0;

  const callbackName = (open: number): string | null => {
    // tokens before '(' : ident(.ident)*
    const parts: string[] = [];
    let k = open - 1;
    while (k >= 0 && toks[k]!.text && isIdStart(toks[k]!.text.charCodeAt(0))) {
      parts.unshift(toks[k]!.text);
      if (k >= 1 && toks[k - 1]!.text === '.') k -= 2;
      else break;
    }
    if (parts.length === 0 || BLOCK_KEYWORDS.has(parts[0]!)) return null;
    const first = toks[open + 1];
    const arg = first && first.str !== undefined && toks[open + 2]?.text === ',' ? first.str : '';
    return `${parts.join('.')}(${arg}) callback`;
  };
  /** the name a function gets from what precedes its start token (index of `function`, the params' `(`, or a lone param) */
  const contextName = (start: number): string | null => {
    let k = start - 1;
    if (k >= 0 && toks[k]!.text === 'async') k--;
    const p = toks[k];
    if (!p) return null;
    if ((p.text === '=' || p.text === ':') && k >= 1) {
      const q = toks[k - 1]!;
      if (q.text && isIdStart(q.text.charCodeAt(0))) return `${q.text}()`;
      if (q.str !== undefined && p.text === ':') return `${q.str.slice(1, -1)}()`;
      return null;
    }
    if (p.text === '(' || p.text === ',') {
      const open = parens[parens.length - 1];
      return open === undefined ? null : callbackName(open);
    }
    return null;
  };
  const bodyFrame = (): Frame => {
    const prev = toks.length - 1;
    const p = toks[prev];
    if (!p) return { kind: 'block', name: null };
    if (p.text === '=>') {
      const before = toks[prev - 1];
      const start = before?.text === ')' ? (match.get(prev - 1) ?? prev - 1) : prev - 1;
      return { kind: 'fn', name: contextName(start) };
    }
    if (p.text === ')') {
      const open = match.get(prev);
      if (open === undefined) return { kind: 'block', name: null };
      const callee = toks[open - 1];
      if (!callee) return { kind: 'block', name: null };
      if (callee.text === 'function') return { kind: 'fn', name: contextName(open - 1) };
      if (callee.text && isIdStart(callee.text.charCodeAt(0))) {
        if (BLOCK_KEYWORDS.has(callee.text)) return { kind: 'block', name: null };
        if (toks[open - 2]?.text === 'function' || toks[open - 2]?.text === '*') return { kind: 'fn', name: `${callee.text}()` };
        return { kind: 'fn', name: `${callee.text}()` }; // a method: name(…) { … }
      }
    }
    return { kind: 'block', name: null };
  };
  const answer = (): string | null => {
    for (let k = frames.length - 1; k >= 0; k--) if (frames[k]!.kind === 'fn' && frames[k]!.name) return frames[k]!.name;
    return null;
  };
  const regexAllowed = (): boolean => {
    const p = toks[toks.length - 1];
    if (!p) return true;
    if (p.text === '') return false;
    if (p.text === ')' || p.text === ']' || p.text === '}') return false;
    if (isIdStart(p.text.charCodeAt(0))) return REGEX_AFTER_WORD.has(p.text);
    return true;
  };
  /** scans template text from i (after '`' or a closing '}' of `${`); returns true when it stopped at `${` */
  const template = (): boolean => {
    while (i < n) {
      const c = src.charCodeAt(i);
      if (c === 92) i += 2;
      else if (c === 96) {
        i++;
        toks.push({ text: '' });
        return false;
      } else if (c === 36 && src.charCodeAt(i + 1) === 123) {
        i += 2;
        frames.push({ kind: 'tmpl', name: null });
        return true;
      } else i++;
    }
    return false;
  };

  while (i < n) {
    if (i >= target) return answer();
    const c = src.charCodeAt(i);
    if (c === 32 || c === 9 || c === 10 || c === 13) {
      i++;
      continue;
    }
    if (c === 47 && src.charCodeAt(i + 1) === 47) {
      const nl = src.indexOf('\n', i);
      i = nl < 0 ? n : nl + 1;
      continue;
    }
    if (c === 47 && src.charCodeAt(i + 1) === 42) {
      const end = src.indexOf('*/', i + 2);
      i = end < 0 ? n : end + 2;
      continue;
    }
    if (c === 39 || c === 34) {
      const s = i;
      i++;
      while (i < n && src.charCodeAt(i) !== c && src.charCodeAt(i) !== 10) i += src.charCodeAt(i) === 92 ? 2 : 1;
      i++;
      toks.push({ text: '', str: src.slice(s, i) });
      continue;
    }
    if (c === 96) {
      i++;
      template();
      continue;
    }
    if (c === 47 && regexAllowed()) {
      i++;
      let cls = false;
      while (i < n) {
        const d = src.charCodeAt(i);
        if (d === 92) i += 2;
        else if (d === 10) break;
        else {
          i++;
          if (d === 91) cls = true;
          else if (d === 93) cls = false;
          else if (d === 47 && !cls) break;
        }
      }
      while (i < n && isIdPart(src.charCodeAt(i))) i++;
      toks.push({ text: '' });
      continue;
    }
    if (isIdStart(c)) {
      const s = i;
      while (i < n && isIdPart(src.charCodeAt(i))) i++;
      toks.push({ text: src.slice(s, i) });
      continue;
    }
    if (c >= 48 && c <= 57) {
      while (i < n && (isIdPart(src.charCodeAt(i)) || src.charCodeAt(i) === 46)) i++;
      toks.push({ text: '' });
      continue;
    }
    if (c === 61 && src.charCodeAt(i + 1) === 62) {
      i += 2;
      toks.push({ text: '=>' });
      continue;
    }
    const ch = src[i]!;
    i++;
    if (ch === '(') {
      parens.push(toks.length);
      toks.push({ text: '(' });
    } else if (ch === ')') {
      const open = parens.pop();
      if (open !== undefined) match.set(toks.length, open);
      toks.push({ text: ')' });
    } else if (ch === '{') {
      frames.push(bodyFrame());
      toks.push({ text: '{' });
    } else if (ch === '}') {
      const f = frames.pop();
      if (f?.kind === 'tmpl') template();
      else toks.push({ text: '}' });
    } else {
      // compound operators matter only as "not one of ( , = :": keep '=' alone only when it is one
      if (ch === '=' || ch === '!' || ch === '<' || ch === '>') {
        let s = ch;
        while (i < n && '=<>'.includes(src[i]!)) s += src[i++]!;
        toks.push({ text: s });
      } else toks.push({ text: ch });
    }
  }
  return answer();
}

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The 1-based line of the first statement that stores into a container held under `name`
 * (`name.set(`, `.push(`, `.add(`, `.unshift(`, `name[key] =`), or 0. A property (`property`
 * true) is matched only after a dot (`this.sessions[id] =`), a variable only without one.
 */
export function storeLine(src: string, name: string, property = false): number {
  const re = new RegExp(`${property ? '(?<=\\.\\s*)' : '(?<![\\w$#.])'}${escapeRe(name)}\\s*(?:\\.\\s*(?:set|push|add|unshift)\\s*\\(|\\[[^\\]\\n]*\\]\\s*=(?![=>]))`);
  const m = re.exec(src);
  if (!m) return 0;
  let line = 1;
  for (let k = src.indexOf('\n'); k >= 0 && k < m.index; k = src.indexOf('\n', k + 1)) line++;
  return line;
}

/**
 * The line of the first `await name` (also `await this.name`, `await obj.name`) in the function
 * that starts at `fromLine` (1-based): its body is read up to the brace that closes it. 0 when
 * there is none.
 */
export function awaitLine(src: string, fromLine: number, name: string): number {
  // the offset where line `fromLine` starts
  let off = 0;
  for (let l = 1; l < fromLine; l++) {
    const nl = src.indexOf('\n', off);
    if (nl < 0) return 0;
    off = nl + 1;
  }
  // the body: from the first `{` to its matching `}` (strings and comments are not skipped: a
  // stray brace in one only shortens or lengthens the stretch searched)
  const open = src.indexOf('{', off);
  if (open < 0) return 0;
  let depth = 0;
  let end = src.length;
  for (let i = open; i < src.length; i++) {
    const c = src[i];
    if (c === '{') depth++;
    else if (c === '}' && --depth === 0) {
      end = i;
      break;
    }
  }
  const re = new RegExp(`\\bawait\\s+(?:[\\w$]+\\s*\\.\\s*)*${escapeRe(name)}(?![\\w$])`, 'g');
  re.lastIndex = open;
  const m = re.exec(src);
  if (!m || m.index >= end) return 0;
  let line = fromLine;
  for (let k = src.indexOf('\n', off); k >= 0 && k < m.index; k = src.indexOf('\n', k + 1)) line++;
  return line;
}
