/**
 * The training methods of the GaLore paper's comparison (Table 2), as one switch for the CLI, the
 * memory planner and the benchmark: `full` trains every weight; `lora` adds adapters to a frozen
 * base; `relora` is LoRA restarted every reset_every steps (see ReloraHook); `low_rank` replaces
 * each target weight by B A trained from scratch. GaLore is an optimizer of full weights and does
 * not combine with adapters.
 */
import type { Module } from '../nn/module.js';
import { LoraModel } from './lora-model.js';
import { ALL_LINEAR, type TargetModules } from './targets.js';

export const TRAINING_METHODS = ['full', 'lora', 'relora', 'low_rank'] as const;
export type TrainingMethod = (typeof TRAINING_METHODS)[number];

/**
 * What the paper's baselines train in full beside the adapters when pretraining (ReLoRA's code
 * freezes only the wrapped layers): embeddings, norms, the head.
 */
export const PRETRAINING_MODULES_TO_SAVE: readonly string[] = Object.freeze(['embed_tokens', 'norm', 'lm_head']);

export interface AdapterSettings {
  /** Adapter rank (default: hidden size / 4, the paper's rank-to-width ratio). */
  rank?: number;
  /** Default: the rank (scaling 1). */
  alpha?: number;
  dropout?: number;
  /** Default all-linear (every projection, not lm_head). */
  targetModules?: TargetModules;
  /** Default: nothing (PEFT's fine-tuning); PRETRAINING_MODULES_TO_SAVE for the paper's pretraining runs. */
  modulesToSave?: readonly string[];
}

export function isTrainingMethod(name: string): name is TrainingMethod {
  return (TRAINING_METHODS as readonly string[]).includes(name);
}

/** Refuses a GaLore optimizer with an adapter method (it would project the adapters' gradients). */
export function checkMethodOptimizer(method: TrainingMethod, optimizer: string): void {
  if (method !== 'full' && optimizer.startsWith('galore')) {
    throw new Error(
      `${optimizer} cannot train a ${method} model: GaLore projects the gradients of full weights, and ${method} trains low-rank factors instead; use adamw or adamw_8bit with --method ${method}, or GaLore with --method full`,
    );
  }
}

/** Applies `method` to `model` in place; null for full training. `hiddenSize` sets the default rank. */
export function applyTrainingMethod(
  model: Module,
  method: TrainingMethod,
  settings: AdapterSettings,
  hiddenSize: number,
): LoraModel | null {
  if (!isTrainingMethod(method))
    throw new RangeError(`unknown training method '${String(method)}'; expected one of ${TRAINING_METHODS.join(', ')}`);
  if (method === 'full') {
    const given = Object.entries(settings)
      .filter(([, v]) => v !== undefined)
      .map(([k]) => k);
    if (given.length > 0) throw new Error(`method 'full' takes no adapter settings (got ${given.join(', ')})`);
    return null;
  }
  const r = settings.rank ?? Math.max(1, Math.floor(hiddenSize / 4));
  return LoraModel.inject(
    model,
    {
      r,
      loraAlpha: settings.alpha ?? r,
      loraDropout: settings.dropout ?? 0,
      targetModules: settings.targetModules ?? ALL_LINEAR,
      modulesToSave: settings.modulesToSave ?? [],
    },
    method === 'low_rank' ? 'low_rank' : 'lora',
  );
}
