/**
 * The steps every pprof-style report shares, in pprof's order: drop_frames pruning, the sample
 * type, the total (computed BEFORE focusing, so percentages stay "of the whole profile"), then the
 * name filters. Pure: takes a Profile, returns what the renderers need.
 */
import { filterByName, isDiffBaseSample, removeUninteresting, simplifyFunctionNames, type NameFilters } from '../core/algebra.js';
import { LeakscopeError } from '../core/errors.js';
import type { Profile } from '../core/profile.js';
import { compileGoRegex } from '../core/regex.js';
import { sampleIndex } from '../core/select.js';
import type { Granularity } from '../core/graph.js';
import { scaledLabel } from '../core/units.js';
import { addLabelNodes, compileTagFilter, filterSamplesByTag, filterTagsByName, labelKeyList, numLabelUnitNotes } from '../core/tags.js';

export interface ReportOptions {
  sampleIndex?: string | number;
  granularity?: Granularity;
  focus?: string;
  ignore?: string;
  hide?: string;
  show?: string;
  showFrom?: string;
  /** max rows; 0 = unlimited; undefined = the report's default */
  nodeCount?: number;
  /** drop nodes with |cum| below this fraction of the total (default 0.005) */
  nodeFraction?: number;
  /** tree: drop edges with |weight| below this fraction of the total (default 0.001) */
  edgeFraction?: number;
  cum?: boolean;
  /** output unit: 'minimum' (default), 'auto', or a unit such as 'MB', 'ms', 'B' */
  unit?: string;
  noInlines?: boolean;
  trimPath?: string;
  sourcePath?: string;
  /** pprof's -divide_by: every printed value is divided by this (default 1) */
  divideBy?: number;
  /** pprof's -relative_percentages: the total (and percentages) of what the filters keep */
  relativePercentages?: boolean;
  /** pprof's -compact_labels: top and tree print no profile header (File:, Type:, Time: …) */
  compactLabels?: boolean;
  /** pprof's -mean (and -mean_delay): each value divided by the samples' first value (the count) */
  mean?: boolean;
  /** pprof's -all_frames: ignore the profile's drop_frames / keep_frames */
  allFrames?: boolean;
  /**
   * pprof's -call_tree: a location reached by different paths is a different node. pprof honours
   * it only in graph output; the text reports (top, tree, peek, list, traces) ignore it as pprof does.
   */
  callTree?: boolean;
  /** pprof's -tagfocus / -tagignore: keep / drop samples by label (see core/tags.ts) */
  tagFocus?: string;
  tagIgnore?: string;
  /** pprof's -tagshow / -taghide: keep / drop labels by key */
  tagShow?: string;
  tagHide?: string;
  /** pprof's -tagroot / -tagleaf: comma-separated label keys turned into root / leaf frames */
  tagRoot?: string;
  tagLeaf?: string;
}

export interface Prepared {
  profile: Profile;
  valueIndex: number;
  sampleType: string;
  sampleUnit: string;
  /** pprof's "of X total": Σ|v| before focusing; the diff base's total under -diff_base */
  total: number;
  activeFilters: string[];
  /** filters that matched nothing, as pprof warns: "Focus expression matched no samples" etc. */
  warnings: string[];
  granularity: Granularity;
  /** units of numeric labels, from the profile before filtering (pprof's NumLabelUnits) */
  numLabelUnits?: Map<string, string>;
  /** -mean_delay: the sample type each value is divided by (pprof divides by value[0]) */
  meanDivisorIndex?: number;
}

/**
 * pprof's rpt.formatValue: the value times 1/divide_by (truncated, as Go's int64 conversion),
 * scaled from the sample unit to `outputUnit`.
 */
export function formatter(prep: Prepared, o: ReportOptions, outputUnit: string): (v: number) => string {
  const ratio = o.divideBy !== undefined ? 1 / o.divideBy : 1;
  if (ratio > 0 && ratio !== 1) return (v: number) => scaledLabel(Math.trunc(v * ratio), prep.sampleUnit, outputUnit);
  return (v: number) => scaledLabel(v, prep.sampleUnit, outputUnit);
}

/**
 * pprof's Profile.NumLabelUnits: per numeric label key, the first unit any sample gives it;
 * for a key no sample gives a unit, `bytes` for `alignment` and `request`, else the key itself
 * (so a `bytes` label is in bytes).
 */
export function numLabelUnits(p: Profile): Map<string, string> {
  const t = p.samples;
  const units = new Map<string, string>();
  const seen = new Set<string>();
  for (let i = 0; i < t.labelStart[t.count]!; i++) {
    if (t.labelStr[i] !== 0 || (t.labelNum[i] === 0 && t.labelUnit[i] === 0)) continue;
    const key = p.strings[t.labelKey[i]!]!;
    seen.add(key);
    const unit = p.strings[t.labelUnit[i]!]!;
    if (unit !== '' && !units.has(key)) units.set(key, unit);
  }
  for (const key of seen) if (!units.has(key)) units.set(key, key === 'alignment' || key === 'request' ? 'bytes' : key);
  return units;
}

/** computeTotal from pprof's report package. */
export function computeTotal(p: Profile, vi: number, meanIndex?: number): number {
  const nt = p.sampleTypes.length;
  let total = 0;
  let diffTotal = 0;
  let div = 0;
  let diffDiv = 0;
  const v = p.samples.values;
  let hasBaseLabel = false;
  for (const s of p.strings) if (s === 'pprof::base') hasBaseLabel = true;
  for (let s = 0; s < p.samples.count; s++) {
    const x = Math.abs(v[s * nt + vi]!);
    const d = meanIndex !== undefined ? v[s * nt + meanIndex]! : 0;
    total += x;
    div += d;
    if (hasBaseLabel && isDiffBaseSample(p, s)) {
      diffTotal += x;
      diffDiv += d;
    }
  }
  if (diffTotal > 0) {
    total = diffTotal;
    div = diffDiv;
  }
  // -mean: the total's mean (Go's integer division)
  return div !== 0 ? Math.trunc(total / div) : total;
}

