/**
 * The memory plan of each training method (full, LoRA, ReLoRA, low-rank) equals the sum over its
 * tensors: weights over every parameter, gradients and optimizer state over the trainable ones
 * only (a frozen base costs neither).
 */
import {
  applyTrainingMethod,
  createMetaBackend,
  DTYPE_BYTES,
  LlamaForCausalLM,
  PRETRAINING_MODULES_TO_SAVE,
  type TrainingMethod,
} from '@galore-ts/core';
import { describe, expect, it } from 'vitest';
import { planMemory, totalOptimizerStateBytes } from '../src/index.js';
import { PLAN_CONFIG } from './helpers.js';

const CONFIG = PLAN_CONFIG;

/** Parameter shapes and trainability of the model as `method` leaves it, counted independently of the planner. */
function tensorsOf(method: TrainingMethod, rank: number) {
  const meta = createMetaBackend();
  const model = new LlamaForCausalLM(CONFIG, { backend: meta, dtype: 'bfloat16' });
  applyTrainingMethod(model, method, method === 'full' ? {} : { rank, modulesToSave: PRETRAINING_MODULES_TO_SAVE }, 96);
  const params = [...model.namedParameters()].map(([, p]) => ({
    shape: p.shape,
    dtype: p.dtype,
    bytes: p.size * DTYPE_BYTES[p.dtype],
    trainable: p.requiresGrad,
    projected: false,
  }));
  model.dispose();
  return params;
}

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

describe('planMemory by training method', () => {
  const methods: TrainingMethod[] = ['full', 'lora', 'relora', 'low_rank'];
  it.each(methods.flatMap((m) => [[m, 'adamw'] as const, [m, 'adamw_8bit'] as const]))(
    '%s with %s: weights, gradients and optimizer state are sums over the tensors',
    (method, optimizer) => {
      const rank = 24; // d / 4
      const plan = planMemory({
        model: CONFIG,
        optimizer,
        batchSize: 2,
        seqLen: 16,
        method,
        ...(method === 'full' ? {} : { adapter: { rank, modulesToSave: PRETRAINING_MODULES_TO_SAVE } }),
      });
      const tensors = tensorsOf(method, rank);
      const trainable = tensors.filter((t) => t.trainable);
      expect(plan.method).toBe(method);
      expect(plan.measured.weights).toBe(sum(tensors.map((t) => t.bytes)));
      expect(plan.categoryPeaks.gradient).toBe(sum(trainable.map((t) => t.bytes)));
      expect(plan.categoryPeaks.optimizer).toBe(
        totalOptimizerStateBytes(optimizer, trainable, { rank: 1, projType: 'std' }),
      );
      expect(plan.expected.optimizer).toBe(plan.categoryPeaks.optimizer);
      expect(plan.expected.gradients).toBe(plan.categoryPeaks.gradient);
      expect(plan.model.trainableParameters).toBe(sum(trainable.map((t) => t.bytes / 2)));
    },
  );

  it('adapters cut gradient and optimizer memory; low-rank cuts the weights too', () => {
    const plan = (method: TrainingMethod) =>
      planMemory({
        model: CONFIG,
        optimizer: 'adamw',
        batchSize: 1,
        seqLen: 16,
        method,
        adapter: method === 'full' ? undefined : { rank: 8 },
      });
    const [full, lora, lowRank] = [plan('full'), plan('lora'), plan('low_rank')];
    expect(lora.measured.weights).toBeGreaterThan(full.measured.weights);
    expect(lora.categoryPeaks.optimizer).toBeLessThan(full.categoryPeaks.optimizer / 5);
    expect(lowRank.measured.weights).toBeLessThan(full.measured.weights);
  });

  it('refuses GaLore with an adapter method, by name', () => {
    expect(() =>
      planMemory({ model: CONFIG, optimizer: 'galore_adamw', batchSize: 1, seqLen: 16, method: 'lora' }),
    ).toThrow(/galore_adamw cannot train a lora model/);
  });
});
