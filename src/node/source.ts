/**
 * The edge where bytes come from: files, stdin and http(s) URLs, with gzip detected by its magic
 * number. Everything here may touch the file system, the network or zlib; nothing above it does.
 */
import { readFile } from 'node:fs/promises';
import { gunzipSync, constants as zconst } from 'node:zlib';
import { existsSync } from 'node:fs';
import { LeakscopeError } from '../core/errors.js';
import type { Profile } from '../core/profile.js';
import { decodeProfile, looksLikeProfile } from '../formats/pprof.js';
import { decodeLegacy, looksLikeLegacy } from '../formats/legacy-profile.js';
import { sniffJsonProfile, v8JsonToPprof } from '../formats/v8-json.js';
import { isUrl } from './url.js';
import { formatByteSize, maxBytesFor, tooLarge } from './limits.js';
import { noteInputSize } from './young-gen.js';

/** Deflate cannot compress better than 1032:1: a gzip trailer claiming more is not believed. */
const MAX_DEFLATE_RATIO = 1032;

export function isGzip(buf: Uint8Array): boolean {
  return buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b;
}

/**
 * gunzips when the bytes are gzip; returns them as they are otherwise. The output is bounded by
 * `maxBytes` (default: maxBytesFor('profile')), counted over all gzip members together: zlib
 * stops as soon as it passes the bound, so memory never exceeds it, whatever the input claims.
 */
export function maybeGunzip(buf: Uint8Array, name = 'input', maxBytes?: number): Uint8Array {
  if (!isGzip(buf)) return buf;
  const limit = maxBytesFor('profile', maxBytes);
  // The gzip trailer's ISIZE is the (last member's) uncompressed size mod 2^32, a claim: when it
  // is plausible, one output chunk of that size avoids zlib's chunk list and the final
  // concatenation (half the peak memory of a plain gunzip); when it is not, 64 KiB chunks.
  const isize = buf.length >= 18 ? new DataView(buf.buffer, buf.byteOffset + buf.length - 4, 4).getUint32(0, true) : 0;
  const plausible = isize > 0 && isize <= limit && isize <= buf.length * MAX_DEFLATE_RATIO;
  const chunkSize = plausible ? Math.max(16 * 1024, isize + 1) : 64 * 1024;
  try {
    return gunzipSync(buf, { maxOutputLength: limit, chunkSize });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ERR_BUFFER_TOO_LARGE' || err.code === 'ERR_OUT_OF_RANGE') throw tooLarge(name, 'gzip', limit);
    if (err.code === 'Z_BUF_ERROR' || err.errno === zconst.Z_BUF_ERROR) {
      throw new LeakscopeError('E_TRUNCATED', `${name}: truncated gzip data (unexpected end of file)`);
    }
    throw new LeakscopeError('E_CORRUPT', `${name}: corrupt gzip data (${err.message})`);
  }
}


export interface FetchOptions {
  /** adds `seconds=N` to the query, like pprof's -seconds */
  seconds?: number;
  /** overall timeout in ms (the whole body included); default: 60 s, or 1.5 × seconds + 5 s when seconds is set */
  timeoutMs?: number;
  /** sent as `Authorization: Bearer <token>` */
  token?: string;
  /** called with progress messages (never printed by this module) */
  onStatus?: (msg: string) => void;
  /**
   * the most bytes read from a URL, and the most a gzip'd input may inflate to (default:
   * maxBytesFor('profile'))
   */
  maxBytes?: number;
  /** aborts the fetch (e.g. Ctrl-C) */
  signal?: AbortSignal;
}

export function withSeconds(url: string, seconds: number | undefined): string {
  if (seconds === undefined) return url;
  const u = new URL(url);
  u.searchParams.set('seconds', String(seconds));
  return u.toString();
}

/**
 * Fetches a URL's body as bytes, with one-line errors for every failure. The timeout covers the
 * whole answer, body included (a server that stalls or never ends is given up on); the body is
 * read in chunks and refused as soon as it passes `maxBytes`, whatever Content-Length says.
 */
export async function fetchBytes(url: string, opts: FetchOptions = {}): Promise<Uint8Array> {
  const full = withSeconds(url, opts.seconds);
  const timeout = opts.timeoutMs ?? (opts.seconds !== undefined ? opts.seconds * 1500 + 5000 : 60000);
  const limit = maxBytesFor('profile', opts.maxBytes);
  const headers: Record<string, string> = {};
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  opts.onStatus?.(`Fetching profile over HTTP from ${full}`);
  const timer = AbortSignal.timeout(timeout);
  const signal = opts.signal ? AbortSignal.any([opts.signal, timer]) : timer;
  const seconds = `${Number((timeout / 1000).toFixed(3))}s`;
  let res: Response;
  try {
    res = await fetch(full, { headers, signal });
  } catch (e) {
    const err = e as Error & { cause?: { code?: string; message?: string } };
    if (opts.signal?.aborted) throw new LeakscopeError('E_FETCH', `${full}: interrupted`);
    if (err.name === 'TimeoutError' || err.name === 'AbortError') {
      throw new LeakscopeError('E_FETCH', `${full}: no answer within ${seconds}`);
    }
    const cause = err.cause?.code ?? err.cause?.message ?? err.message;
    throw new LeakscopeError('E_FETCH', `${full}: cannot connect (${cause})`);
  }
  if (res.status !== 200) {
    let text = '';
    try {
      // the first chunk says enough; the rest is never read
      const reader = res.body?.getReader();
      const first = reader ? await reader.read() : undefined;
      await reader?.cancel().catch(() => undefined);
      text = Buffer.from(first?.value ?? new Uint8Array(0)).toString('utf8').trim().split('\n')[0]!.slice(0, 200);
    } catch {
      /* body unreadable: the status says enough */
    }
    throw new LeakscopeError('E_FETCH', `${full}: server answered ${res.status} ${res.statusText}${text ? `: ${text}` : ''}`);
  }
  const claimed = Number(res.headers.get('content-length'));
  if (Number.isFinite(claimed) && claimed > limit) {
    await res.body?.cancel().catch(() => undefined);
    throw tooLarge(full, 'url', limit);
  }
  let read = 0;
  try {
    return await readBody(res, limit, signal, (n) => (read = n));
  } catch (e) {
    if (e instanceof BodyTooLarge) throw tooLarge(full, 'url', limit);
    if (opts.signal?.aborted) throw new LeakscopeError('E_FETCH', `${full}: interrupted`);
    if (timer.aborted) throw new LeakscopeError('E_FETCH', `${full}: the answer did not end within ${seconds} (${formatByteSize(read)} read; --timeout gives more time)`);
    throw new LeakscopeError('E_FETCH', `${full}: connection lost while reading the body (${(e as Error).message})`);
  }
}

