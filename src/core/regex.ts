/**
 * pprof's regular expressions are Go RE2. The common subset works in JavaScript as is; this
 * translates the few differences users hit (leading inline flags like `(?i)`), and reports a
 * bad pattern as E_REGEX instead of a SyntaxError.
 */
import { LeakscopeError } from './errors.js';

export function compileGoRegex(pattern: string, what: string): RegExp {
  let flags = 'u';
  let src = pattern;
  const m = /^\(\?([imsU]+)\)/.exec(src);
  if (m) {
    src = src.slice(m[0].length);
    if (m[1]!.includes('i')) flags += 'i';
    if (m[1]!.includes('m')) flags += 'm';
    if (m[1]!.includes('s')) flags += 's';
  }
  // RE2 named groups (?P<name>…) are (?<name>…) in JavaScript.
  src = src.replace(/\(\?P</g, '(?<');
  try {
    return new RegExp(src, flags);
  } catch {
    try {
      return new RegExp(src, flags.replace('u', ''));
    } catch (e) {
      throw new LeakscopeError('E_REGEX', `invalid ${what} regular expression "${pattern}": ${(e as Error).message.replace(/^Invalid regular expression: /, '')}`);
    }
  }
}
