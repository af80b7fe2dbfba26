/**
 * Choosing the GaLore rank: the default follows the paper's ranks for the model's size, and a rank
 * that saves nothing on a weight is warned about (issue 9, item 15).
 */
import { randn } from '@galore-ts/core';
import { describe, expect, it, vi } from 'vitest';
import { createOptimizer, defaultGaLoreRank, GaLoreAdamW, planMemory, type RankWarning } from '../src/index.js';
import { tinyLlama } from './helpers.js';

describe('defaultGaLoreRank', () => {
  it("gives the paper's ranks for its models (Table 2 and the 7B run)", () => {
    expect([512, 768, 1024, 2048, 4096].map(defaultGaLoreRank)).toEqual([128, 256, 256, 512, 1024]);
  });

  it('gives a quarter of any other hidden size, a multiple of 8 from 32 up', () => {
    expect([128, 256, 100, 8, 2].map(defaultGaLoreRank)).toEqual([32, 64, 24, 2, 1]);
    expect(() => defaultGaLoreRank(0)).toThrow(/hidden size must be a positive integer, got 0/);
  });

  it('is what createOptimizer and planMemory use when no rank is given', () => {
    const setup = createOptimizer('galore_adamw', tinyLlama(64).namedParameters());
    expect(setup.optimizer.paramGroups[1]!.options.rank).toBe(16);
    const plan = planMemory({ model: 'llama_tiny', optimizer: 'galore_adamw', batchSize: 1, seqLen: 8 });
    expect(plan.rank).toBe(defaultGaLoreRank(plan.model.config.hidden_size));
  });
});

describe('a rank that saves nothing', () => {
  it('is reported once per group, naming the weights and a rank that would save', () => {
    const warnings: RankWarning[] = [];
    createOptimizer('galore_adamw', tinyLlama(16).namedParameters(), {
      rank: 16,
      hooks: { onRankWarning: (w) => warnings.push(w) },
    });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ group: 1, rank: 16, suggestedRank: 4 });
    expect(warnings[0]!.params).toHaveLength(7);
    expect(warnings[0]!.message).toMatch(
      /GaLoreAdamW: parameter group 1: rank 16 is at least the smaller side of 7 of its 7 weights \(e\.g\. 'model\.layers\.0\.self_attn\.q_proj\.weight', \[16, 16\]\).*saves no memory.*rank 4/,
    );
  });

  it('goes to console.warn without a hook, and is silent for a rank below every smaller side', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      new GaLoreAdamW([{ params: [randn([8, 24], { requiresGrad: true })], rank: 7 }]);
      expect(warn).not.toHaveBeenCalled();
      new GaLoreAdamW([{ params: [randn([8, 24], { requiresGrad: true })], rank: 8 }]);
      expect(warn).toHaveBeenCalledTimes(1);
      expect(warn.mock.calls[0]![0]).toMatch(/rank 8 is at least the smaller side of 1 of its 1 weights/);
    } finally {
      warn.mockRestore();
    }
  });
});
