/**
 * Limits on input: how many bytes one input may bring in, read from a URL or inflated from gzip.
 * A module of its own (no decoders, no zlib) so that the CLI's flag parsing and the snapshot
 * reader's worker can use it cheaply.
 */
import { LeakscopeError } from '../core/errors.js';

/**
 * A profile is read whole into memory, so a URL's body and gzip's output are each bounded: by default 512 MiB for profiles; heap snapshots are streamed into the parser and
 * never held whole, so their bound is 8 GiB. `--max-bytes N` or LEAKSCOPE_MAX_BYTES raises (or
 * lowers) both. Plain local files are read as they are (their size is a fact, not a claim).
 */
export const DEFAULT_MAX_PROFILE_BYTES = 512 * 2 ** 20;
export const DEFAULT_MAX_SNAPSHOT_BYTES = 8 * 2 ** 30;
export const MAX_BYTES_ENV = 'LEAKSCOPE_MAX_BYTES';
/** How the limit can be raised, for the messages that say it was hit. */
export const RAISE = `raise the limit with --max-bytes or ${MAX_BYTES_ENV}`;

const SIZE_UNITS: Record<string, number> = {
  '': 1, b: 1,
  k: 2 ** 10, kb: 1e3, kib: 2 ** 10,
  m: 2 ** 20, mb: 1e6, mib: 2 ** 20,
  g: 2 ** 30, gb: 1e9, gib: 2 ** 30,
  t: 2 ** 40, tb: 1e12, tib: 2 ** 40,
};

/**
 * A byte size: a number with an optional unit — `B`; `KB`, `MB`, `GB`, `TB` in powers of 1000;
 * `KiB`, `MiB`, `GiB`, `TiB` (or just `K`, `M`, `G`, `T`) in powers of 1024. Case is ignored.
 * Returns undefined when the text is not one.
 */
export function parseByteSize(v: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(v);
  if (!m) return undefined;
  const unit = SIZE_UNITS[m[2]!.toLowerCase()];
  if (unit === undefined) return undefined;
  const n = Math.floor(Number(m[1]) * unit);
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

/** `536870912` → `512 MiB`: limits in messages, in the unit they are usually given in. */
export function formatByteSize(n: number): string {
  for (const [u, f] of [['TiB', 2 ** 40], ['GiB', 2 ** 30], ['MiB', 2 ** 20], ['KiB', 2 ** 10]] as const) {
    if (n >= f) return `${Number((n / f).toFixed(2))} ${u}`;
  }
  return `${n} bytes`;
}

/**
 * The bound for one input of this kind: `explicit` (a --max-bytes flag) when given, else
 * LEAKSCOPE_MAX_BYTES, else the kind's default.
 */
export function maxBytesFor(kind: 'profile' | 'snapshot', explicit?: number): number {
  if (explicit !== undefined) return explicit;
  const env = process.env[MAX_BYTES_ENV];
  if (env !== undefined && env.trim() !== '') {
    const n = parseByteSize(env);
    if (n === undefined) throw new LeakscopeError('E_USAGE', `${MAX_BYTES_ENV} must be a size such as 512MiB or 2GB, got "${env}"`);
    return n;
  }
  return kind === 'profile' ? DEFAULT_MAX_PROFILE_BYTES : DEFAULT_MAX_SNAPSHOT_BYTES;
}

/** The error for an input past its bound: one line that says which bound and how to raise it. */
export function tooLarge(name: string, what: 'url' | 'gzip', limit: number): LeakscopeError {
  const size = formatByteSize(limit);
  return new LeakscopeError(
    'E_TOO_LARGE',
    what === 'url' ? `${name}: the answer is larger than ${size}; stopped reading (${RAISE})` : `${name}: gzip data inflates to more than ${size}; stopped inflating (${RAISE})`,
  );
}
