/**
 * Command-line parsing: pprof's single-dash spellings (`-sample_index=inuse_space`, `-lines`,
 * `-diff_base FILE`, `-inuse_space`) are rewritten to leakscope's long options, then node's
 * util.parseArgs does the rest. Usage errors are LeakscopeError('E_USAGE') → exit 2.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { LeakscopeError } from '../core/errors.js';
import { parseByteSize } from '../node/limits.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** pprof boolean flags that select a sample type or granularity, mapped to leakscope options. */
const PPROF_ALIASES: Record<string, string[]> = {
  lines: ['--granularity', 'lines'],
  functions: ['--granularity', 'functions'],
  filefunctions: ['--granularity', 'filefunctions'],
  files: ['--granularity', 'files'],
  addresses: ['--granularity', 'addresses'],
  inuse_space: ['--sample-index', 'inuse_space'],
  inuse_objects: ['--sample-index', 'inuse_objects'],
  alloc_space: ['--sample-index', 'alloc_space'],
  alloc_objects: ['--sample-index', 'alloc_objects'],
  total_delay: ['--sample-index', 'delay'],
  mean_delay: ['--sample-index', 'delay', '--mean'],
  contentions: ['--sample-index', 'contentions'],
  cum: ['--cum'],
  flat: ['--flat'],
  top: [],
  text: [],
  traces: [],
  tree: [],
};

/**
 * Rewrites pprof spellings to long options: `-x=v` → `--x v`, `-x v` → `--x v` for known value
 * options, `_` → `-` in names, boolean aliases expanded. Leaves `--long` and positionals alone.
 */
export function normalizeArgv(argv: string[], options: Options): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      out.push(...argv.slice(i));
      break;
    }
    if (a === '-' || !a.startsWith('-')) {
      out.push(a);
      continue;
    }
    const dashes = a.startsWith('--') ? 2 : 1;
    const body = a.slice(dashes);
    const eq = body.indexOf('=');
    const rawName = eq >= 0 ? body.slice(0, eq) : body;
    if (dashes === 1 && rawName.length === 1 && eq < 0) {
      out.push(a); // a genuine short option such as -o
      continue;
    }
    const name = rawName.replace(/_/g, '-');
    if (!(name in options) && dashes === 1 && rawName in PPROF_ALIASES && eq < 0) {
      out.push(...PPROF_ALIASES[rawName]!);
      continue;
    }
    if (!(name in options) && name.replace(/-/g, '_') in PPROF_ALIASES && eq < 0) {
      out.push(...PPROF_ALIASES[name.replace(/-/g, '_')]!);
      continue;
    }
    const pprofNames: Record<string, string> = { nodefraction: 'node-fraction', edgefraction: 'edge-fraction', nodecount: 'nodecount', 'diff-base': 'diff-base' };
    const canon = pprofNames[name] ?? name;
    out.push(eq >= 0 ? `--${canon}=${body.slice(eq + 1)}` : `--${canon}`);
  }
  return out;
}

export interface Parsed<V> {
  values: V;
  positionals: string[];
}

export function parseCommandArgs<V>(argv: string[], options: Options, command: string): Parsed<V> {
  try {
    const r = parseArgs({ args: normalizeArgv(argv, options), options, allowPositionals: true, strict: true });
    return { values: r.values as V, positionals: r.positionals };
  } catch (e) {
    const msg = (e as Error).message.split('\n')[0]!.replace(/\. To specify a positional argument.*$/, '');
    throw new LeakscopeError('E_USAGE', msg);
  }
}

export function intOption(v: string | undefined, name: string, min = 0, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (v === undefined) return undefined;
  if (!/^-?\d+$/.test(v.trim())) throw new LeakscopeError('E_USAGE', `--${name} must be an integer, got "${v}"`);
  const n = Number(v);
  if (n < min || n > max) throw new LeakscopeError('E_USAGE', `--${name} must be between ${min} and ${max}, got ${n}`);
  return n;
}

export function floatOption(v: string | undefined, name: string, min = -Infinity, max = Infinity): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new LeakscopeError('E_USAGE', `--${name} must be a number, got "${v}"`);
  if (n < min || n > max) throw new LeakscopeError('E_USAGE', `--${name} must be between ${min} and ${max}, got ${n}`);
  return n;
}

/** `--max-bytes 512MiB`, `2GB`, `1073741824` → bytes (see parseByteSize). */
export function byteSizeOption(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = parseByteSize(v);
  if (n === undefined) throw new LeakscopeError('E_USAGE', `--${name} must be a size such as 512MiB, 2GB or 1073741824, got "${v}"`);
  return n;
}
