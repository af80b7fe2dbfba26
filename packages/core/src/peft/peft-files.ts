/**
 * PEFT's adapter folder: adapter_config.json plus adapter_model.safetensors, whose keys are the
 * model's parameter names under `base_model.model.` (the PeftModel wrapper's prefix), without the
 * adapter name (`...q_proj.lora_A.weight`). Modules trained in full (modules_to_save) are saved
 * under their own names, as PEFT does. `peft` in Python loads what we write, and we load its.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { atomicWriteFile } from '../io/atomic-write.js';
import { loadTensorsInto, saveTensors } from '../io/tensors.js';
import type { Module } from '../nn/module.js';
import type { Tensor } from '../tensor.js';
import { fromPeftConfig, type LoraConfig, toPeftConfig } from './lora-config.js';
import { LoraModel } from './lora-model.js';
import { isModuleToSave } from './targets.js';

export const ADAPTER_CONFIG_FILE = 'adapter_config.json';
export const ADAPTER_WEIGHTS_FILE = 'adapter_model.safetensors';
export const PEFT_PREFIX = 'base_model.model.';

/** The tensors an adapter folder holds, by their PEFT keys. */
export function adapterStateDict(adapted: LoraModel): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [name, p] of adapted.adapterParameters()) out[PEFT_PREFIX + name] = p;
  const toSave = adapted.config.modulesToSave;
  if (toSave.length > 0) {
    for (const [moduleName, module] of adapted.model.namedModules()) {
      if (!isModuleToSave(moduleName, toSave)) continue;
      for (const [name, p] of module.namedParameters({ prefix: moduleName })) out[PEFT_PREFIX + name] = p;
    }
  }
  return out;
}

/** Writes `adapted`'s adapters as a PEFT folder (LoRA only: a low-rank model has no base to adapt). */
export async function saveAdapter(adapted: LoraModel, dir: string): Promise<void> {
  if (adapted.method !== 'lora')
    throw new Error(`saveAdapter: a ${adapted.method} model is not a PEFT adapter (save the whole model instead)`);
  if (adapted.merged) throw new Error('saveAdapter: the adapters are merged into the base weights; unmerge() first');
  await mkdir(dir, { recursive: true });
  await saveTensors(join(dir, ADAPTER_WEIGHTS_FILE), adapterStateDict(adapted), { format: 'pt' });
  const config = toPeftConfig(adapted.config, adapted.targetNames());
  await atomicWriteFile(join(dir, ADAPTER_CONFIG_FILE), `${JSON.stringify(config, null, 2)}\n`);
}

/** Reads and checks a folder's adapter_config.json. */
export async function readAdapterConfig(dir: string): Promise<LoraConfig> {
  const path = join(dir, ADAPTER_CONFIG_FILE);
  const json = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
  return fromPeftConfig(json);
}

/** Injects the adapters a PEFT folder describes into `model` (in place) and loads their weights. */
export async function loadAdapter(model: Module, dir: string): Promise<LoraModel> {
  const config = await readAdapterConfig(dir);
  const adapted = LoraModel.inject(model, config);
  await loadTensorsInto(join(dir, ADAPTER_WEIGHTS_FILE), adapterStateDict(adapted));
  return adapted;
}
