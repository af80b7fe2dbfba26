/**
 * Hugging Face model folders: config.json plus model.safetensors, or shards listed by
 * model.safetensors.index.json. Weights stream from the file into the parameters one tensor at a
 * time, in the parameters' dtype (a bf16 file fills bf16 parameters directly), so loading needs
 * the model's memory plus one tensor. Saving shards above a size, as transformers does.
 */
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DTYPE_BYTES } from '../../dtype.js';
import { atomicWriteFile } from '../../io/atomic-write.js';
import { pathExists } from '../../io/exists.js';
import { loadTensorsInto, saveTensors } from '../../io/tensors.js';
import { assertKeysMatch, compareKeys } from '../../nn/state-dict.js';
import type { Tensor } from '../../tensor.js';
import { type LlamaConfig, type LlamaTorchDType, readConfig, writeConfig } from './config.js';
import type { LlamaForCausalLM } from './model.js';

export const CONFIG_FILE = 'config.json';
export const WEIGHTS_FILE = 'model.safetensors';
export const WEIGHTS_INDEX_FILE = 'model.safetensors.index.json';

/** transformers' default max_shard_size ("5GB", decimal). */
export const DEFAULT_MAX_SHARD_BYTES = 5e9;

/** Buffers older transformers versions saved with the weights; they are recomputed, never loaded. */
const IGNORED_KEYS = /\.rotary_emb\.inv_freq$/;

export interface SavePretrainedOptions {
  /** Largest shard in bytes (default 5 GB); a larger model is written as model-0000i-of-0000n files + index. */
  maxShardBytes?: number;
}

export async function readPretrainedConfig(dir: string): Promise<LlamaConfig> {
  return readConfig(join(dir, CONFIG_FILE));
}

export async function savePretrainedFolder(
  model: LlamaForCausalLM,
  dir: string,
  options: SavePretrainedOptions = {},
): Promise<void> {
  await mkdir(dir, { recursive: true });
  // Tied weights are written once, under their first name (model.embed_tokens.weight), as HF does.
  const shards = planShards([...model.namedParameters()], options.maxShardBytes ?? DEFAULT_MAX_SHARD_BYTES);
  // Remove the other layout first so a reader never finds a stale file beside the new one.
  if (shards.length === 1) {
    await rm(join(dir, WEIGHTS_INDEX_FILE), { force: true });
    await saveTensors(join(dir, WEIGHTS_FILE), Object.fromEntries(shards[0]!), { format: 'pt' });
  } else {
    await rm(join(dir, WEIGHTS_FILE), { force: true });
    const weightMap: Record<string, string> = {};
    let totalSize = 0;
    for (const [i, shard] of shards.entries()) {
      const file = shardFileName(i, shards.length);
      await saveTensors(join(dir, file), Object.fromEntries(shard), { format: 'pt' });
      for (const [name, t] of shard) {
        weightMap[name] = file;
        totalSize += tensorBytes(t);
      }
    }
    const index = { metadata: { total_size: totalSize }, weight_map: weightMap };
    await atomicWriteFile(join(dir, WEIGHTS_INDEX_FILE), `${JSON.stringify(index, null, 2)}\n`);
  }
  const config: LlamaConfig = { ...model.config };
  const dtype = model.dtype;
  if (dtype === 'float32' || dtype === 'bfloat16' || dtype === 'float16')
    config.torch_dtype = dtype satisfies LlamaTorchDType;
  else delete config.torch_dtype;
  await writeConfig(join(dir, CONFIG_FILE), config);
}

/**
 * Splits tensors, in order, into shards of at most `maxBytes` (transformers' greedy rule: a tensor
 * that does not fit starts a new shard; one larger than the limit gets a shard of its own).
 */
export function planShards(entries: readonly [string, Tensor][], maxBytes: number): [string, Tensor][][] {
  if (!(maxBytes > 0)) throw new RangeError(`savePretrained: maxShardBytes must be positive, got ${maxBytes}`);
  const shards: [string, Tensor][][] = [[]];
  let size = 0;
  for (const entry of entries) {
    const bytes = tensorBytes(entry[1]);
    if (size + bytes > maxBytes && shards.at(-1)!.length > 0) {
      shards.push([]);
      size = 0;
    }
    shards.at(-1)!.push(entry);
    size += bytes;
  }
  return shards;
}

function shardFileName(index: number, count: number): string {
  const pad = (n: number) => String(n).padStart(5, '0');
  return `model-${pad(index + 1)}-of-${pad(count)}.safetensors`;
}

function tensorBytes(t: Tensor): number {
  return t.size * DTYPE_BYTES[t.dtype];
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
  if (await pathExists(join(dir, WEIGHTS_FILE))) return [WEIGHTS_FILE];
  const indexPath = join(dir, WEIGHTS_INDEX_FILE);
  if (!(await pathExists(indexPath))) {
    throw new Error(
      `fromPretrained: ${dir} has neither ${WEIGHTS_FILE} nor ${WEIGHTS_INDEX_FILE} (only safetensors weights are supported)`,
    );
  }
  const index = JSON.parse(await readFile(indexPath, 'utf8')) as { weight_map?: Record<string, string> };
  if (!index.weight_map || typeof index.weight_map !== 'object')
    throw new Error(`fromPretrained: ${indexPath} has no weight_map`);
  return [...new Set(Object.values(index.weight_map))];
}
