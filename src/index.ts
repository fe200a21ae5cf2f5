/** leakscope's core API: the profile model, its codecs and its algebra. */
export * from './core/errors.js';
export * from './core/profile.js';
export { decodeProfile, encodeProfile } from './formats/pprof.js';
export * from './core/select.js';
export { HeapSnapshotParser, parseHeapSnapshot, type RawHeapSnapshot, type HeapSnapshotMeta } from './formats/heapsnapshot.js';
export * from './core/heap/index.js';
export {
  analyzeLeaks,
  summarizeProfile,
  judgeSeries,
  verdictParams,
  theilSen,
  mannKendall,
  segmentObservations,
  restartBetween,
  type Observation as LeakObservation,
  type Suspect as LeakSuspect,
  type LeakAnalysis,
  type ProfileSummary,
  type Sensitivity,
  type LeakKind,
} from './core/leak/index.js';
export {
  heapProfileToPprof,
  heapDeltaToPprof,
  cpuProfileToPprof,
  censusToPprof,
  type V8SamplingHeapProfile,
  type V8CpuProfile,
  type CensusEntry,
  type FrameResolver,
} from './formats/v8-profiles.js';
export { parseSourceMap, lookupSourceMap, type SourceMapIndex } from './core/agent-sourcemap.js';
