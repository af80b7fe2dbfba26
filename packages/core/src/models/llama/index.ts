export { type AttentionContext, LlamaAttention } from './attention.js';
export { type AttentionBiasSpec, attentionBias, MASKED_SCORE } from './attention-mask.js';
export {
  familyOf,
  headDim,
  type LlamaConfig,
  type LlamaConfigInput,
  type LlamaTorchDType,
  llamaConfig,
  projectionBiases,
  readConfig,
  validateLlamaConfig,
  writeConfig,
} from './config.js';
export { LlamaDecoderLayer } from './decoder-layer.js';
export { KVCache } from './kv-cache.js';
export { causalLmLoss, IGNORE_INDEX, shiftLabelsLeft } from './loss.js';
export { LlamaMLP } from './mlp.js';
export {
  type CausalLMForwardOptions,
  type CausalLMOutput,
  type DecoderForwardOptions,
  type FromPretrainedOptions,
  LlamaForCausalLM,
  LlamaModel,
  type LlamaOptions,
} from './model.js';
export { isLlamaPresetName, LLAMA_PRESET_NAMES, LLAMA_PRESETS, type LlamaPresetName, llamaPreset } from './presets.js';
export {
  CONFIG_FILE,
  DEFAULT_MAX_SHARD_BYTES,
  planShards,
  type SavePretrainedOptions,
  WEIGHTS_FILE,
  WEIGHTS_INDEX_FILE,
} from './pretrained.js';
export { clearRopeTables, type RopeTableSpec, ropeAngles, ropeTables } from './rope-tables.js';
