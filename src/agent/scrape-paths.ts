/**
 * The `/debug/pprof/*` paths continuous profilers scrape by default beyond the agent's own
 * (README, "Continuous profilers"): Grafana Alloy's `pyroscope.scrape` and Parca ask a Go
 * service for `allocs`, `mutex` and `block`, and Alloy's godeltaprof settings for `delta_heap`,
 * `delta_mutex` and `delta_block`.
 *
 * - `allocs` and `delta_heap` answer the sampling heap profile (`inuse_objects`, `inuse_space`):
 *   V8's one sampler gives live samples or all samples, never both, so there are no `alloc_*`
 *   types. Alloy matches samples across scrapes by their locations' addresses, so these answers
 *   give every location a synthetic address that is stable for a (function, file, line, column):
 *   with the encoder's address 0 everywhere, Alloy would merge different stacks into one.
 * - `mutex`, `block` and the delta variants answer what a Go service with mutex and block
 *   profiling off answers: a profile with the sample types `contentions/count` and
 *   `delay/nanoseconds` and no samples. JavaScript has no mutexes or blocking channel waits; the
 *   main thread's blocking shows as event-loop delay (`metrics`) and in `profile`.
 */
import { type Profile, emptyProfile } from '../core/profile.js';

/** The paths this module adds, and what each answers. */
export const SCRAPE_PATHS: Record<string, 'heap' | 'contentions'> = {
  allocs: 'heap',
  delta_heap: 'heap',
  mutex: 'contentions',
  block: 'contentions',
  delta_mutex: 'contentions',
  delta_block: 'contentions',
};

/** Index-page lines for the paths above. */
export const SCRAPE_INDEX = [
  { name: 'allocs', link: 'allocs', doc: 'For scrapers that ask Go services for allocs (Pyroscope, Parca): the same live-heap profile as heap (V8 offers no alloc_* counts alongside it), with stable location addresses. delta_heap answers the same.' },
  { name: 'block', link: 'block', doc: 'Empty contentions/delay profile, as a Go service with block profiling off answers (JavaScript has no blocking channel waits); delta_block too.' },
  { name: 'mutex', link: 'mutex', doc: 'Empty contentions/delay profile, as a Go service with mutex profiling off answers; delta_mutex too.' },
];

const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const MASK64 = (1n << 64n) - 1n;

/** FNV-1a 64 of `s`'s UTF-16 code units, folded into 47 bits and never 0. */
function addressOf(s: string): bigint {
  let h = FNV_OFFSET;
  for (let i = 0; i < s.length; i++) {
    h ^= BigInt(s.charCodeAt(i));
    h = (h * FNV_PRIME) & MASK64;
  }
  const a = (h ^ (h >> 47n)) & ((1n << 47n) - 1n);
  return a === 0n ? 1n : a;
}

/**
 * Gives each location of `p` an address derived from its frames (function name, file, line,
 * column): the same code gets the same address in every answer. Locations that end up sharing an
 * address (a hash collision) get distinct ones by probing, so no two locations of one profile
 * collide. Changes `p` in place and returns it.
 */
export function stampAddresses(p: Profile): Profile {
  const used = new Set<bigint>();
  for (const loc of p.locations) {
    const key = loc.lines.map((l) => {
      const f = p.functions[l.fn];
      return `${f?.name ?? ''}\0${f?.filename ?? ''}\0${l.line}\0${l.column}`;
    }).join('\n');
    let a = addressOf(key);
    while (used.has(a)) a = a + 1n;
    used.add(a);
    loc.address = a;
  }
  return p;
}

/** A profile with no samples and the sample types of Go's mutex and block profiles. */
export function emptyContentionProfile(timeNanos: bigint, comment: string): Profile {
  const p = emptyProfile([
    { type: 'contentions', unit: 'count' },
    { type: 'delay', unit: 'nanoseconds' },
  ]);
  return { ...p, timeNanos, periodType: { type: 'contentions', unit: 'count' }, period: 1, comments: [comment] };
}
