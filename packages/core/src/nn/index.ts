export { checkpoint } from './checkpoint.js';
export { Embedding, type EmbeddingOptions } from './embedding.js';
export { constantParameter, normalParameter, type ParameterOptions } from './init.js';
export { Linear, type LinearAdapter, type LinearOptions } from './linear.js';
export { type LoadStateDictOptions, Module, ModuleList, type NamedParametersOptions } from './module.js';
export { asParameter, createParameter } from './parameter.js';
export { pipe } from './pipe.js';
export { RMSNorm, type RMSNormOptions } from './rms-norm.js';
export * from './state-dict.js';
