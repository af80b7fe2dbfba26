/**
 * Resuming continues bit for bit: 20 steps straight and 10 + resume + 10 give identical losses and
 * identical final weights on the CPU backend (gradient accumulation, clipping, warmup + cosine,
 * evaluation and shuffled streaming data all in play).
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type MetricsRow, Trainer, type TrainerOptions } from '../../src/index.js';
import { adamw, corpusDataset, microModel, withTempDir } from './helpers.js';

async function run(
  checkpointDir: string,
  options: { stopAfter: number; resume?: boolean },
): Promise<{ rows: MetricsRow[]; weights: Float32Array[] }> {
  const model = microModel(7);
  const data = await corpusDataset();
  const rows: MetricsRow[] = [];
  const trainerOptions: TrainerOptions = {
    model,
    optimizer: adamw(3e-3),
    data,
    steps: 20,
    gradientAccumulation: 2,
    maxGradNorm: 0.5,
    schedule: { warmupSteps: 4, minLrRatio: 0.1 },
    evaluation: { every: 5, batches: () => data.validationBatches(2) },
    checkpoints: { dir: checkpointDir, every: 10, keep: 0 },
    onMetrics: (row) => {
      rows.push(row);
    },
  };
  const trainer = new Trainer(trainerOptions);
  if (options.resume) await trainer.resume(checkpointDir);
  while (trainer.step < options.stopAfter) await trainer.trainStep();
  const weights = [...model.namedParameters()].map(([, p]) => p.dataSync() as Float32Array);
  trainer.dispose();
  model.dispose();
  await data.close();
  return { rows, weights };
}

/** The fields that must match exactly (timings and memory legitimately differ). */
function deterministic(rows: MetricsRow[]) {
  return rows.map(({ step, loss, lr, grad_norm, tokens, val_loss, val_ppl }) => ({
    step,
    loss,
    lr,
    grad_norm,
    tokens,
    val_loss,
    val_ppl,
  }));
}

describe('Trainer resume', () => {
  it('20 steps straight equal 10 steps + resume + 10 steps, loss for loss and weight for weight', async () => {
    await withTempDir(async (dir) => {
      const straight = await run(join(dir, 'a'), { stopAfter: 20 });
      const first = await run(join(dir, 'b'), { stopAfter: 10 });
      const second = await run(join(dir, 'b'), { stopAfter: 20, resume: true });

      expect(straight.rows).toHaveLength(20);
      expect(second.rows.map((r) => r.step)).toEqual([11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
      expect(deterministic([...first.rows, ...second.rows])).toEqual(deterministic(straight.rows));
      expect(second.weights).toEqual(straight.weights);
      // The run learned something and the losses are not all alike (the comparison means something).
      expect(new Set(straight.rows.map((r) => r.loss)).size).toBe(20);
      expect(straight.rows[19]!.loss).toBeLessThan(straight.rows[0]!.loss);
    });
  });
});
