import type { DecoderFamily } from '../family.js';

/**
 * Qwen2 and Qwen2.5: LLaMA's decoder with biases on the q, k and v projections (always, by the
 * architecture; o_proj and the MLP have none). Their sliding window is off in every released
 * checkpoint (use_sliding_window: false); turning it on is refused.
 */
export const QWEN2_FAMILY: DecoderFamily = {
  modelType: 'qwen2',
  architecture: 'Qwen2ForCausalLM',
  defaults: { max_position_embeddings: 32768, rms_norm_eps: 1e-6, rope_theta: 10000, num_key_value_heads: 32 },
  fixedBiases: { qkv: true, output: false, mlp: false },
  readOwnFields: (raw, unsupported) => {
    if (raw.use_sliding_window === true) unsupported.push('use_sliding_window: true (Qwen2 sliding-window layers)');
    return {};
  },
};