class BodyTooLarge extends Error {}

/**
 * A response body as one buffer, read chunk by chunk and abandoned (the connection cancelled) as
 * soon as it passes `limit` bytes (throws BodyTooLarge): memory stays bounded by the limit.
 */
async function readBody(res: Response, limit: number, signal: AbortSignal, onRead?: (bytes: number) => void): Promise<Buffer> {
  if (!res.body) return Buffer.alloc(0);
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      if (signal.aborted) throw signal.reason;
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      onRead?.(total);
      if (total > limit) throw new BodyTooLarge();
      chunks.push(value);
    }
  } catch (e) {
    await reader.cancel().catch(() => undefined);
    throw e;
  }
  return Buffer.concat(chunks, total);
}

export async function readSourceBytes(source: string, opts: FetchOptions = {}): Promise<Uint8Array> {
  if (source === '-') {
    // stdin is the user's own pipe, like a file: not bounded here (its gzip output is)
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }
  if (isUrl(source)) return fetchBytes(source, opts);
  if (!existsSync(source) && /^[\w.-]+:\d+\//.test(source)) return fetchBytes(`http://${source}`, opts);
  try {
    return await readFile(source);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') throw new LeakscopeError('E_IO', `${source}: no such file`);
    if (err.code === 'EISDIR') throw new LeakscopeError('E_IO', `${source}: is a directory, not a profile`);
    if (err.code === 'EACCES') throw new LeakscopeError('E_IO', `${source}: permission denied`);
    throw new LeakscopeError('E_IO', `${source}: ${err.message}`);
  }
}

/** bytes → Profile, gzip or raw (inflated to at most `maxBytes`, see maybeGunzip); errors name the source. */
export function parseProfileBytes(bytes: Uint8Array, name: string, maxBytes?: number): Profile {
  const wasGzip = isGzip(bytes);
  const raw = maybeGunzip(bytes, name, maxBytes);
  noteInputSize(raw.length);
  const json = sniffJsonProfile(new TextDecoder('latin1').decode(raw.subarray(0, 256)));
  if (json === 'heapsnapshot') {
    throw new LeakscopeError('E_NOT_PROFILE', `${name}: a V8 heap snapshot, not a profile (use "leakscope snapshot summary|diff|retainers|leaks")`);
  }
  if (json === 'json') return parseJsonProfile(raw, name);
  // go tool pprof's legacy formats (text heap / contention / thread / goroutine, gperftools CPU, Java)
  if (looksLikeLegacy(raw)) {
    try {
      return decodeLegacy(raw);
    } catch (e) {
      if (e instanceof LeakscopeError) throw new LeakscopeError(e.code, `${name}: ${e.message}`);
      throw e;
    }
  }
  try {
    return decodeProfile(raw);
  } catch (e) {
    if (e instanceof LeakscopeError) {
      // Bytes that were never gzip and fail at the very first field are not a profile at all.
      if (!wasGzip && (e.code === 'E_CORRUPT' || e.code === 'E_TRUNCATED') && !looksLikeProfile(raw)) {
        throw new LeakscopeError('E_NOT_PROFILE', `${name}: not a pprof profile (neither gzip nor profile.proto)`);
      }
      throw new LeakscopeError(e.code, `${name}: ${e.message}`);
    }
    throw e;
  }
}

/** The largest `.cpuprofile` / `.heapprofile` read (they are parsed whole, as one string). */
const MAX_JSON_PROFILE = 256 << 20;

function parseJsonProfile(raw: Uint8Array, name: string): Profile {
  if (raw.length > MAX_JSON_PROFILE) throw new LeakscopeError('E_TOO_LARGE', `${name}: a JSON profile larger than ${MAX_JSON_PROFILE >> 20} MB`);
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder('utf-8').decode(raw));
  } catch (e) {
    throw new LeakscopeError('E_CORRUPT', `${name}: starts like JSON but is not valid JSON (${(e as Error).message})`);
  }
  return v8JsonToPprof(doc, name);
}

/** Profiles already loaded by this process (the shell's, loaded once), answered from memory by loadProfile. */
let preloaded: ReadonlyMap<string, Profile> | undefined;

/** Makes loadProfile answer these sources from memory (undefined: read them again). */
export function usePreloadedProfiles(profiles: ReadonlyMap<string, Profile> | undefined): void {
  preloaded = profiles;
}

export async function loadProfile(source: string, opts: FetchOptions = {}): Promise<Profile> {
  const hit = preloaded?.get(source);
  if (hit) return hit;
  return parseProfileBytes(await readSourceBytes(source, opts), source, opts.maxBytes);
}
