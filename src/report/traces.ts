/** pprof's `-traces` report: every sample with its labels, value and full stack (leaf first). */
import { buildNodeTable, printableName } from '../core/graph.js';
import { autoLabel } from '../core/units.js';
import { formatter, numLabelUnits, type Prepared, type ReportOptions } from './prepare.js';

export { numLabelUnits };
import { profileLabels } from './top.js';

const SEPARATOR = '-----------+-------------------------------------------------------';

export interface TraceJson {
  value: number;
  labels: Record<string, string[]>;
  numLabels: Record<string, number[]>;
  stack: { name: string; inline: boolean }[];
}

const byStr = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * `o.unit` scales the values as in pprof (default: each on its own), `o.divideBy` divides them;
 * `o.meanDelay` divides each sample's value by its count (pprof -mean_delay).
 */
export function tracesReport(prep: Prepared, o: ReportOptions = {}): { text: string; traces: TraceJson[] } {
  const p = prep.profile;
  const table = buildNodeTable(p, { valueIndex: prep.valueIndex, granularity: prep.granularity });
  const names = table.infos.map(printableName);
  const fmt = formatter(prep, o, o.unit ?? 'minimum');
  const units = prep.numLabelUnits ?? numLabelUnits(p);
  const out: string[] = [...profileLabels(p, prep, fmt)];
  const traces: TraceJson[] = [];
  const t = p.samples;
  const nt = p.sampleTypes.length;
  for (let s = 0; s < t.count; s++) {
    const stack: { name: string; inline: boolean }[] = [];
    for (let i = t.stackStart[s]!; i < t.stackStart[s + 1]!; i++) {
      const l = t.stack[i]!;
      const a = table.locStart[l]!;
      const z = table.locStart[l + 1]!;
      for (let k = a; k < z; k++) stack.push({ name: names[table.locNodes[k]!]!, inline: k !== z - 1 });
    }
    if (stack.length === 0) continue;
    out.push(SEPARATOR);
    const labels: Record<string, string[]> = {};
    const numLabels: Record<string, number[]> = {};
    for (let i = t.labelStart[s]!; i < t.labelStart[s + 1]!; i++) {
      const key = p.strings[t.labelKey[i]!]!;
      if (t.labelStr[i] !== 0) (labels[key] ??= []).push(p.strings[t.labelStr[i]!]!);
      // pprof's decoder keeps a numeric label only when its number or its unit is set
      else if (t.labelNum[i] !== 0 || t.labelUnit[i] !== 0) (numLabels[key] ??= []).push(t.labelNum[i]!);
    }
    const strLines = Object.entries(labels).map(([k, vs]) => `${k.padStart(10)}:  ${vs.join(' ')}`);
    const numLines = Object.entries(numLabels).map(([k, vs]) => `${k.padStart(10)}:  ${vs.map((v) => autoLabel(v, units.get(k) ?? k)).join(' ')}`);
    out.push(...strLines.sort(byStr), ...numLines.sort(byStr));
    let v = t.values[s * nt + prep.valueIndex]!;
    if (prep.meanDivisorIndex !== undefined) {
      const d = t.values[s * nt + prep.meanDivisorIndex]!;
      if (d !== 0) v = Math.trunc(v / d);
    }
    stack.forEach((f, i) => out.push(`${(i === 0 ? fmt(v) : '').padStart(10)}   ${f.name}${f.inline ? ' (inline)' : ''}`));
    traces.push({ value: v, labels, numLabels, stack });
  }
  out.push(SEPARATOR);
  return { text: out.join('\n') + '\n', traces };
}
