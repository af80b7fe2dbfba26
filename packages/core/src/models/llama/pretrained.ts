/**
 * Hugging Face model folders: config.json plus model.safetensors, or shards listed by
 * model.safetensors.index.json. Weights stream from the file into the parameters one tensor at a
 * time, so loading needs the model's memory plus one tensor.
 */
import { access, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadTensorsInto, saveTensors } from '../../io/tensors.js';
import { assertKeysMatch, compareKeys } from '../../nn/state-dict.js';
import type { Tensor } from '../../tensor.js';
import { type LlamaConfig, type LlamaTorchDType, readConfig, writeConfig } from './config.js';
import type { LlamaForCausalLM } from './model.js';

export const CONFIG_FILE = 'config.json';
export const WEIGHTS_FILE = 'model.safetensors';
export const WEIGHTS_INDEX_FILE = 'model.safetensors.index.json';

/** Buffers older transformers versions saved with the weights; they are recomputed, never loaded. */
const IGNORED_KEYS = /\.rotary_emb\.inv_freq$/;

export async function readPretrainedConfig(dir: string): Promise<LlamaConfig> {
  return readConfig(join(dir, CONFIG_FILE));
}

export async function savePretrainedFolder(model: LlamaForCausalLM, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  // Tied weights are written once, under their first name (model.embed_tokens.weight), as HF does.
  const weights: Record<string, Tensor> = Object.fromEntries(model.namedParameters());
  await saveTensors(join(dir, WEIGHTS_FILE), weights, { format: 'pt' });
  const config: LlamaConfig = { ...model.config };
  const dtype = model.dtype;
  if (dtype === 'float32' || dtype === 'bfloat16' || dtype === 'float16')
    config.torch_dtype = dtype satisfies LlamaTorchDType;
  else delete config.torch_dtype;
  await writeConfig(join(dir, CONFIG_FILE), config);
}

export async function loadPretrainedWeights(model: LlamaForCausalLM, dir: string): Promise<void> {
  const targets = model.stateDict();
  const aliases = model.parameterAliases();
  const shards = await weightFiles(dir);
  const provided: string[] = [];
  for (const shard of shards) {
    const { fileKeys } = await loadTensorsInto(join(dir, shard), targets, { strict: false, aliases });
    provided.push(...fileKeys);
  }
  const keys = compareKeys(Object.keys(targets), provided, aliases);
  keys.unexpectedKeys = keys.unexpectedKeys.filter((name) => !IGNORED_KEYS.test(name));
  assertKeysMatch(`loading weights from ${dir}`, keys);
}

/** The safetensors files of a folder: the single file, or the shards its index lists. */
async function weightFiles(dir: string): Promise<string[]> {
  if (await exists(join(dir, WEIGHTS_FILE))) return [WEIGHTS_FILE];
  const indexPath = join(dir, WEIGHTS_INDEX_FILE);
  if (!(await exists(indexPath))) {
    throw new Error(
      `fromPretrained: ${dir} has neither ${WEIGHTS_FILE} nor ${WEIGHTS_INDEX_FILE} (only safetensors weights are supported)`,
    );
  }
  const index = JSON.parse(await readFile(indexPath, 'utf8')) as { weight_map?: Record<string, string> };
  if (!index.weight_map || typeof index.weight_map !== 'object')
    throw new Error(`fromPretrained: ${indexPath} has no weight_map`);
  return [...new Set(Object.values(index.weight_map))];
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
