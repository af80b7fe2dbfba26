import { inFamily } from '../family-model.js';
import type { LlamaConfig, LlamaConfigInput } from '../llama/config.js';
import { LlamaForCausalLM, type LlamaOptions } from '../llama/model.js';

/** transformers' MistralForCausalLM: the shared decoder with Mistral's defaults (sliding window). */
export class MistralForCausalLM extends LlamaForCausalLM {
  constructor(config: LlamaConfig | LlamaConfigInput, options: LlamaOptions = {}) {
    super(inFamily(config, 'mistral', 'MistralForCausalLM'), options);
  }
}
