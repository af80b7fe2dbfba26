/**
 * `galore-ts memory`: the peak memory of one training step of any model size, measured by running
 * real steps on the meta backend (nothing is allocated or computed), next to the closed-form
 * figures and the GaLore paper's.
 */

import { formatMemoryPlan, type MemoryPlan, OPTIMIZER_NAMES, planMemory } from '@galore-ts/galore';
import { Command, Option } from 'commander';
import type { CliIO } from '../io.js';
import { positiveInteger } from '../parse.js';
import { checkOptimDtype } from '../setup/optimizer.js';
import { comparePaper, formatPaperComparison } from './memory-paper.js';

interface MemoryFlags {
  model: string;
  optimizer: string;
  rank?: number;
  batchSize: number;
  seqLen: number;
  /** Spelled as train's --dtype. */
  dtype: 'bfloat16' | 'float32';
  optimDtype?: 'float32' | 'bfloat16';
  gradientCheckpointing?: boolean;
  paper?: boolean;
  json?: boolean;
}

export function memoryCommand(io: CliIO): Command {
  return new Command('memory')
    .description('plan the peak memory of a training step by a dry run on the meta backend (LLaMA 7B in seconds)')
    .option('--model <preset>', 'a model preset, llama_tiny ... llama_7b', 'llama_7b')
    .addOption(
      new Option('--optimizer <name>', 'optimizer')
        .choices([...OPTIMIZER_NAMES])
        .default('galore_adamw_8bit_layerwise'),
    )
    .option('--rank <n>', 'GaLore rank (default: 128; the paper used 1024 for 7B)', positiveInteger)
    .option('--batch-size <n>', 'sequences per step', positiveInteger, 1)
    .option('--seq-len <n>', 'tokens per sequence (the paper: 256)', positiveInteger, 256)
    .addOption(
      new Option('--dtype <dtype>', 'weights and activations dtype')
        .choices(['bfloat16', 'float32'])
        .default('bfloat16'),
    )
    .addOption(
      new Option('--optim-dtype <dtype>', 'galore_adamw moment dtype (default: float32)').choices([
        'float32',
        'bfloat16',
      ]),
    )
    .option('--gradient-checkpointing', 'recompute activations in backward')
    .option(
      '--paper',
      "print the paper's reductions (optimizer state -65.5%, -82.5% with 8-bit states, total -63.3%) beside ours, for --model (rank 1024 for llama_7b, as the paper)",
    )
    .option('--json', 'print the plan as JSON')
    .action(async (flags: MemoryFlags) => {
      if (flags.paper) {
        const comparison = comparePaper({ ...flags, gradientCheckpointing: flags.gradientCheckpointing === true });
        io.stdout(flags.json ? `${JSON.stringify(comparison, null, 2)}\n` : formatPaperComparison(comparison));
        return;
      }
      const plan = runMemory(flags);
      io.stdout(flags.json ? `${JSON.stringify(plan, null, 2)}\n` : `${formatMemoryPlan(plan)}\n`);
    });
}

export function runMemory(flags: MemoryFlags): MemoryPlan {
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
  });
}
