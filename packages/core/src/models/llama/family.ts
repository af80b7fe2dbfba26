import type { DecoderFamily } from '../family.js';

/** Llama 2, Llama 3.x, TinyLlama, SmolLM2, GaLore's models: biases only if the config asks. */
export const LLAMA_FAMILY: DecoderFamily = {
  modelType: 'llama',
  architecture: 'LlamaForCausalLM',
  defaults: { max_position_embeddings: 2048, rms_norm_eps: 1e-6, rope_theta: 10000 },
  readOwnFields: () => ({}),
};
