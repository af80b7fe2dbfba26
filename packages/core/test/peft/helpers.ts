/** A small LLaMA for adapter tests, and helpers to read parameters. */
import { expect } from 'vitest';
import { LlamaForCausalLM, type LlamaOptions, manualSeed, type Tensor } from '../../src/index.js';

export const TINY = {
  vocab_size: 32,
  hidden_size: 16,
  intermediate_size: 24,
  num_attention_heads: 2,
  num_hidden_layers: 2,
  max_position_embeddings: 16,
};

export function tinyModel(options: LlamaOptions = {}, seed = 0): LlamaForCausalLM {
  manualSeed(seed);
  return new LlamaForCausalLM(TINY, options);
}

export function values(t: Tensor): number[] {
  return Array.from(t.dataSync());
}

/** Element-wise toBeCloseTo. */
export function expectClose(actual: readonly number[], expected: readonly number[], digits = 9): void {
  expect(actual).toHaveLength(expected.length);
  for (let i = 0; i < actual.length; i++) expect(actual[i]).toBeCloseTo(expected[i]!, digits);
}
