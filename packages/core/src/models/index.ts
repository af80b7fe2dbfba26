export { AutoModelForCausalLM } from './auto.js';
export { DECODER_FAMILIES, familyOfArchitecture, isDecoderModelType, supportedArchitectures } from './families.js';
export type { DecoderFamily, DecoderModelType, ProjectionBiases } from './family.js';
export { type GenerateOptions, type GenerationResult, generate, type PhaseTiming } from './generate.js';
export * from './llama/index.js';
export { MistralForCausalLM } from './mistral/model.js';
export { Qwen2ForCausalLM } from './qwen2/model.js';
export * from './roberta/index.js';
export { inverseFrequencies, type RopeScaling, type RopeSettings, readRopeSettings } from './rope/scaling.js';
