import type { DecoderFamily } from '../family.js';

/**
 * Mistral: LLaMA's decoder without biases, with sliding-window attention (a query at position i
 * sees keys j with i - window < j <= i). MistralConfig's default window is 4096; null disables it.
 */
export const MISTRAL_FAMILY: DecoderFamily = {
  modelType: 'mistral',
  architecture: 'MistralForCausalLM',
  defaults: { max_position_embeddings: 4096 * 32, rms_norm_eps: 1e-6, rope_theta: 10000, num_key_value_heads: 8 },
  fixedBiases: { qkv: false, output: false, mlp: false },
  readOwnFields: (raw) => ({
    sliding_window: raw.sliding_window === undefined ? 4096 : (raw.sliding_window as number | null),
  }),
};
