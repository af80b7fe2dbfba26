/** `galore-ts glue` end to end: a tiny random RoBERTa folder learns a synthetic SST-2-format task. */
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AutoModelForSequenceClassification, loadTensors } from '@galore-ts/core';
import { OPTIMIZER_NAMES } from '@galore-ts/galore';
import { beforeAll, describe, expect, it } from 'vitest';
import { useTempDir } from '../../core/test/helpers/temp-dir.js';
import { SST2_WORDS, syntheticSst2File } from '../../core/test/tasks/synthetic-sst2.js';
import type { GlueEvaluation } from '../src/index.js';
import { cli } from './helpers.js';
import { writeTinyRobertaFolder } from './tiny-roberta-folder.js';

const WORDS = SST2_WORDS;

const tmp = useTempDir('glue-cli-');
let modelDir: string;
let dataDir: string;

beforeAll(async () => {
  modelDir = join(tmp.path, 'tiny-roberta');
  dataDir = join(tmp.path, 'glue_data');
  await writeTinyRobertaFolder(modelDir);
  await mkdir(join(dataDir, 'SST-2'), { recursive: true });
  await writeFile(join(dataDir, 'SST-2', 'train.tsv'), syntheticSst2File(256, 7));
  await writeFile(join(dataDir, 'SST-2', 'dev.tsv'), syntheticSst2File(128, 99));
});

const base = () => ['glue', '--task', 'sst2', '--data', dataDir, '--model', modelDir, '--max-seq-len', '16'];

async function glueJson(...flags: string[]): Promise<GlueEvaluation[]> {
  const { code, out, err } = await cli(...base(), ...flags, '--json');
  if (code !== 0) throw new Error(`glue exited ${code}: ${err}`);
  return out
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as GlueEvaluation);
}

function expectShape(rows: readonly GlueEvaluation[], epochs: number): void {
  expect(rows).toHaveLength(epochs);
  rows.forEach((row, i) => {
    expect(Object.keys(row).sort()).toEqual(['epoch', 'metrics', 'peak_memory_bytes', 'task']);
    expect(row.task).toBe('sst2');
    expect(row.epoch).toBe(i + 1);
    expect(Object.keys(row.metrics)).toEqual(['accuracy']);
    expect(row.peak_memory_bytes).toBeGreaterThan(0);
  });
}

