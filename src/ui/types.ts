/** What the server (or an exported page) hands the browser. Shapes only; the numbers come from report/. */
import type { FlameLayout } from '../report/flame.js';

/** exactly `leakscope top --json`'s output */
export interface TopJson {
  sampleType: string;
  unit: string;
  total: number;
  rows: { name: string; file?: string; line?: number; inline: boolean; flat: number; cum: number }[];
}

/** one sample type's views */
export interface ViewData {
  top: TopJson;
  /** the unit `top`'s text output picks (pprof's minimum unit rule) */
  outputUnit: string;
  /** top's header lines (File, Type, Showing nodes …) */
  labels: string[];
  flame: FlameLayout;
}

export interface Meta {
  title: string;
  sampleTypes: { type: string; unit: string }[];
  /** the sample type the command line chose */
  sampleType: string;
  diff: boolean;
  warnings: string[];
}

/** an exported page carries everything: every sample type's views */
export interface Embedded {
  meta: Meta;
  views: Record<string, ViewData>;
}
