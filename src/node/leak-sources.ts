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
import type { LeakAnalysis } from '../core/leak/analyze.js';
import { configuringPackage, configuringPackageOfOutside, findConfigurationCalls, rootPackage } from '../core/leak/configured.js';
import type { FrameRef } from '../core/leak/summary.js';

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

/**
 * Watch's configuring-site step (src/core/leak/configured.ts): for each heap suspect whose bytes
 * are allocated in a library the user's code reaches through another one, the first call in the
 * user's source of what it imports from that library — the suspect's own file first, then its
 * other callers' files, then every user file of the heap profiles — becomes `configuredAt` (mapped
 * through a source map when the file has one); further calls are `also`. Sets the field in place.
 */
export function addConfiguredSites(a: LeakAnalysis, read: (file: string) => string | null = readSource, resolver: SourceMapResolver = new SourceMapResolver()): void {
  const texts = new Map<string, string | null>();
  const text = (f: string) => {
    if (!texts.has(f)) texts.set(f, read(f));
    return texts.get(f)!;
  };
  /** the calls of what the user's files (in this order, packages' files skipped) import from pkg */
  const calls = (files: string[], pkg: string): FrameRef[] => {
    const found: FrameRef[] = [];
    for (const f of new Set(files)) {
      if (!f || /[\\/]node_modules[\\/]/.test(f)) continue;
      const src = text(f);
      if (src === null) continue;
      for (const c of findConfigurationCalls(src, pkg)) {
        const loc = mapLocation(`${f}:${c.line}`, resolver) ?? `${f}:${c.line}`;
        const m = /^(.*):(\d+)$/.exec(loc)!;
        found.push({ name: `${c.callee}(…)`, file: m[1]!, line: Number(m[2]) });
      }
      if (found.length >= 4) break;
    }
    return found;
  };
  for (const s of a.suspects) {
    const pkg = configuringPackage(s);
    if (!pkg) continue;
    const kind = a.kinds.find((k) => k.kind === s.profile);
    const found = calls([s.file, ...(s.callers ?? []).map((c) => c.file), ...(kind?.userFiles ?? [])], pkg);
    if (found.length === 0) continue;
    s.configuredAt = { ...found[0]!, ...(found.length > 1 ? { also: found.slice(1, 4) } : {}) };
  }
  // A confirmed heap site with no frame of the user's (LeakAnalysis.outside) inside a package that
  // a framework calls (express-session's middleware, run by express's router) is charged to the
  // line where the user's code sets that package up, and becomes a suspect there, ranked below the
  // others; a package the user's code never sets up stays outside. See configuringPackageOfOutside.
  const keepOutside: typeof a.outside = [];
  const promoted: typeof a.suspects = [];
  for (const o of a.outside) {
    const pkg = configuringPackageOfOutside(o);
    const found = pkg ? calls(a.kinds.find((k) => k.kind === o.profile)?.userFiles ?? [], pkg) : [];
    if (found.length === 0) {
      keepOutside.push(o);
      continue;
    }
    const at = found[0]!;
    const root = rootPackage(o.stack);
    promoted.push({
      ...o,
      name: at.name,
      file: at.file,
      line: at.line,
      origin: 'user',
      library: { name: o.name, file: o.file, line: o.line },
      ...(root ? { entryPackage: root } : {}),
      configuredAt: { ...at, ...(found.length > 1 ? { also: found.slice(1, 4) } : {}) },
    });
  }
  a.outside = keepOutside;
  a.suspects.push(...promoted);
}