describe('galore-ts glue', () => {
  it('fine-tunes with GaLore (rank 4) to well above chance and saves a loadable folder', async () => {
    const out = join(tmp.path, 'galore-out');
    const rows = await glueJson(
      ...['--optimizer', 'galore_adamw', '--rank', '4', '--update-proj-gap', '20', '--galore-scale', '1'],
      ...['--lr', '1e-2', '--epochs', '6', '--batch-size', '16', '--seed', '0', '--out', out],
    );
    expectShape(rows, 6);
    expect(rows.at(-1)!.metrics.accuracy).toBeGreaterThan(0.85);
    expect((await stat(join(out, 'tokenizer.json'))).isFile()).toBe(true);
    const { model, loadingInfo } = await AutoModelForSequenceClassification.fromPretrained(out);
    expect(loadingInfo.newlyInitialized).toEqual([]);
    model.dispose();
  }, 120_000);

  it('fine-tunes with LoRA (rank 4) to well above chance and prints a table without --json', async () => {
    const out = join(tmp.path, 'lora-out');
    const rows = await glueJson(
      ...['--method', 'lora', '--lora-rank', '4', '--lr', '1e-2', '--epochs', '5', '--batch-size', '16'],
      ...['--seed', '0', '--out', out],
    );
    expectShape(rows, 5);
    expect(rows.at(-1)!.metrics.accuracy).toBeGreaterThan(0.85);
    // The adapters are merged: the folder holds the plain model's weights only.
    const { model, loadingInfo } = await AutoModelForSequenceClassification.fromPretrained(out);
    expect(loadingInfo).toEqual({ newlyInitialized: [], unused: [] });
    model.dispose();
    const table = await cli(...base(), '--method', 'lora', '--epochs', '1', '--batch-size', '64');
    expect(table.code).toBe(0);
    expect(table.out).toMatch(/GLUE sst2 \(dev\)\n\s*epoch\s+accuracy\s+peak memory\n\s*1\s+0\.\d{4}/);
  }, 120_000);

  it('runs one epoch with every optimizer', async () => {
    for (const name of OPTIMIZER_NAMES) {
      const rank = name.startsWith('galore_') ? ['--rank', '4'] : [];
      const rows = await glueJson('--optimizer', name, ...rank, '--epochs', '1', '--batch-size', '64', '--lr', '1e-3');
      expectShape(rows, 1);
      expect(Number.isFinite(rows[0]!.metrics.accuracy)).toBe(true);
    }
  }, 60_000);

  it('fine-tunes STS-B (regression, one output) and reports Pearson and Spearman', async () => {
    const header = 'index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore';
    const rows = (n: number) =>
      Array.from({ length: n }, (_, i) => {
        const a = WORDS.slice(0, 2 + (i % 4)).join(' ');
        const b = WORDS.slice(i % 3, 4).join(' ');
        return `${i}\tmain\tf\t2012\t${i}\tnone\tnone\t${a}\t${b}\t${((i % 6) * 1.0).toFixed(3)}`;
      });
    const stsb = join(tmp.path, 'STS-B');
    await mkdir(stsb, { recursive: true });
    await writeFile(join(stsb, 'train.tsv'), `${[header, ...rows(32)].join('\n')}\n`);
    await writeFile(join(stsb, 'dev.tsv'), `${[header, ...rows(12)].join('\n')}\n`);
    const { code, out, err } = await cli(
      ...['glue', '--task', 'stsb', '--data', stsb, '--model', modelDir, '--max-seq-len', '16', '--epochs', '1'],
      '--json',
    );
    expect(code, err).toBe(0);
    const row = JSON.parse(out) as GlueEvaluation;
    expect(row.task).toBe('stsb');
    expect(Object.keys(row.metrics).sort()).toEqual(['pearson', 'spearmanr']);
  });

  it('follows the learning-rate schedule: a warmup step has lr 0, so a one-step run changes nothing', async () => {
    const query = 'roberta.encoder.layer.0.attention.self.query.weight';
    const weightsAfter = async (name: string, ...flags: string[]) => {
      const out = join(tmp.path, name);
      // 256 train rows in one batch: one optimizer step.
      await glueJson('--epochs', '1', '--batch-size', '256', '--lr', '1e-2', '--out', out, ...flags);
      return Array.from((await loadTensors(join(out, 'model.safetensors')))[query]!.dataSync());
    };
    const before = Array.from((await loadTensors(join(modelDir, 'model.safetensors')))[query]!.dataSync());
    expect(await weightsAfter('warmup-out', '--warmup', '1')).toEqual(before);
    expect(await weightsAfter('warmup-ratio-out', '--warmup-ratio', '0.5', '--lr-scheduler', 'constant')).toEqual(
      before,
    );
    expect(await weightsAfter('linear-out')).not.toEqual(before);
    // Per-layer optimizers step inside backward, from the same groups' lr.
    const layerwise = ['--optimizer', 'galore_adamw_layerwise', '--rank', '4'];
    expect(await weightsAfter('layerwise-warmup-out', ...layerwise, '--warmup', '1')).toEqual(before);
    expect(await weightsAfter('layerwise-out', ...layerwise)).not.toEqual(before);
  }, 60_000);

  it('refuses schedule flags that cannot hold, by name', async () => {
    const both = await cli(...base(), '--warmup', '1', '--warmup-ratio', '0.1');
    expect(both.code).not.toBe(0);
    expect(both.err).toContain('--warmup and --warmup-ratio both set the warmup');
    const long = await cli(...base(), '--epochs', '1', '--batch-size', '256', '--warmup', '5');
    expect(long.err).toContain('--warmup 5 is longer than the whole run (1 optimizer steps)');
    const shape = await cli(...base(), '--lr-scheduler', 'step');
    expect(shape.err).toMatch(/--lr-scheduler.*'step' is invalid/);
    const ratio = await cli(...base(), '--warmup-ratio', '2');
    expect(ratio.err).toContain('expected a number between 0 and 1');
  });

  it('refuses flags that do not apply, by name, and a bad --task or --data', async () => {
    const loraOnFull = await cli(...base(), '--lora-rank', '4');
    expect(loraOnFull.code).not.toBe(0);
    expect(loraOnFull.err).toContain('--lora-rank only apply to --method lora');
    const rankOnAdamw = await cli(...base(), '--rank', '4');
    expect(rankOnAdamw.err).toContain('--rank only apply to the galore_* optimizers');
    const galoreLora = await cli(...base(), '--method', 'lora', '--optimizer', 'galore_adamw');
    expect(galoreLora.err).toContain('galore_adamw cannot train a lora model');
    const task = await cli('glue', '--task', 'sst3', '--data', dataDir, '--model', modelDir);
    expect(task.err).toContain("unknown GLUE task 'sst3'");
    const data = await cli('glue', '--task', 'cola', '--data', dataDir, '--model', modelDir);
    expect(data.code).not.toBe(0);
    expect(data.err).toMatch(/GLUE cola train: found neither/);
    const missing = await cli('glue', '--task', 'sst2', '--data', join(tmp.path, 'nowhere'), '--model', modelDir);
    expect(missing.err).toContain('--data');
    expect(missing.err).toContain('no such folder');
    const long = await cli(...base(), '--max-seq-len', '64');
    expect(long.err).toContain('--max-seq-len 64 exceeds the 18 positions the model has');
  });
});
