/** The heap-snapshot analysis API: graph, dominators, summary, diff, retainer paths, leaks. */
export { HeapGraph, type TypeCodes } from './graph.js';
export { analyzeSnapshot, type HeapAnalysis } from './analysis.js';
export { retainingEdges, isRetaining, computeDominators, dominatorChildren, type Dominators, type DomGraph } from './dominators.js';
export { summarize as summarizeHeap, classRetainedSizes, type ClassRow, type HeapSummary } from './summary.js';
export { diffSide, diffSnapshots, type DiffSide, type DiffRow } from './diff.js';
export { retainerTree, pathTo, PathLabeler, PathKeys, type RetainerTree, type PathStep } from './paths.js';
export { Locations, formatLocation, type SourceLocation } from './locations.js';
export { findLeaks, fromModuleScope, type LeakGroup, type LeakReport, type LeakOptions } from './leaks.js';
export { sortedIds, hasId, ordinalsById, findById, idHorizon, existedAt, presence, type SortedIds, type IdHorizon } from './ids.js';
