/** pprof's `-traces` report: every sample with its labels, value and full stack (leaf first). */
import { buildNodeTable, printableName } from '../core/graph.js';
import { autoLabel, scaledLabel } from '../core/units.js';
import type { Prepared } from './prepare.js';
import { profileLabels } from './top.js';

const SEPARATOR = '-----------+-------------------------------------------------------';

export interface TraceJson {
  value: number;
  labels: Record<string, string[]>;
  numLabels: Record<string, number[]>;
  stack: { name: string; inline: boolean }[];
}

export function tracesReport(prep: Prepared): { text: string; traces: TraceJson[] } {
  const p = prep.profile;
  const table = buildNodeTable(p, { valueIndex: prep.valueIndex, granularity: prep.granularity });
  const names = table.infos.map(printableName);
  const fmt = (v: number) => scaledLabel(v, prep.sampleUnit, 'minimum');
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
    const numUnits: Record<string, string> = {};
    for (let i = t.labelStart[s]!; i < t.labelStart[s + 1]!; i++) {
      const key = p.strings[t.labelKey[i]!]!;
      if (key === 'pprof::base') continue;
      if (t.labelStr[i] !== 0) (labels[key] ??= []).push(p.strings[t.labelStr[i]!]!);
      else {
        (numLabels[key] ??= []).push(t.labelNum[i]!);
        const unit = p.strings[t.labelUnit[i]!]!;
        numUnits[key] = unit || (key === 'bytes' ? 'bytes' : '');
      }
    }
    const strLines = Object.entries(labels).map(([k, vs]) => `${k.padStart(10)}:  ${vs.join(' ')}`);
    const numLines = Object.entries(numLabels).map(([k, vs]) => `${k.padStart(10)}:  ${vs.map((v) => autoLabel(v, numUnits[k]!)).join(' ')}`);
    out.push(...strLines.sort(), ...numLines.sort());
    const v = t.values[s * nt + prep.valueIndex]!;
    stack.forEach((f, i) => out.push(`${(i === 0 ? fmt(v) : '').padStart(10)}   ${f.name}${f.inline ? ' (inline)' : ''}`));
    traces.push({ value: v, labels, numLabels, stack });
  }
  out.push(SEPARATOR);
  return { text: out.join('\n') + '\n', traces };
}
