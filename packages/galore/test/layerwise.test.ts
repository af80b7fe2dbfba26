import { type LlamaConfigInput, LlamaForCausalLM, manualSeed, tensor, tidy } from '@galore-ts/core';
import { describe, expect, it } from 'vitest';
import { type CreateOptimizerOptions, createOptimizer, LayerwiseUpdater } from '../src/index.js';
import { maxAbsDiff } from './helpers.js';

const CONFIG: LlamaConfigInput = {
  vocab_size: 40,
  hidden_size: 16,
  intermediate_size: 24,
  num_attention_heads: 2,
  num_hidden_layers: 2,
  max_position_embeddings: 16,
};

function model(): LlamaForCausalLM {
  manualSeed(0);
  return new LlamaForCausalLM(CONFIG);
}

function batch(seed: number) {
  const ids = Array.from({ length: 2 * 8 }, (_, i) => (i * 7 + seed * 13) % CONFIG.vocab_size);
  return tensor(ids, { dtype: 'int32', shape: [2, 8] });
}

function lossOf(m: LlamaForCausalLM, seed: number) {
  const ids = batch(seed);
  const out = tidy(() => m.forward(ids, { labels: ids }));
  out.logits.dispose();
  ids.dispose();
  return out.loss!;
}

function parameters(m: LlamaForCausalLM): number[] {
  return m.parameters().flatMap((p) => Array.from(p.dataSync()));
}

const GALORE: CreateOptimizerOptions = { rank: 4, updateProjGap: 2, lr: 0.01, scale: 0.5 };

describe('per-layer (layerwise) updates', () => {
  it.each(['galore_adamw', 'galore_adamw_8bit', 'galore_adafactor'])(
    '%s: a layerwise step gives the same parameters as a normal step (LLaMA, no accumulation)',
    (name) => {
      const normal = model();
      const layered = model();
      const a = createOptimizer(name, normal.namedParameters(), GALORE);
      const b = createOptimizer(`${name}_layerwise`, layered.namedParameters(), GALORE);
      expect(b.layerwise).not.toBeNull();
      for (let step = 0; step < 3; step++) {
        const la = lossOf(normal, step);
        la.backward();
        a.optimizer.step();
        a.optimizer.zeroGrad();
        const lb = lossOf(layered, step);
        expect(b.layerwise!.backward(lb)).toEqual({ stepped: true, microBatch: 0, skipped: [] });
        la.dispose();
        lb.dispose();
        expect(layered.parameters().every((p) => p.grad === null)).toBe(true);
        expect(parameters(layered)).toEqual(parameters(normal));
      }
      b.layerwise!.dispose();
    },
  );

  it('reports the real global gradient norm', () => {
    const normal = model();
    const layered = model();
    const b = createOptimizer('galore_adamw_layerwise', layered.namedParameters(), GALORE);
    const loss = lossOf(normal, 1);
    loss.backward();
    let squares = 0;
    for (const p of normal.parameters()) for (const g of p.grad!.dataSync()) squares += g * g;
    b.layerwise!.backward(lossOf(layered, 1));
    const norm = b.layerwise!.gradNorm()!;
    expect(norm.exact).toBe(true);
    expect(norm.value).toBeCloseTo(Math.sqrt(squares), 4);
  });

  it('accumulates micro-batches: projected between refreshes, full on refresh steps; schedules and gaps count real steps', () => {
    const normal = model();
    const layered = model();
    const a = createOptimizer('galore_adamw', normal.namedParameters(), GALORE);
    const b = createOptimizer('galore_adamw_layerwise', layered.namedParameters(), {
      ...GALORE,
      gradientAccumulationSteps: 2,
    });
    let schedulerSteps = 0;
    const updater = new LayerwiseUpdater(b.optimizer, {
      accumulationSteps: 2,
      scheduler: { step: () => schedulerSteps++ },
    });
    b.layerwise!.dispose(); // use the updater with a scheduler instead
    for (let step = 0; step < 3; step++) {
      for (let micro = 0; micro < 2; micro++) {
        const la = lossOf(normal, step * 2 + micro);
        la.mul(0.5).backward();
        const lb = lossOf(layered, step * 2 + micro);
        const result = updater.backward(lb.mul(0.5));
        expect(result).toEqual({ stepped: micro === 1, microBatch: micro, skipped: [] });
        la.dispose();
        lb.dispose();
      }
      a.optimizer.step();
      a.optimizer.zeroGrad();
      // Step 0 and 2 refresh (full gradients: exact); step 1 sums projected gradients (rounding only).
      expect(maxAbsDiff(parameters(layered), parameters(normal))).toBeLessThan(step === 0 ? 1e-7 : 1e-5);
      expect(updater.gradNorm()!.exact).toBe(step !== 1);
    }
    expect(schedulerSteps).toBe(3);
    const values = b.optimizer.stateDict().json.values;
    for (const v of Object.values(values)) expect(v.step).toBe(3);
    updater.dispose();
  });

  it('refuses gradient clipping with a clear message', () => {
    const m = model();
    expect(() => createOptimizer('galore_adamw_layerwise', m.namedParameters(), { maxGradNorm: 1 })).toThrow(
      /gradient clipping \(maxGradNorm 1\) is not possible with per-layer updates/,
    );
  });

  it('leaves a plain loss.backward() alone (gradients accumulate as usual)', () => {
    const m = model();
    const setup = createOptimizer('galore_adamw_layerwise', m.namedParameters(), GALORE);
    const before = parameters(m);
    const loss = lossOf(m, 0);
    loss.backward();
    expect(parameters(m)).toEqual(before);
    expect(m.parameters().every((p) => p.grad !== null)).toBe(true);
    setup.layerwise!.dispose();
  });
});
