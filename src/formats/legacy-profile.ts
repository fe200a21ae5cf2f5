/**
 * The legacy formats go tool pprof reads besides profile.proto, tried in its order: the binary CPU
 * profile (C++ / Java, legacy-cpu.ts), then the text heap, Go count, thread, contention and Java
 * profiles (legacy-text.ts). Pure.
 */
import { LeakscopeError } from '../core/errors.js';
import type { Profile } from '../core/profile.js';
import { looksLikeLegacyCpu, parseLegacyCpu } from './legacy-cpu.js';
import { looksLikeLegacyText, parseLegacyText } from './legacy-text.js';

/** Whether the (inflated) bytes start like a legacy profile rather than profile.proto. */
export function looksLikeLegacy(raw: Uint8Array): boolean {
  if (looksLikeLegacyCpu(raw)) return true;
  return looksLikeLegacyText(new TextDecoder('latin1').decode(raw.subarray(0, 4096)));
}

/** Reads a legacy profile; E_NOT_PROFILE when none of the formats recognizes the bytes. */
export function decodeLegacy(raw: Uint8Array): Profile {
  const p = parseLegacyCpu(raw) ?? parseLegacyText(new TextDecoder('utf-8').decode(raw));
  if (!p) throw new LeakscopeError('E_NOT_PROFILE', 'starts like a legacy profile (text heap, contention, thread or CPU) but its rows are not in that format');
  return p;
}
