import { inFamily } from '../family-model.js';
import type { LlamaConfig, LlamaConfigInput } from '../llama/config.js';
import { LlamaForCausalLM, type LlamaOptions } from '../llama/model.js';

/** transformers' Qwen2ForCausalLM: the shared decoder with biased q/k/v projections. */
export class Qwen2ForCausalLM extends LlamaForCausalLM {
  constructor(config: LlamaConfig | LlamaConfigInput, options: LlamaOptions = {}) {
    super(inFamily(config, 'qwen2', 'Qwen2ForCausalLM'), options);
  }
}