export function prepareReport(input: Profile, o: ReportOptions): Prepared {
  const simplified = simplifyFunctionNames(input);
  const unlabelled = o.allFrames ? simplified : removeUninteresting(simplified);
  // pprof adds the label frames before filtering, so that the filters see them
  const labelUnits = numLabelUnits(input);
  const tagWarnings: string[] = numLabelUnitNotes(input, labelUnits);
  const pruned = applyTagRootLeaf(unlabelled, o, tagWarnings);
  const vi = sampleIndex(pruned, o.sampleIndex);
  const st = pruned.sampleTypes[vi]!;
  const meanIndex = o.mean ? 0 : undefined;
  let total = computeTotal(pruned, vi, meanIndex);
  const filters: NameFilters = {};
  const active: string[] = [];
  const names: [keyof NameFilters, string | undefined, string][] = [
    ['focus', o.focus, 'focus'],
    ['ignore', o.ignore, 'ignore'],
    ['hide', o.hide, 'hide'],
    ['show', o.show, 'show'],
    ['showFrom', o.showFrom, 'show_from'],
  ];
  for (const [key, val, label] of names) {
    if (val === undefined || val === '') continue;
    filters[key] = compileGoRegex(val, label);
    active.push(`${label}=${val}`);
  }
  const tags = compileTagFilters(o, labelUnits, active, tagWarnings);
  const byName = filterByName(pruned, filters);
  const matched = byName.matched;
  const byTag = filterSamplesByTag(byName.profile, tags.focus?.match, tags.ignore?.match);
  const tagged = filterTagsByName(byTag.profile, tags.show, tags.hide);
  const profile = tagged.profile;
  // pprof focuses before it computes the total when percentages are relative
  if (o.relativePercentages) total = computeTotal(profile, vi, meanIndex);
  const warnings: string[] = [];
  if (filters.focus && !matched.focus) warnings.push('Focus expression matched no samples');
  if (filters.ignore && !matched.ignore) warnings.push('Ignore expression matched no samples');
  if (filters.hide && !matched.hide) warnings.push('Hide expression matched no samples');
  if (filters.show && !matched.show) warnings.push('Show expression matched no samples');
  if (filters.showFrom && !matched.showFrom) warnings.push('ShowFrom expression matched no samples');
  if (tags.focus && !byTag.focusMatched) warnings.push('TagFocus expression matched no samples');
  if (tags.ignore && !byTag.ignoreMatched) warnings.push('TagIgnore expression matched no samples');
  if (tags.show && !tagged.showMatched) warnings.push('TagShow expression matched no samples');
  if (tags.hide && !tagged.hideMatched) warnings.push('TagHide expression matched no samples');
  warnings.unshift(...tagWarnings);
  return {
    profile,
    valueIndex: vi,
    sampleType: o.mean ? 'mean_' + st.type : st.type,
    sampleUnit: st.unit,
    total,
    activeFilters: active,
    warnings,
    granularity: o.granularity ?? 'functions',
    numLabelUnits: labelUnits,
    ...(meanIndex !== undefined ? { meanDivisorIndex: meanIndex } : {}),
  };
}

/** -tagroot / -tagleaf; their "matched no samples" warnings go to `warnings`. */
function applyTagRootLeaf(p: Profile, o: ReportOptions, warnings: string[]): Profile {
  const roots = labelKeyList(o.tagRoot);
  const leaves = labelKeyList(o.tagLeaf);
  if (roots.length === 0 && leaves.length === 0) return p;
  const r = addLabelNodes(p, roots, leaves, o.unit ?? 'minimum');
  if (roots.length > 0 && !r.rootMatched) warnings.push('TagRoot expression matched no samples');
  if (leaves.length > 0 && !r.leafMatched) warnings.push('TagLeaf expression matched no samples');
  return r.profile;
}

/** The tag filters in pprof's order; their notes ("Interpreted … as range") go to `warnings`. */
function compileTagFilters(o: ReportOptions, units: Map<string, string>, active: string[], warnings: string[]) {
  const focus = o.tagFocus ? compileTagFilter('tagfocus', o.tagFocus, units) : undefined;
  const ignore = o.tagIgnore ? compileTagFilter('tagignore', o.tagIgnore, units) : undefined;
  for (const f of [focus, ignore]) if (f?.note) warnings.push(f.note);
  const show = o.tagShow ? compileGoRegex(o.tagShow, 'tagshow') : undefined;
  const hide = o.tagHide ? compileGoRegex(o.tagHide, 'taghide') : undefined;
  const pairs: [string, string | undefined][] = [['tagfocus', o.tagFocus], ['tagignore', o.tagIgnore], ['tagshow', o.tagShow], ['taghide', o.tagHide]];
  for (const [k, v] of pairs) if (v) active.push(`${k}=${v}`);
  return { focus, ignore, show, hide };
}

export function checkGranularity(g: string): Granularity {
  if (g === 'functions' || g === 'filefunctions' || g === 'files' || g === 'lines' || g === 'addresses') return g;
  throw new LeakscopeError('E_USAGE', `--granularity must be one of functions, filefunctions, files, lines, addresses; got "${g}"`);
}
