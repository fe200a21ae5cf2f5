/**
 * `leakscope analyze <run-dir | profiles…>`: the watch report, offline — from a run directory
 * written by `watch` (its index gives poll times, gaps and segments) or from profile files. A run
 * directory with `snapshot-leaks.json` gets the same snapshot-evidence rules as watch's final report.
 */
import type { CommandSpec } from '../io.js';
import { parseCommandArgs, intOption } from '../args.js';
import { LeakscopeError } from '../../core/errors.js';
import { analyzeLeaks } from '../../core/leak/analyze.js';
import { loadRun } from '../../node/run-dir.js';
import { isFleetDir } from '../../node/fleet-dir.js';
import { addConfiguredSites, readSource } from '../../node/leak-sources.js';
import { confirmFromSnapshots, setAsideSnapshotCaches } from '../../core/leak/snapshot-evidence.js';
import { parseSensitivity, writeReport } from './watch.js';
import type { SnapshotLeakGroup } from '../../report/watch.js';
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const options = {
  json: { type: 'boolean' },
  markdown: { type: 'boolean' },
  'fail-on-leak': { type: 'boolean' },
  sensitivity: { type: 'string' },
  'min-samples': { type: 'string' },
} as const;

export const analyzeCommand: CommandSpec = {
  usage: `usage: leakscope analyze [flags] <run-dir | fleet-dir | profile...>
  (a fleet directory, written by watch over many targets, gives the fleet report)
  --sensitivity S       low | normal (default) | high
  --min-samples N       samples before any verdict (default 5)
  --json | --markdown   report format (default text)
  --fail-on-leak        exit 3 when there is a suspect`,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs<{ json?: boolean; markdown?: boolean; 'fail-on-leak'?: boolean; sensitivity?: string; 'min-samples'?: string }>(
      argv,
      options,
      'analyze',
    );
    if (positionals.length === 0) throw new LeakscopeError('E_USAGE', 'give a run directory or profiles');
    const sensitivity = parseSensitivity(values.sensitivity);
    const minSamples = intOption(values['min-samples'], 'min-samples', 3, 10000);
    if (positionals.length === 1 && isFleetDir(positionals[0]!)) {
      const { analyzeFleetDir, writeFleetReport } = await import('../fleet.js');
      return writeFleetReport(io, await analyzeFleetDir(positionals[0]!, sensitivity, minSamples), values);
    }
    const run = await loadRun(positionals);
    if (run.observations.length === 0) throw new LeakscopeError('E_NO_DATA', `${positionals.join(' ')}: no profiles to analyze`);
    const analysis = analyzeLeaks(run.observations, { sensitivity, minSamples });
    addConfiguredSites(analysis);
    const times = run.observations.map((o) => (Number.isFinite(o.timeMs) ? o.timeMs : o.summary.profileTimeMs)).filter((t) => Number.isFinite(t));
    const perKind = new Map<string, number>();
    for (const o of run.observations) perKind.set(o.kind, (perKind.get(o.kind) ?? 0) + 1);
    let snapshotLeaks: SnapshotLeakGroup[] | undefined;
    if (run.runDir && existsSync(join(run.runDir, 'snapshot-leaks.json'))) {
      try {
        const j = JSON.parse(await readFile(join(run.runDir, 'snapshot-leaks.json'), 'utf8')) as { groups?: SnapshotLeakGroup[] };
        if (Array.isArray(j.groups)) snapshotLeaks = j.groups;
      } catch {
        /* unreadable: report without it */
      }
    }
    // the snapshots' evidence, as watch applies it at the end of a run (src/core/leak/snapshot-evidence.ts)
    if (snapshotLeaks) {
      setAsideSnapshotCaches(analysis, snapshotLeaks, readSource);
      confirmFromSnapshots(analysis, snapshotLeaks, readSource);
    }
    return writeReport(
      io,
      {
        analysis,
        meta: {
          target: run.target,
          ...(run.runDir ? { runDir: run.runDir } : {}),
          samples: Math.max(...perKind.values()),
          durationMs: times.length > 1 ? Math.max(...times) - Math.min(...times) : 0,
          gaps: run.gaps,
          ...(snapshotLeaks ? { snapshotLeaks } : {}),
        },
      },
      values,
    );
  },
};
