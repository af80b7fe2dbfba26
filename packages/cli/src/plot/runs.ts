/** The metrics of the runs to plot: a run folder (its metrics.jsonl) or a metrics JSONL file each. */
import { stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { type MetricsRow, readMetrics } from '@galore-ts/core';

export interface RunMetrics {
  /** The run's name on the chart: its folder's name. */
  label: string;
  rows: MetricsRow[];
}

export async function readRuns(paths: readonly string[]): Promise<RunMetrics[]> {
  const runs: RunMetrics[] = [];
  for (const path of paths) {
    const info = await stat(path).catch(() => undefined);
    if (!info) throw new Error(`plot: ${path} does not exist (expected a run folder or a metrics .jsonl file)`);
    const file = info.isDirectory() ? join(path, 'metrics.jsonl') : path;
    if (info.isDirectory() && !(await stat(file).catch(() => undefined))) {
      throw new Error(`plot: the folder ${path} has no metrics.jsonl (is it a galore-ts run folder?)`);
    }
    const rows = await readMetrics(file);
    if (rows.length === 0) throw new Error(`plot: ${file} holds no metrics rows yet`);
    const label = info.isDirectory() ? basename(path) : basename(dirname(file)) || basename(file);
    runs.push({ label: uniqueLabel(label, runs), rows });
  }
  return runs;
}

function uniqueLabel(label: string, runs: readonly RunMetrics[]): string {
  let candidate = label;
  for (let i = 2; runs.some((r) => r.label === candidate); i++) candidate = `${label} (${i})`;
  return candidate;
}
