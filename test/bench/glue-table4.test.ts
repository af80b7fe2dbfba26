/**
 * bench/glue-table4 end to end on a tiny random RoBERTa folder and a synthetic GLUE folder holding
 * all eight tasks in their distributed formats: every Table 4 row and column, the paper's numbers,
 * and our scores inside each metric's range.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PAPER_TABLE4, TABLE4_COLUMN, TABLE4_METHODS, TABLE4_TASKS } from '../../bench/glue-table4/paper.js';
import { glueTable4 } from '../../bench/glue-table4/run.js';
import { memoryIO } from '../../packages/cli/src/index.js';
import { writeTinyRobertaFolder } from '../../packages/cli/test/tiny-roberta-folder.js';
import { writeSyntheticGlue } from '../../packages/core/test/tasks/synthetic-glue.js';

let dir: string;
let base: string[];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'glue-table4-'));
  await writeTinyRobertaFolder(join(dir, 'roberta'));
  await writeSyntheticGlue(join(dir, 'glue_data'), { train: 16, dev: 8 });
  // The tiny model has 18 positions; one epoch keeps the 40 runs short.
  base = ['--glue', join(dir, 'glue_data'), '--model', join(dir, 'roberta'), '--epochs', '1', '--max-seq-len', '16'];
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function bench(...argv: string[]) {
  const io = memoryIO();
  const code = await glueTable4(argv, io);
  return { code, out: io.out.join(''), err: io.err.join('') };
}

/** The markdown table's rows as cells, keyed by "label|source". */
function parseTable(markdown: string): { header: string[]; rows: Map<string, string[]> } {
  const lines = markdown.split('\n').filter((l) => l.startsWith('|'));
  const cells = (line: string) =>
    line
      .slice(1, -1)
      .split('|')
      .map((c) => c.trim());
  const rows = new Map(lines.slice(2).map((l) => [`${cells(l)[0]}|${cells(l)[1]}`, cells(l)] as const));
  return { header: cells(lines[0]!), rows };
}

