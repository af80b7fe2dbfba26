export { checkpoint } from './checkpoint.js';
export { Embedding, type EmbeddingOptions } from './embedding.js';
export { constantParameter, normalParameter, type ParameterOptions } from './init.js';
export { LayerNorm, type LayerNormOptions } from './layer-norm.js';
export { Linear, type LinearAdapter, type LinearOptions } from './linear.js';
export { type LoadStateDictOptions, Module, ModuleList, type NamedParametersOptions } from './module.js';
export { asParameter, createParameter } from './parameter.js';
export { pipe } from './pipe.js';
export { RMSNorm, type RMSNormOptions } from './rms-norm.js';
export {
  assertKeysMatch,
  assertNoMismatches,
  compareKeys,
  describeMismatch,
  formatNames,
  type KeyComparison,
  type TensorDescription,
} from './state-dict.js';
