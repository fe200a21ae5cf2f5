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
import { sniffJsonProfile, v8JsonToPprof } from '../formats/v8-json.js';
import { isUrl } from './url.js';

/** Decompressed output may be at most this many times the input, and never above 4 GiB. */
const MAX_GUNZIP_RATIO = 1000;
const MAX_GUNZIP_BYTES = 2 ** 32 - 1;

export function isGzip(buf: Uint8Array): boolean {
  return buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b;
}

/** gunzips when the bytes are gzip; returns them as they are otherwise. Bounded output. */
export function maybeGunzip(buf: Uint8Array, name = 'input'): Uint8Array {
  if (!isGzip(buf)) return buf;
  const limit = Math.min(MAX_GUNZIP_BYTES, Math.max(64 * 1024 * 1024, buf.length * MAX_GUNZIP_RATIO));
  // The gzip trailer's ISIZE is the uncompressed size mod 2^32: one output chunk of that size
  // avoids zlib's chunk list and the final concatenation (half the peak memory of a plain gunzip).
  const isize = buf.length >= 18 ? new DataView(buf.buffer, buf.byteOffset + buf.length - 4, 4).getUint32(0, true) : 0;
  const chunkSize = isize > 0 && isize <= limit ? Math.max(16 * 1024, isize + 1) : 64 * 1024;
  try {
    return gunzipSync(buf, { maxOutputLength: limit, chunkSize });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ERR_BUFFER_TOO_LARGE' || err.code === 'ERR_OUT_OF_RANGE') {
      throw new LeakscopeError('E_TOO_LARGE', `${name}: gzip data expands beyond ${limit} bytes; refusing to decompress`);
    }
    if (err.code === 'Z_BUF_ERROR' || err.errno === zconst.Z_BUF_ERROR) {
      throw new LeakscopeError('E_TRUNCATED', `${name}: truncated gzip data (unexpected end of file)`);
    }
    throw new LeakscopeError('E_CORRUPT', `${name}: corrupt gzip data (${err.message})`);
  }
}


export interface FetchOptions {
  /** adds `seconds=N` to the query, like pprof's -seconds */
  seconds?: number;
  /** overall timeout in ms; default: 60 s, or 1.5 × seconds + 5 s when seconds is set */
  timeoutMs?: number;
  /** sent as `Authorization: Bearer <token>` */
  token?: string;
  /** called with progress messages (never printed by this module) */
  onStatus?: (msg: string) => void;
}

export function withSeconds(url: string, seconds: number | undefined): string {
  if (seconds === undefined) return url;
  const u = new URL(url);
  u.searchParams.set('seconds', String(seconds));
  return u.toString();
}

/** Fetches a URL's body as bytes, with a timeout and one-line errors for every failure. */
export async function fetchBytes(url: string, opts: FetchOptions = {}): Promise<Uint8Array> {
  const full = withSeconds(url, opts.seconds);
  const timeout = opts.timeoutMs ?? (opts.seconds !== undefined ? opts.seconds * 1500 + 5000 : 60000);
  const headers: Record<string, string> = {};
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  opts.onStatus?.(`Fetching profile over HTTP from ${full}`);
  let res: Response;
  try {
    res = await fetch(full, { headers, signal: AbortSignal.timeout(timeout) });
  } catch (e) {
    const err = e as Error & { cause?: { code?: string; message?: string } };
    if (err.name === 'TimeoutError' || err.name === 'AbortError') {
      throw new LeakscopeError('E_FETCH', `${full}: no answer within ${Math.round(timeout / 1000)}s`);
    }
    const cause = err.cause?.code ?? err.cause?.message ?? err.message;
    throw new LeakscopeError('E_FETCH', `${full}: cannot connect (${cause})`);
  }
  if (res.status !== 200) {
    let text = '';
    try {
      text = (await res.text()).trim().split('\n')[0]!.slice(0, 200);
    } catch {
      /* body unreadable: the status says enough */
    }
    throw new LeakscopeError('E_FETCH', `${full}: server answered ${res.status} ${res.statusText}${text ? `: ${text}` : ''}`);
  }
  try {
    return new Uint8Array(await res.arrayBuffer());
  } catch (e) {
    throw new LeakscopeError('E_FETCH', `${full}: connection lost while reading the body (${(e as Error).message})`);
  }
}

export async function readSourceBytes(source: string, opts: FetchOptions = {}): Promise<Uint8Array> {
  if (source === '-') {
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

/** bytes → Profile, gzip or raw; errors name the source. */
export function parseProfileBytes(bytes: Uint8Array, name: string): Profile {
  const wasGzip = isGzip(bytes);
  const raw = maybeGunzip(bytes, name);
  const json = sniffJsonProfile(new TextDecoder('latin1').decode(raw.subarray(0, 256)));
  if (json === 'heapsnapshot') {
    throw new LeakscopeError('E_NOT_PROFILE', `${name}: a V8 heap snapshot, not a profile (use "leakscope snapshot summary|diff|retainers|leaks")`);
  }
  if (json === 'json') return parseJsonProfile(raw, name);
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

export async function loadProfile(source: string, opts: FetchOptions = {}): Promise<Profile> {
  return parseProfileBytes(await readSourceBytes(source, opts), source);
}
