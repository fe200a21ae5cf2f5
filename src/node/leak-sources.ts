/**
 * What the snapshot leak finder needs from the file system, for reports made in this process:
 * local source text (to name closures and find the line that fills a container) and source-map
 * resolution of `file:line` locations (TypeScript compiled with `sourceMap`). The same rules as
 * `leakscope snapshot leaks` (src/cli/commands/snapshot.ts).
 */
import { readFileSync, statSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SourceMapResolver } from '../agent/sourcemaps.js';

/** Source files up to this size are read. */
const MAX_SOURCE_BYTES = 4 << 20;

/** the text of a local source file (a path or file:// URL), or null */
export function readSource(file: string): string | null {
  let p = file;
  try {
    if (file.startsWith('file://')) p = fileURLToPath(file);
    if (!isAbsolute(p)) return null;
    if (statSync(p).size > MAX_SOURCE_BYTES) return null;
    return readFileSync(p, 'utf8');
  } catch {
    return null;
  }
}

/**
 * `file:line` locations mapped to the original source when the file ships a source map; a
 * package's file (under node_modules) stays as it is (its maps need the column).
 */
export function mapLocation(location: string | null, resolver: SourceMapResolver = new SourceMapResolver()): string | null {
  const m = location ? /^(.*):(\d+)$/.exec(location) : null;
  if (!m || /[\\/]node_modules[\\/]/.test(m[1]!)) return location;
  const url = m[1]!;
  const line = Number(m[2]);
  const r = resolver.resolve({ functionName: '', scriptId: '0', url, lineNumber: line - 1, columnNumber: 0 });
  if (r.file === url.replace(/^file:\/\//, '') && r.line === line) return location;
  return `${r.file}:${r.line}`;
}

/**
 * One `at fn (file:line:col)` line of a stack with its position mapped to the original source
 * (when the file has a source map); other lines unchanged.
 */
export function mapStackLine(line: string, resolver: SourceMapResolver): string {
  const m = /^(.*?)((?:file:\/\/)?\/[^():]*):(\d+):(\d+)(\)?)$/.exec(line);
  if (!m || /[\\/]node_modules[\\/]/.test(m[2]!)) return line;
  const url = m[2]!;
  const r = resolver.resolve({ functionName: '', scriptId: '0', url, lineNumber: Number(m[3]) - 1, columnNumber: Number(m[4]) - 1 });
  const file = url.replace(/^file:\/\//, '');
  if (r.file === file && r.line === Number(m[3])) return line;
  return `${m[1]}${r.file}:${r.line}:${r.column}${m[5]}`;
}
