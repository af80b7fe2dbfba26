/**
 * transformers' AutoModelForCausalLM: picks the family from the folder's config.json (model_type,
 * else the class in architectures) and builds the decoder with that family's options. Every
 * family runs on the one decoder, so the result is a LlamaForCausalLM whose config names the family.
 */
import type { LlamaConfig, LlamaConfigInput } from './llama/config.js';
import { type FromPretrainedOptions, LlamaForCausalLM, type LlamaOptions } from './llama/model.js';

export class AutoModelForCausalLM {
  private constructor() {}

  /** Loads a Hugging Face folder of a LLaMA, Mistral or Qwen2 model. */
  static fromPretrained(dir: string, options: FromPretrainedOptions = {}): Promise<LlamaForCausalLM> {
    return LlamaForCausalLM.fromPretrained(dir, options);
  }

  /** A randomly initialised model of the family the config names. */
  static fromConfig(config: LlamaConfig | LlamaConfigInput, options: LlamaOptions = {}): LlamaForCausalLM {
    return new LlamaForCausalLM(config, options);
  }
}
