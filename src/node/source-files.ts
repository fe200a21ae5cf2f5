/**
 * Finding and reading the source files a profile names, by pprof's own rules (its sourceReader and
 * openSourceFile): the name is trimmed (-trim_path prefixes, or the -source_path basename
 * heuristic, then /proc/self/cwd/); an absolute name must exist as is; a relative one is tried under
 * each -source_path directory (default: the current directory) and each of its parents. No other
 * guessing: a file pprof would not find is not found here either, with pprof's message.
 */
import { openSync, readSync, closeSync, fstatSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { trimFilePath } from '../core/graph.js';

/** A file's lines as Go's bufio.Scanner yields them, or pprof's error for it. */
export type SourceLookup = string[] | { error: string };

/** bufio.MaxScanTokenSize: the Scanner stops (silently, as pprof reads it) at a longer line. */
const MAX_LINE = 64 * 1024;
/** the most of one file read (a source file larger than this is read up to here) */
const MAX_FILE = 64 * 1024 * 1024;

const ERRNO_TEXT: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  ENOTDIR: 'not a directory',
  ELOOP: 'too many levels of symbolic links',
  ENAMETOOLONG: 'file name too long',
  EPERM: 'operation not permitted',
  EIO: 'input/output error',
};

/** Go's *PathError text for a failed os.Open: "open PATH: no such file or directory". */
function openError(path: string, e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code ?? '';
  return `open ${path}: ${ERRNO_TEXT[code] ?? (e as Error).message}`;
}

/** Splits like bufio.ScanLines: "\n" ends a line, a "\r" before it is dropped, no empty last line. */
export function scanLines(text: string): string[] {
  const out: string[] = [];
  let start = 0;
  while (start < text.length) {
    let nl = text.indexOf('\n', start);
    const last = nl < 0;
    if (last) nl = text.length;
    let line = text.slice(start, nl);
    if (Buffer.byteLength(line) >= MAX_LINE) break;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    out.push(line);
    start = nl + 1;
  }
  return out;
}

/** os.Open then read: a directory opens (and reads as no lines, as pprof ends up with). */
function tryOpen(path: string): { lines: string[] } | { err: unknown } {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    return { err };
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return { lines: [] };
    const size = Math.min(st.size, MAX_FILE);
    const buf = Buffer.alloc(size);
    let off = 0;
    while (off < size) {
      const n = readSync(fd, buf, off, size - off, off);
      if (n === 0) break;
      off += n;
    }
    return { lines: scanLines(buf.subarray(0, off).toString('utf8')) };
  } catch {
    return { lines: [] };
  } finally {
    closeSync(fd);
  }
}

/** pprof's openSourceFile + reading: lines of the file the profile calls `file`, or pprof's error. */
export function openSourceFile(file: string, searchPath: string, trimPath: string): SourceLookup {
  const path = trimFilePath(file, trimPath, searchPath);
  if (isAbsolute(path)) {
    const r = tryOpen(path);
    return 'lines' in r ? r.lines : { error: openError(path, r.err) };
  }
  for (let dir of searchPath.split(':')) {
    for (;;) {
      const r = tryOpen(join(dir, path));
      if ('lines' in r) return r.lines;
      const parent = dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
  }
  return { error: `could not find file ${path} on path ${searchPath}` };
}

/** Go's os.Getwd: $PWD when it is absolute and names the current directory (symlinks kept), else the real path. */
export function goGetwd(): string {
  const cwd = process.cwd();
  const pwd = process.env.PWD;
  if (pwd && isAbsolute(pwd)) {
    try {
      const a = statSync(pwd);
      const b = statSync(cwd);
      if (a.ino === b.ino && a.dev === b.dev) return pwd;
    } catch {
      /* $PWD unusable: the real path */
    }
  }
  return cwd;
}

/**
 * A cached reader for `list`: `sourcePath` is -source_path (default: the current directory),
 * `trimPath` is -trim_path.
 */
export function pprofSourceReader(sourcePath?: string, trimPath?: string): (file: string) => SourceLookup {
  const search = sourcePath !== undefined && sourcePath !== '' ? sourcePath : goGetwd();
  const cache = new Map<string, SourceLookup>();
  return (file: string) => {
    let r = cache.get(file);
    if (r === undefined) {
      r = openSourceFile(file, search, trimPath ?? '');
      cache.set(file, r);
    }
    return r;
  };
}
