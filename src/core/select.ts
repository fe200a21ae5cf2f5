/**
 * Choosing the sample type, as pprof does (profile/index.go SampleIndexByName): a 0-based index,
 * or a name; names with an `inuse_` prefix also match `space`/`objects`; nothing given means
 * default_sample_type if set, else the LAST sample type.
 */
import { LeakscopeError } from './errors.js';
import type { Profile } from './profile.js';

export function sampleIndex(p: Profile, spec?: string | number): number {
  const n = p.sampleTypes.length;
  if (n === 0) throw new LeakscopeError('E_SAMPLE_INDEX', 'profile has no sample types');
  if (spec === undefined || spec === '') {
    if (p.defaultSampleType) return sampleIndex(p, p.defaultSampleType);
    return n - 1;
  }
  if (typeof spec === 'number' || /^\d+$/.test(spec)) {
    const i = Number(spec);
    if (i < 0 || i >= n) {
      throw new LeakscopeError('E_SAMPLE_INDEX', `sample_index ${i} out of range [0..${n - 1}]`);
    }
    return i;
  }
  const names = p.sampleTypes.map((st) => st.type);
  let i = names.indexOf(spec);
  if (i >= 0) return i;
  const stripped = spec.replace(/^inuse_/, '');
  i = names.indexOf(stripped);
  if (i >= 0) return i;
  throw new LeakscopeError('E_SAMPLE_INDEX', `sample_index "${spec}" must be one of: ${names.join(', ')}`);
}

/** Value of sample `s` for type `t`. */
export function sampleValue(p: Profile, s: number, t: number): number {
  return p.samples.values[s * p.sampleTypes.length + t]!;
}
