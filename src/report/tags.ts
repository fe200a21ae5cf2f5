/**
 * pprof's `-tags` report: per label key its total, then each value with its share, laid out by
 * Go's text/tabwriter (cells right-aligned, padding 1) exactly as pprof prints them.
 */
import { tagsData, type TagKey } from '../core/tags.js';
import { goFixed, percentage, scaleValue } from '../core/units.js';
import type { Prepared, ReportOptions } from './prepare.js';
import { numLabelUnits } from './prepare.js';

/**
 * Go's text/tabwriter with minwidth 0, tabwidth 0, padding 1, padchar ' ' and AlignRight: a cell
 * is text ended by a tab; cells of one column in consecutive lines form a block padded to its
 * widest cell + 1; the text after a line's last tab is not a cell and is written as is.
 */
export function tabwriteAlignRight(text: string): string {
  const lines = text.split('\n');
  const trailing = lines.pop(); // after the last newline (empty when text ends with one)
  const cells = lines.map((l) => l.split('\t'));
  const width = (s: string) => [...s].length;
  const out: string[] = [];
  const widths: number[] = [];
  const writeLines = (a: number, z: number) => {
    for (let i = a; i < z; i++) {
      const line = cells[i]!;
      let s = '';
      line.forEach((c, j) => {
        if (j < widths.length) s += ' '.repeat(Math.max(0, widths[j]! - width(c)));
        s += c;
      });
      out.push(s);
    }
  };
  const format = (line0: number, line1: number) => {
    const column = widths.length;
    for (let i = line0; i < line1; i++) {
      if (column >= cells[i]!.length - 1) continue;
      writeLines(line0, i);
      line0 = i;
      let w = 0;
      for (; i < line1; i++) {
        const line = cells[i]!;
        if (column >= line.length - 1) break;
        w = Math.max(w, width(line[column]!) + 1);
      }
      widths.push(w);
      format(line0, i);
      widths.pop();
      line0 = i;
      i--; // the loop's i++ must not skip the line that ended the block
    }
    writeLines(line0, line1);
  };
  format(0, cells.length);
  return out.map((l) => l + '\n').join('') + (trailing ?? '');
}

export interface TagsReport {
  sampleType: string;
  sampleUnit: string;
  keys: TagKey[];
  text: string;
}

/** The report of the prepared (filtered) profile; o.unit scales values and numeric labels. */
export function tagsReport(prep: Prepared, o: ReportOptions = {}): TagsReport {
  const outputUnit = o.unit ?? 'minimum';
  const units = prep.numLabelUnits ?? numLabelUnits(prep.profile);
  const keys = tagsData(prep.profile, prep.valueIndex, units, outputUnit);
  const f1 = (v: number) => {
    const [x, u] = scaleValue(v, prep.sampleUnit, outputUnit);
    return goFixed(x, 1) + u;
  };
  let raw = '';
  for (const k of keys) {
    raw += `${k.key}:\t Total ${f1(k.total)}\n`;
    for (const t of k.values) {
      if (k.total > 0) raw += ` \t${f1(t.value)} (${percentage(t.value, k.total)}):\t ${t.name}\n`;
      else raw += ` \t${f1(t.value)}:\t ${t.name}\n`;
    }
    raw += '\n';
  }
  return { sampleType: prep.sampleType, sampleUnit: prep.sampleUnit, keys, text: tabwriteAlignRight(raw) };
}

export function renderTagsJson(r: TagsReport): string {
  return (
    JSON.stringify(
      {
        sampleType: r.sampleType,
        unit: r.sampleUnit,
        tags: r.keys.map((k) => ({ key: k.key, total: k.total, values: k.values.map((v) => ({ value: v.name, total: v.value })) })),
      },
      null,
      2,
    ) + '\n'
  );
}
