import type { DecoderModelType } from './family.js';
import type { LlamaConfig, LlamaConfigInput } from './llama/config.js';

/**
 * `config` as a config of the family `modelType` (its model_type filled in); a config of another
 * family is refused rather than silently relabelled.
 */
export function inFamily(
  config: LlamaConfig | LlamaConfigInput,
  modelType: DecoderModelType,
  className: string,
): LlamaConfigInput {
  if (config.model_type !== undefined && config.model_type !== modelType) {
    throw new Error(
      `${className}: the config is for model_type ${JSON.stringify(config.model_type)}; use AutoModelForCausalLM or the matching class`,
    );
  }
  return { ...config, model_type: modelType } as LlamaConfigInput;
}
