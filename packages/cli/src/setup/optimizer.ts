/**
 * --optimizer and its flags, mapped onto @galore-ts/galore's createOptimizer (which knows every
 * Hugging Face name, adamw included) for the Trainer.
 */
import type { OptimizerFactory, TrainableOptimizer } from '@galore-ts/core';
import {
  createOptimizer,
  GALORE_ADAMW_DEFAULTS,
  GALORE_DEFAULTS,
  OPTIMIZER_NAMES,
  PROJECTION_TYPES,
  STATE_DTYPES,
  type StateDType,
} from '@galore-ts/galore';
import { type Command, Option } from 'commander';
import { flagOf } from '../flag-names.js';
import { positiveInteger, positiveNumber } from '../parse.js';

export { OPTIMIZER_NAMES };

export interface OptimizerFlags {
  optimizer: string;
  lr: number;
  weightDecay: number;
  gradAccum: number;
  rank?: number;
  updateProjGap?: number;
  galoreScale?: number;
  projType?: string;
  targetModules?: string[];
  optimDtype?: StateDType;
  /** Name parts of the parameters --weight-decay leaves alone (createOptimizer's noDecay). */
  noDecay?: readonly string[];
}

/** The GaLore flags train and glue share: --rank, --update-proj-gap, --galore-scale, --proj-type. */
export function addGaLoreOptions(command: Command, rankDefault: string): Command {
  const d = GALORE_DEFAULTS;
  return command
    .option('--rank <n>', `GaLore rank (default: ${rankDefault})`, positiveInteger)
    .option(
      '--update-proj-gap <n>',
      `GaLore subspace refresh interval T (default: ${d.updateProjGap})`,
      positiveInteger,
    )
    .option('--galore-scale <x>', `GaLore scale alpha (default: ${d.scale})`, positiveNumber)
    .addOption(
      new Option('--proj-type <type>', `GaLore projection side (default: ${d.projType})`).choices([
        ...PROJECTION_TYPES,
      ]),
    );
}

/** --optim-dtype, shared by train and memory. */
export function optimDtypeOption(): Option {
  const d = GALORE_ADAMW_DEFAULTS.stateDType;
  return new Option('--optim-dtype <dtype>', `galore_adamw moment dtype (default: ${d})`).choices([...STATE_DTYPES]);
}

/** How createOptimizer picks the rank when --rank is not given (for --help). */
export const DEFAULT_RANK_RULE =
  "the paper's rank for its model sizes (hidden 512: 128, 768: 256, 1024: 256, 2048: 512, 4096: 1024), else hidden size / 4";

/** The rank of the optimizer's projected group (GaLore optimizers have one). */
export function projectionRank(optimizer: TrainableOptimizer): number | undefined {
  const groups = optimizer.paramGroups as readonly { options: { rank?: number } }[];
  return groups.find((g) => g.options.rank !== undefined)?.options.rank;
}

/** Only GaLore AdamW has a choice of moment dtype (the 8-bit ones quantise, Adafactor factors them). */
export function checkOptimDtype(optimizer: string, optimDtype: string | undefined): void {
  if (optimDtype !== undefined && optimizer.replace(/_layerwise$/, '') !== 'galore_adamw') {
    throw new Error(
      `--optim-dtype applies to galore_adamw and galore_adamw_layerwise, not '${optimizer}' (adamw keeps float32 moments, the 8-bit optimizers 8-bit ones)`,
    );
  }
}

export function isLayerwise(name: string): boolean {
  return name.endsWith('_layerwise');
}

export function isGaLore(name: string): boolean {
  return name.startsWith('galore_');
}

/** Checks the name now (a usage error) and returns the factory the Trainer calls with the parameters. */
export function optimizerFactory(flags: OptimizerFlags): OptimizerFactory {
  if (!(OPTIMIZER_NAMES as readonly string[]).includes(flags.optimizer)) {
    throw new Error(`--optimizer '${flags.optimizer}' is not one of ${OPTIMIZER_NAMES.join(', ')}`);
  }
  const galoreOnly = {
    rank: flags.rank,
    updateProjGap: flags.updateProjGap,
    galoreScale: flags.galoreScale,
    projType: flags.projType,
  };
  checkOptimDtype(flags.optimizer, flags.optimDtype);
  const given = Object.entries(galoreOnly)
    .filter(([, v]) => v !== undefined)
    .map(([k]) => k);
  if (!isGaLore(flags.optimizer) && given.length > 0) {
    throw new Error(`${given.map(flagOf).join(', ')} only apply to the galore_* optimizers, not '${flags.optimizer}'`);
  }
  return (named) =>
    createOptimizer(flags.optimizer, named, {
      lr: flags.lr,
      weightDecay: flags.weightDecay,
      ...(flags.rank !== undefined ? { rank: flags.rank } : {}),
      ...(flags.updateProjGap !== undefined ? { updateProjGap: flags.updateProjGap } : {}),
      ...(flags.galoreScale !== undefined ? { scale: flags.galoreScale } : {}),
      ...(flags.projType !== undefined ? { projType: flags.projType as never } : {}),
      ...(flags.targetModules !== undefined ? { targetModules: flags.targetModules } : {}),
      ...(flags.optimDtype !== undefined ? { stateDType: flags.optimDtype } : {}),
      ...(flags.noDecay !== undefined ? { noDecay: flags.noDecay } : {}),
      gradientAccumulationSteps: flags.gradAccum,
    });
}
