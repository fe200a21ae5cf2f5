/**
 * One snapshot, analysed: the graph, the retaining-edge predicate, dominators and retained sizes.
 * Pure; callers report progress through the optional callback.
 */
import type { RawHeapSnapshot } from '../../formats/heapsnapshot.js';
import { HeapGraph } from './graph.js';
import { computeDominators, graphForDominators, retainingEdges, type Dominators } from './dominators.js';

export interface HeapAnalysis {
  graph: HeapGraph;
  /** bit per edge: does it retain (see retainingEdges) */
  retaining: Uint8Array;
  dom: Dominators;
}

export function analyzeSnapshot(raw: RawHeapSnapshot, onPhase?: (phase: string) => void): HeapAnalysis {
  onPhase?.('building the graph');
  const graph = new HeapGraph(raw);
  onPhase?.('classifying edges');
  const retaining = retainingEdges(graph);
  onPhase?.('computing dominators');
  const dom = computeDominators(graphForDominators(graph), retaining);
  return { graph, retaining, dom };
}
