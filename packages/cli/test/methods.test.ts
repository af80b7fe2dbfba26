/**
 * --method full | lora | relora | low_rank end to end: each trains the default model (llama_tiny
 * on the shipped corpus) with its loss falling; a ReLoRA run resumes exactly; eval and generate
 * load an adapted run; merge writes a plain Hugging Face folder that evaluates the same; GaLore
 * with adapters, and adapter flags without an adapter method, are refused by name.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type MetricsRow, readMetrics } from '@galore-ts/core';
import type { MemoryPlan } from '@galore-ts/galore';
import { describe, expect, it } from 'vitest';
import { useTempDir } from '../../core/test/helpers/temp-dir.js';
import { DEFAULT_CORPUS, type EvalReport, type MergeReport, type TrainReport } from '../src/index.js';
import { cli, json } from './helpers.js';

/** Whole training runs of llama_tiny: minutes on a loaded two-core machine. */
const SLOW = 240_000;

/** The default model and corpus, a short run. */
const SHORT = ['--steps', '16', '--batch-size', '4', '--seq-len', '32', '--eval-every', '16', '--eval-batches', '1'];

const tmp = useTempDir('galore-methods-');

describe('galore-ts train --method', () => {
  const reports: Record<string, TrainReport> = {};
  it.each(['full', 'lora', 'relora', 'low_rank'])(
    '%s trains llama_tiny with the loss falling',
    async (method) => {
      const extra = method === 'relora' ? ['--relora-reset-every', '4'] : [];
      const report = await json<TrainReport>(
        'train',
        ...SHORT,
        '--method',
        method,
        ...extra,
        '--out',
        join(tmp.path, method),
      );
      reports[method] = report;
      expect(report.method).toBe(method);
      expect(report.final_loss!).toBeLessThan(report.first_loss! - 0.5);
      expect(Number.isFinite(report.final_val_loss)).toBe(true);
      if (method === 'full' || method === 'low_rank') expect(report.trainable_parameters).toBe(report.parameters);
      else expect(report.trainable_parameters).toBeLessThan(report.parameters);
      // Low-rank factors replace the weights: fewer parameters than the full model.
      if (method === 'low_rank') expect(report.parameters).toBeLessThan(reports.full!.parameters);
    },
    SLOW,
  );

  it.each(['adamw_8bit', 'adafactor'])(
    'lora trains with %s as its inner optimizer',
    async (optimizer) => {
      const args = [
        '--method',
        'lora',
        '--optimizer',
        optimizer,
        '--lr',
        '0.01',
        '--out',
        join(tmp.path, `lora-${optimizer}`),
      ];
      const report = await json<TrainReport>('train', ...SHORT, ...args);
      expect(report.optimizer).toBe(optimizer);
      expect(report.final_loss!).toBeLessThan(report.first_loss! - 0.5);
    },
    SLOW,
  );

  it(
    'resumes a ReLoRA run exactly (restarts, pruned moments and the jagged schedule restored)',
    async () => {
      const straightRun = join(tmp.path, 'relora-all');
      const relora = ['--method', 'relora', '--relora-reset-every', '2', '--lora-dropout', '0.1'];
      const small = ['--steps', '8', '--batch-size', '2', '--seq-len', '16', '--eval-every', '0'];
      await json('train', ...small, ...relora, '--save-every', '4', '--keep-checkpoints', '0', '--out', straightRun);
      const from = join(straightRun, 'checkpoints', 'step-00000004');
      await json<TrainReport>('train', '--resume', from, '--out', join(tmp.path, 'relora-resumed'));
      const pick = (rows: MetricsRow[]) => rows.map(({ step, loss, lr, grad_norm }) => ({ step, loss, lr, grad_norm }));
      const straight = await readMetrics(join(straightRun, 'metrics.jsonl'));
      const resumed = await readMetrics(join(tmp.path, 'relora-resumed', 'metrics.jsonl'));
      expect(pick(resumed.filter((r) => r.step > 4))).toEqual(pick(straight.filter((r) => r.step > 4)));
    },
    SLOW,
  );

  it(
    'eval and generate load an adapted run; merge writes a Hugging Face folder that evaluates the same',
    async () => {
      for (const method of ['lora', 'low_rank']) {
        const run = join(tmp.path, method);
        // The same data and shape for the adapted run and the merged folder: one pass in order.
        const sameData = ['--data', DEFAULT_CORPUS, '--seq-len', '32', '--batch-size', '4', '--max-batches', '2'];
        const evaluated = await json<EvalReport>('eval', run, ...sameData);
        const merged = await json<MergeReport>(
          'merge',
          run,
          '-o',
          join(tmp.path, `${method}-merged`),
          ...(method === 'lora' ? ['--adapter-out', join(tmp.path, `${method}-adapter`)] : []),
        );
        expect(merged.merged_layers).toBe(6 * 7);
        const plain = await json<EvalReport>('eval', join(tmp.path, `${method}-merged`), ...sameData);
        expect(plain.loss).toBeCloseTo(evaluated.loss, 4);
        const generated = await cli('generate', run, '--prompt', 'ROMEO:', '--max-new-tokens', '8');
        expect(generated.code).toBe(0);
      }
      expect((await readdir(join(tmp.path, 'lora-adapter'))).sort()).toEqual([
        'adapter_config.json',
        'adapter_model.safetensors',
      ]);
      expect((await readdir(join(tmp.path, 'lora-merged'))).sort()).toEqual(['config.json', 'model.safetensors']);
      const full = await cli('merge', join(tmp.path, 'full'), '-o', join(tmp.path, 'nope'));
      expect(full.err).toMatch(/trained with --method full; there are no adapters to merge/);
    },
    SLOW,
  );

  it('refuses GaLore with adapters, and adapter flags where they do not apply, by name', async () => {
    const galore = await cli('train', '--method', 'lora', '--optimizer', 'galore_adamw', '--steps', '1');
    expect(galore.code).toBe(1);
    expect(galore.err).toMatch(/galore_adamw cannot train a lora model/);
    const rank = await cli('train', '--lora-rank', '8', '--steps', '1');
    expect(rank.err).toMatch(/--lora-rank only apply to --method lora, relora or low_rank, not 'full'/);
    const reset = await cli('train', '--method', 'lora', '--relora-reset-every', '8', '--steps', '1');
    expect(reset.err).toMatch(/--relora-reset-every only apply to --method relora, not 'lora'/);
    const eightBit = await cli('train', '--method', 'relora', '--optimizer', 'adamw_8bit', '--steps', '1');
    expect(eightBit.err).toMatch(
      /adamw_8bit keeps 8-bit codes that ReLoRA cannot prune; use --relora-optimizer-reset none/,
    );
  });
});

describe('galore-ts memory --method', () => {
  it('plans LoRA on llama_60m: weights in full, gradients and optimizer state for the adapters', async () => {
    const base = ['memory', '--model', 'llama_60m', '--optimizer', 'adamw', '--seq-len', '64'];
    const full = await json<MemoryPlan>(...base);
    const lora = await json<MemoryPlan>(...base, '--method', 'lora', '--lora-rank', '128');
    expect(lora.method).toBe('lora');
    expect(lora.measured.weights).toBeGreaterThan(full.measured.weights);
    expect(lora.categoryPeaks.optimizer).toBeLessThan(full.categoryPeaks.optimizer);
    const refused = await cli(...base, '--lora-rank', '8');
    expect(refused.err).toMatch(/--lora-rank only apply to --method lora, relora or low_rank/);
  });
});