describe('bench:glue-table4', () => {
  it("holds Table 4 as printed: each row's Avg is the mean of its eight scores to 2 decimals", () => {
    for (const method of TABLE4_METHODS) {
      const { scores, average } = PAPER_TABLE4[method];
      const mean = TABLE4_TASKS.reduce((sum, t) => sum + scores[t], 0) / TABLE4_TASKS.length;
      expect(Math.abs(mean - average), method).toBeLessThanOrEqual(0.005 + 1e-9);
    }
  });

  it('runs all eight tasks for the five methods and prints our scores beside the paper', async () => {
    const { code, out, err } = await bench(...base);
    expect(code, err).toBe(0);
    const { header, rows } = parseTable(out);
    expect(header).toEqual(['Method', 'Source', 'Memory', ...TABLE4_TASKS.map((t) => TABLE4_COLUMN[t]), 'Avg']);
    expect(rows.size).toBe(2 * TABLE4_METHODS.length);
    for (const method of TABLE4_METHODS) {
      const paper = PAPER_TABLE4[method];
      expect(rows.get(`${paper.label}|paper`)).toEqual([
        paper.label,
        'paper',
        paper.memory,
        ...TABLE4_TASKS.map((t) => paper.scores[t].toFixed(2)),
        paper.average.toFixed(2),
      ]);
      const ours = rows.get(`${paper.label}|galore-ts`)!;
      expect(ours[2]).toMatch(/^\d+(\.\d+)? (B|KB|MB)$/);
      const scores = ours.slice(3, 3 + TABLE4_TASKS.length).map(Number);
      TABLE4_TASKS.forEach((task, i) => {
        // Correlations lie in [-100, 100], accuracies in [0, 100].
        const low = task === 'cola' || task === 'stsb' ? -100 : 0;
        expect(scores[i], `${method} ${task}`).toBeGreaterThanOrEqual(low);
        expect(scores[i], `${method} ${task}`).toBeLessThanOrEqual(100);
      });
      const average = scores.reduce((a, b) => a + b, 0) / scores.length;
      expect(Number(ours.at(-1))).toBeCloseTo(average, 1);
    }
    expect(err).toContain('[40/40] lora-r8 qqp');
  }, 120_000);

  it('--json: each run with its hyper-parameters, best epoch, memory and score', async () => {
    const { code, out, err } = await bench(...base, '--tasks', 'stsb,mrpc', '--methods', 'galore-r8,lora-r4', '--json');
    expect(code, err).toBe(0);
    const report = JSON.parse(out) as {
      plan: { method: string; task: string; hyperparameters: Record<string, unknown>; command: string }[];
      runs: {
        method: string;
        task: string;
        metric: string;
        score: number;
        bestEpoch: number;
        peakMemoryBytes: number;
      }[];
      table: { method: string; source: string }[];
    };
    expect(report.runs.map((r) => `${r.method} ${r.task} ${r.metric}`)).toEqual([
      'galore-r8 stsb pearson',
      'galore-r8 mrpc accuracy',
      'lora-r4 stsb pearson',
      'lora-r4 mrpc accuracy',
    ]);
    for (const run of report.runs) {
      expect(run.bestEpoch).toBe(1);
      expect(run.peakMemoryBytes).toBeGreaterThan(0);
      expect(Math.abs(run.score)).toBeLessThanOrEqual(100);
    }
    // Table 7 (rank 8): STS-B at 3e-5, GaLore alpha 2; overrides apply to every run.
    expect(report.plan[0]!.hyperparameters).toMatchObject({
      lr: 3e-5,
      galoreScale: 2,
      rank: 8,
      epochs: 1,
      maxSeqLen: 16,
    });
    expect(report.plan[2]!.command).toContain('--method lora --lr 0.0004 --lr-scheduler linear --warmup-ratio 0.06');
    // Every method's paper row, and ours for the two run.
    expect(report.table.filter((r) => r.source === 'galore-ts').map((r) => r.method)).toEqual(['lora-r4', 'galore-r8']);
    expect(report.table.filter((r) => r.source === 'paper')).toHaveLength(5);
  }, 60_000);

  it('--dry-run prints the 40 runs with the paper hyper-parameters without training', async () => {
    const { code, out, err } = await bench('--glue', 'nowhere', '--model', 'nothing', '--dry-run');
    expect(code, err).toBe(0);
    const rows = out
      .split('\n')
      .filter((l) => l.startsWith('| ') && !l.startsWith('| method') && !l.startsWith('| ---'));
    expect(rows).toHaveLength(40);
    // Table 7, rank 4, CoLA: batch 32, 30 epochs, lr 3e-5, GaLore alpha 4, 512 tokens.
    expect(rows).toContain(
      '| galore-r4 | cola | galore_adamw | 0.00003 | linear | 0 | 0 | 32 | 30 | 512 | 4 | 4 | 500 | - | - |',
    );
    // LoRA Table 9, CoLA: batch 32, 80 epochs, lr 4e-4, warmup 0.06, alpha 8 on query and value.
    expect(rows).toContain(
      '| lora-r8 | cola | adamw (LoRA) | 0.0004 | linear | 0.06 | 0.1 | 32 | 80 | 512 | 8 | - | - | 8 | query,value |',
    );
    expect(out).toContain('galore-ts glue --task qqp --data nowhere --model nothing --optimizer adamw --method lora');
  });

  it('goes on past a failed run, prints it as failed and exits 1', async () => {
    const broken = join(dir, 'glue_broken');
    await writeSyntheticGlue(broken, { train: 16, dev: 8 });
    await rm(join(broken, 'RTE', 'dev.tsv'));
    const args = base.map((a) => (a === join(dir, 'glue_data') ? broken : a));
    const { code, out, err } = await bench(...args, '--tasks', 'rte,mrpc', '--methods', 'galore-r4');
    expect(code).toBe(1);
    expect(err).toContain('RTE/dev.tsv');
    expect(err).toContain('1 run(s) failed: galore-r4 rte');
    const ours = parseTable(out).rows.get('GaLore (rank=4)|galore-ts')!;
    expect(ours[3 + TABLE4_TASKS.indexOf('rte')]).toBe('failed');
    const mrpc = Number(ours[3 + TABLE4_TASKS.indexOf('mrpc')]);
    expect(mrpc).toBeGreaterThanOrEqual(0);
    // The average is over the runs that finished.
    expect(Number(ours.at(-1))).toBe(mrpc);
  }, 60_000);

  it('refuses unknown flags, tasks and methods, and a missing --glue, by name', async () => {
    expect((await bench(...base, '--bogus')).err).toContain("Unknown option '--bogus'");
    expect((await bench(...base, '--tasks', 'cola,wnli')).err).toContain("--tasks: unknown 'wnli'");
    expect((await bench(...base, '--methods', 'dora')).err).toContain("--methods: unknown 'dora'");
    expect((await bench(...base, '--epochs', '0')).err).toContain('--epochs');
    const missing = await bench('--model', 'x');
    expect(missing.code).toBe(1);
    expect(missing.err).toContain('--glue is required');
  });
});
