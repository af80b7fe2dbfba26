/**
 * `galore-ts memory`: the peak memory of one training step of any model size, measured by running
 * real steps on the meta backend (nothing is allocated or computed), next to the closed-form
 * figures and the GaLore paper's.
 */

import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type LlamaConfig, PRETRAINING_MODULES_TO_SAVE, readConfig, type TrainingMethod } from '@galore-ts/core';
import { formatMemoryPlan, type MemoryPlan, OPTIMIZER_NAMES, planMemory, type StateDType } from '@galore-ts/galore';
import { Command, Option } from 'commander';
import { flagOf } from '../flag-names.js';
import type { CliIO } from '../io.js';
import { nameList, positiveInteger } from '../parse.js';
import { addAdapterOptions } from '../setup/method.js';
import { checkOptimDtype, DEFAULT_RANK_RULE, optimDtypeOption } from '../setup/optimizer.js';
import { comparePaper, formatPaperComparison } from './memory-paper.js';
import { MODEL_DTYPES, type ModelDType } from './train-settings.js';

interface MemoryFlags {
  /** A preset name, or a config read from a config.json or model folder. */
  model: string | LlamaConfig;
  optimizer: string;
  rank?: number;
  batchSize: number;
  seqLen: number;
  /** Spelled as train's --dtype. */
  dtype: ModelDType;
  optimDtype?: StateDType;
  gradientCheckpointing?: boolean;
  paper?: boolean;
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
    .option('--rank <n>', `GaLore rank (default: ${DEFAULT_RANK_RULE}; the paper used 1024 for 7B)`, positiveInteger)
    .option('--batch-size <n>', 'sequences per step', positiveInteger, 1)
    .option('--seq-len <n>', 'tokens per sequence (the paper: 256)', positiveInteger, 256)
    .addOption(
      new Option('--dtype <dtype>', 'weights and activations dtype').choices([...MODEL_DTYPES]).default('bfloat16'),
    )
    .addOption(optimDtypeOption())
    .option('--gradient-checkpointing', 'recompute activations in backward')
    .option('--target-modules <names>', 'layers the adapters wrap (default: all-linear)', nameList)
    .option(
      '--paper',
      "print the paper's reductions (optimizer state -65.5%, -82.5% with 8-bit states, total -63.3%) beside ours, for --model (rank 1024 for llama_7b, as the paper)",
    )
    .option('--json', 'print the plan as JSON')
    .action(async (flags: MemoryFlags & { model: string }, command: Command) => {
      if (flags.paper) {
        refuseBesidePaper(command);
        const { model, rank, batchSize, seqLen } = flags;
        const gradientCheckpointing = flags.gradientCheckpointing === true;
        const comparison = comparePaper({ model, batchSize, seqLen, gradientCheckpointing, ...(rank ? { rank } : {}) });
        io.stdout(flags.json ? `${JSON.stringify(comparison, null, 2)}\n` : formatPaperComparison(comparison));
        return;
      }
      const plan = runMemory({ ...flags, model: await configOrPreset(flags.model) });
      io.stdout(flags.json ? `${JSON.stringify(plan, null, 2)}\n` : `${formatMemoryPlan(plan)}\n`);
    });
}

export function runMemory(flags: MemoryFlags): MemoryPlan {
  const adapterFlags = (['loraRank', 'loraAlpha', 'targetModules', 'modulesToSave'] as const).filter(
    (k) => flags[k] !== undefined,
  );
  if ((flags.method ?? 'full') === 'full' && adapterFlags.length > 0)
    throw new Error(`${adapterFlags.map(flagOf).join(', ')} only apply to --method lora, relora or low_rank`);
  checkOptimDtype(flags.optimizer, flags.optimDtype);
  return planMemory({
    model: flags.model,
    optimizer: flags.optimizer,
    batchSize: flags.batchSize,
    seqLen: flags.seqLen,
    dtype: flags.dtype === 'float32' ? 'f32' : 'bf16',
    ...(flags.rank !== undefined ? { rank: flags.rank } : {}),
    ...(flags.optimDtype !== undefined ? { stateDType: flags.optimDtype } : {}),
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

/** The flags --paper reads; it plans its own optimizers, dtypes and method, so the rest are refused. */
const PAPER_FLAGS = new Set(['model', 'rank', 'batchSize', 'seqLen', 'gradientCheckpointing', 'paper', 'json']);

function refuseBesidePaper(command: Command): void {
  const given = Object.keys(command.opts()).filter(
    (key) => !PAPER_FLAGS.has(key) && command.getOptionValueSource(key) === 'cli',
  );
  if (given.length > 0)
    throw new Error(
      `${given.map(flagOf).join(', ')} cannot be used with --paper: it plans the paper's optimizers (AdamW, GaLore AdamW with bf16 moments, 8-bit GaLore, 8-bit GaLore per layer) itself`,
    );
}

/** A path is read as a config.json (or a folder holding one); anything else is a preset name. */
async function configOrPreset(spec: string): Promise<string | LlamaConfig> {
  const info = await stat(spec).catch(() => undefined);
  if (!info) return spec;
  return readConfig(info.isDirectory() ? join(spec, 'config.json') : spec);
}
