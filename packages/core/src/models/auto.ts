/**
 * transformers' AutoModelForCausalLM: picks the family from the folder's config.json (model_type,
 * else the class in architectures) and builds the decoder with that family's options. Every
 * family runs on the one decoder, so the result is a LlamaForCausalLM whose config names the family.
 */
import { type LlamaConfig, type LlamaConfigInput, llamaConfig } from './llama/config.js';
import { type FromPretrainedOptions, LlamaForCausalLM, type LlamaOptions } from './llama/model.js';

export class AutoModelForCausalLM {
  private constructor() {}

  /** Loads a Hugging Face folder of a LLaMA, Mistral or Qwen2 model. */
  static fromPretrained(dir: string, options: FromPretrainedOptions = {}): Promise<LlamaForCausalLM> {
    return LlamaForCausalLM.fromPretrained(dir, options);
  }

  /** A randomly initialised model of the family a config (or a parsed config.json) names. */
  static fromConfig(
    config: LlamaConfig | LlamaConfigInput | Readonly<Record<string, unknown>>,
    options: LlamaOptions = {},
  ): LlamaForCausalLM {
    return new LlamaForCausalLM(llamaConfig(config, 'AutoModelForCausalLM'), options);
  }
}
