/**
 * Our scores beside the paper's: each run's Table 4 score (its column's metric x 100 at the best
 * dev epoch, as [LoRA] takes "the result for each run from the best epoch"), and the table.
 */

import { formatBytes } from '../../packages/cli/src/format.js';
import type { GlueEvaluation } from '../../packages/cli/src/index.js';
import {
  PAPER_TABLE4,
  TABLE4_COLUMN,
  TABLE4_METHODS,
  TABLE4_METRIC,
  TABLE4_TASKS,
  type Table4Method,
  type Table4Task,
} from './paper.js';
import { markdownTable } from './plan.js';

export interface RunResult {
  method: Table4Method;
  task: Table4Task;
  metric: string;
  /** The metric x 100 at the best epoch (Table 4's scale). */
  score: number;
  bestEpoch: number;
  /** The run's peak tensor memory over all its epochs. */
  peakMemoryBytes: number;
  evaluations: GlueEvaluation[];
}

export function runResult(method: Table4Method, task: Table4Task, evaluations: GlueEvaluation[]): RunResult {
  const metric = TABLE4_METRIC[task];
  if (evaluations.length === 0) throw new Error(`${method} ${task}: the glue command reported no evaluation`);
  let best = evaluations[0]!;
  for (const e of evaluations) if ((e.metrics[metric] ?? -Infinity) > (best.metrics[metric] ?? -Infinity)) best = e;
  const value = best.metrics[metric];
  if (value === undefined) throw new Error(`${method} ${task}: the glue command reported no ${metric}`);
  return {
    method,
    task,
    metric,
    score: 100 * value,
    bestEpoch: best.epoch,
    peakMemoryBytes: Math.max(...evaluations.map((e) => e.peak_memory_bytes)),
    evaluations,
  };
}

/** A run the glue command could not finish, and why. */
export interface RunFailure {
  method: Table4Method;
  task: Table4Task;
  error: string;
}

/** One Table 4 row as printed: the paper's, or ours over the tasks run. */
export interface TableRow {
  method: Table4Method;
  source: 'paper' | 'galore-ts';
  memory: string;
  scores: Partial<Record<Table4Task, number>>;
  /** Tasks whose run failed (printed as such, left out of the average). */
  failed: Table4Task[];
  average: number | null;
}

export function tableRows(results: readonly RunResult[], failures: readonly RunFailure[] = []): TableRow[] {
  const rows: TableRow[] = [];
  for (const method of TABLE4_METHODS) {
    const paper = PAPER_TABLE4[method];
    rows.push({
      method,
      source: 'paper',
      memory: paper.memory,
      scores: paper.scores,
      failed: [],
      average: paper.average,
    });
    const ours = results.filter((r) => r.method === method);
    const failed = failures.filter((f) => f.method === method).map((f) => f.task);
    if (ours.length === 0 && failed.length === 0) continue;
    const scores = Object.fromEntries(ours.map((r) => [r.task, r.score])) as Partial<Record<Table4Task, number>>;
    rows.push({
      method,
      source: 'galore-ts',
      memory: ours.length === 0 ? '-' : formatBytes(Math.max(...ours.map((r) => r.peakMemoryBytes))),
      scores,
      failed,
      average: ours.length === 0 ? null : ours.reduce((sum, r) => sum + r.score, 0) / ours.length,
    });
  }
  return rows;
}

export function formatTable(rows: readonly TableRow[], tasksRun: readonly Table4Task[]): string {
  const header = ['Method', 'Source', 'Memory', ...TABLE4_TASKS.map((t) => TABLE4_COLUMN[t]), 'Avg'];
  const body = rows.map((r) => [
    PAPER_TABLE4[r.method].label,
    r.source,
    r.memory,
    ...TABLE4_TASKS.map((t) => (r.failed.includes(t) ? 'failed' : (r.scores[t]?.toFixed(2) ?? '-'))),
    r.average === null ? '-' : r.average.toFixed(2),
  ]);
  const partial = tasksRun.length < TABLE4_TASKS.length;
  const notes = [
    'Scores: Matthews correlation (CoLA), Pearson (STS-B), accuracy (the rest; MNLI dev_matched), x 100, best dev epoch.',
    "Memory: the paper's column as printed; ours is the peak of tensor memory over the method's runs.",
    ...(partial ? [`Our Avg is over the ${tasksRun.length} task(s) run, not all eight.`] : []),
  ];
  return `${markdownTable(header, body)}\n${notes.join('\n')}\n`;
}
