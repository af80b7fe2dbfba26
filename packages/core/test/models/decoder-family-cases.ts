/**
 * The decoder families the reference tests run, shared with the GPU backends' tests: one config per
 * family feature (RoPE scaling in both spellings, head_dim, biases, tied embeddings, the sliding
 * window), the reference's matching settings, a padded batch and deterministic weights.
 */
import type { Module, Tensor } from '../../src/index.js';
import { tensor } from '../../src/index.js';
import type { ReferenceConfig } from './llama-reference.js';

export interface FamilyCase {
  name: string;
  config: Record<string, unknown>;
  reference: ReferenceConfig;
}

const SIZES = {
  vocab_size: 11,
  hidden_size: 16,
  intermediate_size: 20,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  num_hidden_layers: 2,
  rms_norm_eps: 1e-5,
  rope_theta: 50,
  max_position_embeddings: 32,
};
const BASE_REFERENCE = {
  hidden: 16,
  intermediate: 20,
  heads: 4,
  kvHeads: 2,
  layers: 2,
  vocab: 11,
  eps: 1e-5,
  theta: 50,
};
const NO_BIAS = { qkv: false, output: false, mlp: false };

export const CASES: FamilyCase[] = [
  {
    name: 'llama 3.1 style: llama3 rope_parameters (transformers 5), head_dim 6, all biases, tied',
    config: {
      ...SIZES,
      model_type: 'llama',
      head_dim: 6,
      attention_bias: true,
      mlp_bias: true,
      tie_word_embeddings: true,
      rope_theta: undefined,
      rope_parameters: {
        rope_type: 'llama3',
        rope_theta: 50,
        factor: 8,
        low_freq_factor: 1,
        high_freq_factor: 4,
        original_max_position_embeddings: 16,
      },
    },
    reference: {
      ...BASE_REFERENCE,
      headDim: 6,
      rope: { type: 'llama3', factor: 8, low: 1, high: 4, context: 16 },
      biases: { qkv: true, output: true, mlp: true },
    },
  },
  {
    name: 'llama with linear rope_scaling (transformers 4 spelling, "type")',
    config: { ...SIZES, model_type: 'llama', rope_scaling: { type: 'linear', factor: 2.5 } },
    reference: { ...BASE_REFERENCE, rope: { type: 'linear', factor: 2.5 }, biases: NO_BIAS },
  },
  {
    name: 'mistral: sliding window 3 over 6 tokens',
    config: { ...SIZES, model_type: 'mistral', sliding_window: 3 },
    reference: { ...BASE_REFERENCE, window: 3, biases: NO_BIAS },
  },
  {
    name: 'qwen2: q/k/v biases by architecture, tied embeddings',
    config: { ...SIZES, model_type: 'qwen2', tie_word_embeddings: true, use_sliding_window: false },
    reference: { ...BASE_REFERENCE, biases: { qkv: true, output: false, mlp: false } },
  },
];

/** Left padding in row 0, right padding in row 1 (positions stay 0..seq-1, as transformers' forward). */
export const IDS = [
  [0, 5, 9, 2, 7, 4],
  [10, 1, 3, 3, 0, 0],
];
export const MASK = [
  [0, 1, 1, 1, 1, 1],
  [1, 1, 1, 1, 0, 0],
];
/** Padding is never scored, nor is a token predicted from padding (row 0's first real token). */
export const LABELS = IDS.map((row, b) => row.map((id, s) => (MASK[b]![s] && MASK[b]![s - 1] ? id : -100)));

/** Norm weights: input_layernorm.weight, model.norm.weight, an encoder's LayerNorm.weight. */
const NORM_WEIGHT = /norm\.weight$/i;

/**
 * Deterministic values in about [-0.5, 0.5] for every parameter (biases included, so they matter),
 * norm weights around 1.
 */
export function randomize(model: Module): void {
  let state = 12345;
  const next = () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648 - 0.5;
  };
  const dict: Record<string, Tensor> = {};
  for (const [name, p] of model.namedParameters()) {
    const values = Float64Array.from(
      { length: p.size },
      () => next() * (NORM_WEIGHT.test(name) ? 0.5 : 1) + (NORM_WEIGHT.test(name) ? 1 : 0),
    );
    // In the parameter's own dtype, on its backend (float64 on the CPU reference, float32 on a GPU).
    dict[name] = tensor(values, { shape: p.shape, dtype: p.dtype, backend: p.backend });
  }
  model.loadStateDict(dict, { strict: false });
  for (const t of Object.values(dict)) t.dispose();
}
