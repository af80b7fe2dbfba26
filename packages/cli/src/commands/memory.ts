/**
 * `galore-ts memory`: the peak memory of one training step of any model size, measured by running
 * real steps on the meta backend (nothing is allocated or computed), next to the closed-form
 * figures and the GaLore paper's.
 */

import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type LlamaConfig, PRETRAINING_MODULES_TO_SAVE, readConfig, type TrainingMethod } from '@galore-ts/core';
import { formatMemoryPlan, type MemoryPlan, OPTIMIZER_NAMES, planMemory } from '@galore-ts/galore';
import { Command, Option } from 'commander';
import type { CliIO } from '../io.js';
import { nameList, positiveInteger } from '../parse.js';
import { addAdapterOptions } from '../setup/method.js';
import { kebab } from '../setup/optimizer.js';

interface MemoryFlags {
  /** A preset name, or a config read from a config.json or model folder. */
  model: string | LlamaConfig;
  optimizer: string;
  rank?: number;
  batchSize: number;
  seqLen: number;
  dtype: 'bf16' | 'f32';
  gradientCheckpointing?: boolean;
  updateProjGap?: number;
  json?: boolean;
  method?: TrainingMethod;
  loraRank?: number;
  loraAlpha?: number;
  targetModules?: string[];
  modulesToSave?: string[];
}

export function memoryCommand(io: CliIO): Command {
  return addAdapterOptions(new Command('memory'))
    .description('plan the peak memory of a training step by a dry run on the meta backend (LLaMA 7B in seconds)')
    .option(
      '--model <preset|config.json|folder>',
      'a model preset (llama_tiny ... llama_7b), or the config.json or folder of any LLaMA, Mistral or Qwen2 model',
      'llama_7b',
    )
    .addOption(
      new Option('--optimizer <name>', 'optimizer')
        .choices([...OPTIMIZER_NAMES])
        .default('galore_adamw_8bit_layerwise'),
    )
    .option('--rank <n>', 'GaLore rank (default: 128; the paper used 1024 for 7B)', positiveInteger)
    .option('--batch-size <n>', 'sequences per step', positiveInteger, 1)
    .option('--seq-len <n>', 'tokens per sequence (the paper: 256)', positiveInteger, 256)
    .addOption(new Option('--dtype <dtype>', 'weights and activations dtype').choices(['bf16', 'f32']).default('bf16'))
    .option('--gradient-checkpointing', 'recompute activations in backward')
    .option('--target-modules <names>', 'layers the adapters wrap (default: all-linear)', nameList)
    .option('--json', 'print the plan as JSON')
    .action(async (flags: MemoryFlags & { model: string }) => {
      const plan = runMemory({ ...flags, model: await configOrPreset(flags.model) });
      io.stdout(flags.json ? `${JSON.stringify(plan, null, 2)}\n` : `${formatMemoryPlan(plan)}\n`);
    });
}

export function runMemory(flags: MemoryFlags): MemoryPlan {
  const adapterFlags = (['loraRank', 'loraAlpha', 'targetModules', 'modulesToSave'] as const).filter(
    (k) => flags[k] !== undefined,
  );
  if ((flags.method ?? 'full') === 'full' && adapterFlags.length > 0)
    throw new Error(`--${adapterFlags.map(kebab).join(', --')} only apply to --method lora, relora or low_rank`);
  return planMemory({
    model: flags.model,
    optimizer: flags.optimizer,
    batchSize: flags.batchSize,
    seqLen: flags.seqLen,
    dtype: flags.dtype,
    ...(flags.rank !== undefined ? { rank: flags.rank } : {}),
    ...(flags.gradientCheckpointing ? { gradientCheckpointing: true } : {}),
    ...(flags.method && flags.method !== 'full'
      ? {
          method: flags.method,
          adapter: {
            rank: flags.loraRank,
            alpha: flags.loraAlpha,
            targetModules: flags.targetModules,
            modulesToSave: flags.modulesToSave ?? PRETRAINING_MODULES_TO_SAVE,
          },
        }
      : {}),
  });
}

/** A path is read as a config.json (or a folder holding one); anything else is a preset name. */
async function configOrPreset(spec: string): Promise<string | LlamaConfig> {
  const info = await stat(spec).catch(() => undefined);
  if (!info) return spec;
  return readConfig(info.isDirectory() ? join(spec, 'config.json') : spec);
}
