/**
 * ReLoRA (Lialin et al. 2023) as a Trainer hook: every `resetEvery` steps the adapters are merged
 * into their base weights and started afresh, and the adapters' optimizer state is pruned (or
 * reset). Pair it with jaggedCosine(), which re-warms the rate after each restart. A full-rank
 * warm start is a model trained in full first (a checkpoint folder to start from).
 */
import type { TrainableOptimizer, TrainerHook } from '../train/interfaces.js';
import type { LoraModel } from './lora-model.js';
import { OPTIMIZER_RESETS, type OptimizerReset, resetOptimizerState } from './optimizer-pruning.js';

export interface ReloraOptions {
  /** Steps between merge-and-reinit restarts. */
  resetEvery: number;
  /** What happens to the adapters' optimizer state at a restart (default 'prune'). */
  optimizerReset?: OptimizerReset;
  /** Fraction of each state tensor zeroed by magnitude when pruning (default 0.99). */
  pruneRatio?: number;
}

export class ReloraHook implements TrainerHook {
  readonly resetEvery: number;
  readonly optimizerReset: OptimizerReset;
  readonly pruneRatio: number;
  /** Restarts done in this session. */
  restarts = 0;

  constructor(
    readonly adapted: LoraModel,
    options: ReloraOptions,
  ) {
    if (adapted.method !== 'lora')
      throw new Error(`ReLoRA needs LoRA adapters with a base weight, not ${adapted.method}`);
    if (!Number.isInteger(options.resetEvery) || options.resetEvery < 1)
      throw new RangeError(`ReLoRA: resetEvery must be a positive integer, got ${String(options.resetEvery)}`);
    this.resetEvery = options.resetEvery;
    this.optimizerReset = options.optimizerReset ?? 'prune';
    this.pruneRatio = options.pruneRatio ?? 0.99;
    if (!OPTIMIZER_RESETS.includes(this.optimizerReset))
      throw new RangeError(
        `ReLoRA: optimizerReset must be one of ${OPTIMIZER_RESETS.join(', ')}, got ${String(this.optimizerReset)}`,
      );
    if (!(this.pruneRatio >= 0 && this.pruneRatio <= 1))
      throw new RangeError(`ReLoRA: pruneRatio must be in [0, 1], got ${String(this.pruneRatio)}`);
  }

  async afterStep({ step, optimizer }: { step: number; optimizer: TrainableOptimizer }): Promise<void> {
    if (step % this.resetEvery !== 0) return;
    this.adapted.mergeAndReinit();
    const params = this.adapted.adapterParameters().map(([, p]) => p);
    await resetOptimizerState(optimizer, params, this.optimizerReset, this.pruneRatio);
    this.restarts++;
  }
}
