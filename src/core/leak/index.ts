/** Leak detection over a run of profiles: pure statistics and verdicts (no I/O, no clock). */
export * from './stats.js';
export * from './summary.js';
export * from './verdict.js';
export * from './analyze.js';
export * from './configured.js';
export * from './snapshot-evidence.js';
