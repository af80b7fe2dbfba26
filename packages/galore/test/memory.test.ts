import { createMetaBackend, getBackend, LlamaForCausalLM, zeros } from '@galore-ts/core';
import { describe, expect, it } from 'vitest';
import {
  type CreateOptimizerOptions,
  createOptimizer,
  formatMemoryPlan,
  type OptimizerKind,
  planMemory,
  totalOptimizerStateBytes,
} from '../src/index.js';
import { PLAN_CONFIG } from './helpers.js';

const CONFIG = PLAN_CONFIG;

describe('optimizer-state bytes: tracker vs formula', () => {
  const cases: [OptimizerKind, CreateOptimizerOptions][] = [
    ['adamw', {}],
    ['adamw_8bit', {}],
    ['adamw_8bit', { blockSize: 2048 }],
    ['galore_adamw', { rank: 48 }],
    ['galore_adamw', { rank: 48, stateDType: 'bfloat16', projType: 'full' }],
    ['galore_adamw_8bit', { rank: 48 }],
    ['galore_adamw_8bit', { rank: 48, projType: 'reverse_std', minQuantizedSize: 10_000 }],
    ['galore_adafactor', { rank: 48 }],
    ['galore_adafactor', { rank: 48, beta1: 0.9, projType: 'left' }],
  ];
  it.each(cases)('%s %j', (kind, options) => {
    for (const dtype of ['float32', 'bfloat16'] as const) {
      const meta = createMetaBackend();
      const model = new LlamaForCausalLM(CONFIG, { backend: meta, dtype });
      const setup = createOptimizer(kind, model.namedParameters(), options);
      const projected = new Set(setup.projected);
      for (const p of model.parameters()) p.grad = zeros(p.shape, { dtype: p.dtype, backend: meta });
      setup.optimizer.step();
      const infos = [...model.namedParameters()].map(([n, p]) => ({
        shape: p.shape,
        dtype: p.dtype,
        projected: projected.has(n),
      }));
      const expected = totalOptimizerStateBytes(kind, infos, {
        rank: options.rank ?? 128,
        projType: options.projType ?? 'std',
        stateDType: options.stateDType,
        blockSize: options.blockSize,
        minQuantizedSize: options.minQuantizedSize,
        beta1: options.beta1,
      });
      expect(meta.tracker.snapshot().live.optimizer).toBe(expected);
      expect(expected).toBeGreaterThan(0);
      setup.optimizer.dispose();
      model.dispose();
    }
  });
});

describe('planMemory', () => {
  it("plans LLaMA 7B with 8-bit GaLore and per-layer updates at or under the paper's 22.0 GB", () => {
    const before = getBackend();
    const plan = planMemory({
      model: 'llama_7b',
      optimizer: 'galore_adamw_8bit_layerwise',
      rank: 1024,
      batchSize: 1,
      seqLen: 256,
    });
    expect(getBackend()).toBe(before);
    expect(plan.model.parameters).toBe(6_738_415_616);
    expect(plan.measured.weights).toBe(plan.model.parameters * 2);
    expect(plan.measured.optimizer).toBe(plan.expected.optimizer);
    // One gradient at a time: never more than the largest (the embedding or head, 32000 x 4096 bf16).
    expect(plan.categoryPeaks.gradient).toBeLessThanOrEqual(32000 * 4096 * 2);
    expect(plan.measured.total).toBeLessThanOrEqual(22.0e9);
    const text = formatMemoryPlan(plan);
    expect(text).toMatch(
      /llama_7b \(6\.74B parameters\), galore_adamw_8bit_layerwise, rank 1024, batch 1 x 256 tokens, bf16/,
    );
    expect(text).toMatch(
      /8-bit GaLore \+ per-layer updates, rank 1024, 256 tokens\s+22\.00 GB\s+ours \(total\): 2\d\.\d\d GB/,
    );
  });

  it('counts every gradient at once without per-layer updates, and AdamW state as two float32 moments', () => {
    const plan = planMemory({ model: 'llama_60m', optimizer: 'adamw', batchSize: 2, seqLen: 64, dtype: 'f32' });
    expect(plan.categoryPeaks.gradient).toBe(plan.model.parameters * 4);
    expect(plan.measured.optimizer).toBe(plan.model.parameters * 8);
    expect(plan.paper.map((p) => p.gigabytes)).toEqual([0.36, 0.24]);
  });

  it('explains bad options', () => {
    expect(() => planMemory({ model: 'llama_9t', optimizer: 'adamw', batchSize: 1, seqLen: 8 })).toThrow(
      /unknown model preset 'llama_9t'/,
    );
    expect(() => planMemory({ model: 'llama_60m', optimizer: 'adamw', batchSize: 0, seqLen: 8 })).toThrow(
      /batchSize must be a positive integer, got 0/,
    );
    expect(() => planMemory({ model: 'llama_60m', optimizer: 'adamw', batchSize: 1, seqLen: 4096 })).toThrow(
      /exceeds the model's max_position_embeddings 1024/,
    );
    expect(() => planMemory({ model: 'llama_60m', optimizer: 'lion', batchSize: 1, seqLen: 8 })).toThrow(
      /unknown optimizer 'lion'/,
    );
  });
});
