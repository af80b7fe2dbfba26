/**
 * Named model sizes. The llama_60m ... llama_7b presets are the GaLore paper's models, taken from
 * the official configs (github.com/jiaweizzhao/GaLore, configs/llama_*.json): vocab 32000 (the T5
 * tokenizer), rms_norm_eps 1e-6, untied embeddings, context 1024 (2048 for 7B; those files name it
 * max_sequence_length). Note llama_1b has 32 heads of 64 dimensions, as in the official config.
 * llama_tiny and llama_small are ours, sized for CPU runs with the byte tokenizer (vocab 258: 256
 * bytes + BOS + EOS); their intermediate sizes follow LLaMA's ~8/3 ratio rounded to a multiple of 32.
 */
import { type LlamaConfig, type LlamaConfigInput, llamaConfig } from './config.js';

const PAPER_DEFAULTS = {
  vocab_size: 32000,
  rms_norm_eps: 1e-6,
  tie_word_embeddings: false,
  bos_token_id: 0,
  eos_token_id: 1,
} as const;
const BYTE_TOKENIZER = {
  vocab_size: 258,
  rms_norm_eps: 1e-6,
  tie_word_embeddings: false,
  bos_token_id: 256,
  eos_token_id: 257,
} as const;

export const LLAMA_PRESETS = {
  /** ~1.3M parameters: a few seconds per step on a CPU core. */
  llama_tiny: {
    ...BYTE_TOKENIZER,
    hidden_size: 128,
    intermediate_size: 352,
    num_attention_heads: 4,
    num_hidden_layers: 6,
    max_position_embeddings: 512,
  },
  /** ~14.4M parameters. */
  llama_small: {
    ...BYTE_TOKENIZER,
    hidden_size: 384,
    intermediate_size: 1024,
    num_attention_heads: 6,
    num_hidden_layers: 8,
    max_position_embeddings: 1024,
  },
  llama_60m: {
    ...PAPER_DEFAULTS,
    hidden_size: 512,
    intermediate_size: 1376,
    num_attention_heads: 8,
    num_hidden_layers: 8,
    max_position_embeddings: 1024,
  },
  llama_130m: {
    ...PAPER_DEFAULTS,
    hidden_size: 768,
    intermediate_size: 2048,
    num_attention_heads: 12,
    num_hidden_layers: 12,
    max_position_embeddings: 1024,
  },
  llama_350m: {
    ...PAPER_DEFAULTS,
    hidden_size: 1024,
    intermediate_size: 2736,
    num_attention_heads: 16,
    num_hidden_layers: 24,
    max_position_embeddings: 1024,
  },
  llama_1b: {
    ...PAPER_DEFAULTS,
    hidden_size: 2048,
    intermediate_size: 5461,
    num_attention_heads: 32,
    num_hidden_layers: 24,
    max_position_embeddings: 1024,
  },
  llama_7b: {
    ...PAPER_DEFAULTS,
    hidden_size: 4096,
    intermediate_size: 11008,
    num_attention_heads: 32,
    num_hidden_layers: 32,
    max_position_embeddings: 2048,
  },
} as const satisfies Record<string, LlamaConfigInput>;

export type LlamaPresetName = keyof typeof LLAMA_PRESETS;

export const LLAMA_PRESET_NAMES = Object.keys(LLAMA_PRESETS) as LlamaPresetName[];

export function isLlamaPresetName(name: string): name is LlamaPresetName {
  return Object.hasOwn(LLAMA_PRESETS, name);
}

/** The config of a named preset, with `overrides` applied (and validated). */
export function llamaPreset(name: string, overrides: Partial<LlamaConfig> = {}): LlamaConfig {
  if (!isLlamaPresetName(name)) {
    throw new Error(`llamaPreset: unknown preset '${name}'; expected one of ${LLAMA_PRESET_NAMES.join(', ')}`);
  }
  return llamaConfig({ ...LLAMA_PRESETS[name], ...overrides }, `llamaPreset('${name}')`);
}
