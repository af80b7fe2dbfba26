/** The decoder families, looked up by `model_type` or by transformers class name. */
import type { DecoderFamily, DecoderModelType } from './family.js';
import { LLAMA_FAMILY } from './llama/family.js';
import { MISTRAL_FAMILY } from './mistral/family.js';
import { QWEN2_FAMILY } from './qwen2/family.js';

export const DECODER_FAMILIES: Readonly<Record<DecoderModelType, DecoderFamily>> = {
  llama: LLAMA_FAMILY,
  mistral: MISTRAL_FAMILY,
  qwen2: QWEN2_FAMILY,
};

/** Older spellings of the class names (GaLore's configs say LLaMAForCausalLM). */
const ARCHITECTURE_ALIASES: Readonly<Record<string, DecoderModelType>> = { LLaMAForCausalLM: 'llama' };

export function isDecoderModelType(name: unknown): name is DecoderModelType {
  return typeof name === 'string' && Object.hasOwn(DECODER_FAMILIES, name);
}

/** The family of a transformers class name such as 'Qwen2ForCausalLM', if it is one of ours. */
export function familyOfArchitecture(name: string): DecoderFamily | undefined {
  const alias = ARCHITECTURE_ALIASES[name];
  if (alias) return DECODER_FAMILIES[alias];
  return Object.values(DECODER_FAMILIES).find((f) => f.architecture === name);
}

export function supportedArchitectures(): string[] {
  return Object.values(DECODER_FAMILIES).map((f) => f.architecture);
}
