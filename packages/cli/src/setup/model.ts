/**
 * What --model names: a preset (llama_tiny ...), a config.json file (random initialisation), or a
 * Hugging Face model folder (config.json + safetensors weights, to fine-tune).
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type Backend,
  type DType,
  isLlamaPresetName,
  LLAMA_PRESET_NAMES,
  type LlamaConfig,
  LlamaForCausalLM,
  llamaPreset,
  readConfig,
  type Tokenizer,
} from '@galore-ts/core';
import { checkTokenizerFits } from './tokenizer.js';

export interface ModelChoice {
  /** How the model is named in logs: the preset, or the path. */
  label: string;
  config: LlamaConfig;
  /** Set when the weights come from a Hugging Face folder. */
  pretrainedDir?: string;
}

/**
 * Resolves `spec`. A preset adopts the tokenizer's vocabulary size (and BOS/EOS ids); a config or
 * folder must already be large enough for the tokenizer.
 */
export async function resolveModel(spec: string, tokenizer: Tokenizer): Promise<ModelChoice> {
  if (isLlamaPresetName(spec)) {
    const special: Partial<LlamaConfig> = { vocab_size: tokenizer.vocabSize };
    if (tokenizer.bosId !== undefined) special.bos_token_id = tokenizer.bosId;
    if (tokenizer.eosId !== undefined) special.eos_token_id = tokenizer.eosId;
    return { label: spec, config: llamaPreset(spec, special) };
  }
  const info = await stat(spec).catch(() => undefined);
  if (!info) {
    throw new Error(
      `--model '${spec}' is neither a preset (${LLAMA_PRESET_NAMES.join(', ')}) nor an existing config.json file or model folder`,
    );
  }
  const choice: ModelChoice = info.isDirectory()
    ? { label: spec, config: await readConfig(join(spec, 'config.json')), pretrainedDir: spec }
    : { label: spec, config: await readConfig(spec) };
  checkTokenizerFits(tokenizer, choice.config, spec);
  return choice;
}

/** Builds the model on `backend`: fresh weights from the seeded generator, or the folder's. */
export async function buildModel(choice: ModelChoice, backend: Backend, dtype?: DType): Promise<LlamaForCausalLM> {
  if (choice.pretrainedDir)
    return LlamaForCausalLM.fromPretrained(choice.pretrainedDir, { backend, ...(dtype ? { dtype } : {}) });
  return new LlamaForCausalLM(choice.config, { backend, ...(dtype ? { dtype } : {}) });
}
