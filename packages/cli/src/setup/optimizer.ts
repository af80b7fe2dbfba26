/**
 * --optimizer and its flags, mapped onto @galore-ts/galore's createOptimizer (which knows every
 * Hugging Face name, adamw included) for the Trainer.
 */
import type { OptimizerFactory } from '@galore-ts/core';
import { createOptimizer, OPTIMIZER_NAMES } from '@galore-ts/galore';
import { flagOf } from '../flag-names.js';

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
      gradientAccumulationSteps: flags.gradAccum,
    });
}

export function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}
