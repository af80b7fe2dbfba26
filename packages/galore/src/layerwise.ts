/**
 * Per-layer weight updates: each parameter is stepped from inside the backward pass, through its
 * `onGradReady` hook, as soon as its gradient is complete, and the gradient is freed at once, so no
 * full set of gradients ever lives at the same time (the paper's "per-layer weight updates").
 *
 * What the official script and Hugging Face's integration get wrong, and what this does instead:
 * - One optimizer (not one per parameter) and one real step per `backward()` of the last
 *   micro-batch: learning-rate schedules and the projection gap count real optimizer steps; there
 *   is no doubling of T or of the schedule.
 * - Gradient accumulation works. Between refreshes a projected weight's micro-batch gradients are
 *   projected at once and summed in R's shape (r x n), and the full gradient is freed; since the
 *   projection is linear, the sum of projections is the projection of the sum. On a refresh step
 *   (and for unprojected parameters) the full gradient is kept and accumulated by autograd,
 *   because the SVD must see the whole accumulated gradient.
 * - The reported gradient norm is computed from the gradients actually used, before they are
 *   freed. It is exact when every parameter's full accumulated gradient was seen (no accumulation,
 *   or only full-gradient parameters); with projected accumulation it is the norm of what the
 *   optimizer received (R for those weights), and says so (`exact: false`).
 * - Clipping by the global norm needs every gradient before the first update, which per-layer
 *   updates never have: asking for it is refused with an error instead of silently not clipping.
 */

import type { GroupOptions } from '@galore-ts/core';
import {
  add,
  keep,
  matmulInto,
  noGrad,
  normalizeOptions,
  type Optimizer,
  type OptionsInput,
  type ParamGroup,
  type SkippedUpdate,
  type Tensor,
  tidy,
  withCategory,
  zeros,
} from '@galore-ts/core';
import { GaLoreOptimizer } from './optim/galore-optimizer.js';
import type { GaLoreGroupOptions } from './optim/options.js';

export interface LayerwiseOptions {
  /** Micro-batches per optimizer step (default 1). */
  accumulationSteps?: number;
  /** Refused when > 0: see the module comment. */
  maxGradNorm?: number;
  /** Stepped once after each real optimizer step (e.g. core's LRScheduler). */
  scheduler?: { step(): void };
}

const LAYERWISE_OPTIONS = ['accumulationSteps', 'maxGradNorm', 'scheduler'];

export interface LayerwiseStepResult {
  /** Whether this backward completed an optimizer step. */
  stepped: boolean;
  /** Micro-batch index (0-based) this backward was. */
  microBatch: number;
  /** Updates of this step skipped for a non-finite gradient (as Optimizer.step() reports them). */
  skipped: SkippedUpdate[];
}

export interface GradNormReading {
  value: number;
  /** false when projected accumulation hid part of the full gradient (see the module comment). */
  exact: boolean;
}

export class LayerwiseUpdater {
  readonly accumulationSteps: number;
  /** Optimizer steps completed. */
  stepCount = 0;
  private microBatch = 0;
  private active = false;
  private finalMicroBatch = false;
  private readonly galore: GaLoreOptimizer<GaLoreGroupOptions> | null;
  private readonly groups = new Map<Tensor, ParamGroup<GroupOptions>>();
  private readonly accumulated = new Map<Tensor, Tensor>();
  private readonly stepped = new Set<Tensor>();
  private readonly skipped: SkippedUpdate[] = [];
  private readonly removers: (() => void)[] = [];
  private squares: Tensor | null = null;
  private squaresExact = true;
  private lastNorm: { squares: Tensor; exact: boolean } | null = null;
  private readonly scheduler: { step(): void } | undefined;

  constructor(
    readonly optimizer: Optimizer<GroupOptions>,
    given: OptionsInput<LayerwiseOptions> = {},
  ) {
    const options: LayerwiseOptions = normalizeOptions('LayerwiseUpdater', given, LAYERWISE_OPTIONS, {
      gradient_accumulation_steps: 'accumulationSteps',
    });
    const steps = options.accumulationSteps ?? 1;
    if (!Number.isInteger(steps) || steps < 1) {
      throw new RangeError(`LayerwiseUpdater: accumulationSteps must be an integer >= 1, got ${String(steps)}`);
    }
    if (options.maxGradNorm !== undefined && options.maxGradNorm !== 0) {
      throw new Error(
        `LayerwiseUpdater: gradient clipping (maxGradNorm ${options.maxGradNorm}) is not possible with per-layer updates: clipping by the global norm needs every gradient before the first parameter is updated, and per-layer updates free each gradient as soon as it is used. Turn clipping off (maxGradNorm 0) or train without _layerwise.`,
      );
    }
    this.accumulationSteps = steps;
    this.scheduler = options.scheduler;
    this.galore = optimizer instanceof GaLoreOptimizer ? (optimizer as GaLoreOptimizer<GaLoreGroupOptions>) : null;
    for (const group of optimizer.paramGroups) {
      for (const p of group.params) {
        if (this.groups.has(p)) continue;
        this.groups.set(p, group);
        this.removers.push(p.onGradReady((t) => this.onGradReady(t)));
      }
    }
  }

  /** Runs loss.backward() with per-layer updates; steps the optimizer on the last micro-batch. */
  backward(loss: Tensor): LayerwiseStepResult {
    const microBatch = this.microBatch;
    this.finalMicroBatch = microBatch === this.accumulationSteps - 1;
    this.active = true;
    try {
      loss.backward();
    } finally {
      this.active = false;
    }
    if (!this.finalMicroBatch) {
      this.microBatch++;
      return { stepped: false, microBatch, skipped: [] };
    }
    this.finishStep();
    const skipped = this.skipped.splice(0);
    this.microBatch = 0;
    this.stepCount++;
    this.scheduler?.step();
    return { stepped: true, microBatch, skipped };
  }

  /** The gradient norm of the last completed step (synchronous read: CPU backend). */
  gradNorm(): GradNormReading | null {
    if (!this.lastNorm) return null;
    return { value: Math.sqrt(this.lastNorm.squares.itemSync()), exact: this.lastNorm.exact };
  }

  /** The gradient norm of the last completed step, on any backend. */
  async gradNormAsync(): Promise<GradNormReading | null> {
    if (!this.lastNorm) return null;
    const { squares, exact } = this.lastNorm;
    return { value: Math.sqrt(await squares.item()), exact };
  }

  /** Removes the hooks and frees what the updater holds. */
  dispose(): void {
    for (const remove of this.removers.splice(0)) remove();
    for (const t of this.accumulated.values()) t.dispose();
    this.accumulated.clear();
    this.squares?.dispose();
    this.squares = null;
    this.lastNorm?.squares.dispose();
    this.lastNorm = null;
  }

  private onGradReady(param: Tensor): void {
    // Outside backward() (a plain loss.backward()), gradients accumulate as usual.
    if (!this.active || !param.grad) return;
    if (this.finalMicroBatch) {
      this.stepNow(param);
      return;
    }
    const galore = this.galore;
    if (galore?.isProjected(param) && !galore.needsFullGradient(param)) {
      const low = galore.projectGradient(param, param.grad);
      this.accumulate(param, low);
      param.zeroGrad();
    }
    // Otherwise the full gradient stays in param.grad and autograd adds the next micro-batch to it.
  }

  private accumulate(param: Tensor, low: Tensor): void {
    const previous = this.accumulated.get(param);
    if (!previous) {
      this.accumulated.set(param, keep(low));
      return;
    }
    const sum = keep(noGrad(() => withCategory('gradient', () => add(previous, low))));
    previous.dispose();
    low.dispose();
    this.accumulated.set(param, sum);
  }

  private stepNow(param: Tensor): void {
    const group = this.groups.get(param)!;
    const partial = this.accumulated.get(param);
    if (partial && this.galore) {
      this.accumulated.delete(param);
      let total = partial;
      if (param.grad) {
        const last = this.galore.projectGradient(param, param.grad);
        total = keep(noGrad(() => withCategory('gradient', () => add(partial, last))));
        partial.dispose();
        last.dispose();
      }
      this.addSquares(total, false);
      const skip = this.galore.stepProjectedGradient(param, total);
      if (skip) this.skipped.push(skip);
      total.dispose();
    } else if (param.grad) {
      this.addSquares(param.grad, true);
      const skip = this.optimizer.stepParam(param, group);
      if (skip) this.skipped.push(skip);
    }
    param.zeroGrad();
    this.stepped.add(param);
  }

  /** Parameters that had gradients in earlier micro-batches but none in the last one. */
  private finishStep(): void {
    for (const param of this.groups.keys()) {
      if (this.stepped.has(param)) continue;
      if (param.grad || this.accumulated.has(param)) this.stepNow(param);
    }
    this.stepped.clear();
    this.lastNorm?.squares.dispose();
    const squares = this.squares ?? keep(zeros([], { dtype: 'float32', backend: this.anyBackend() }));
    this.lastNorm = { squares, exact: this.squaresExact };
    this.squares = null;
    this.squaresExact = true;
  }

  /** Adds ||g||^2 to the running sum: one 1 x N by N x 1 product, float32 accumulation, no temporary. */
  private addSquares(g: Tensor, exact: boolean): void {
    noGrad(() =>
      withCategory('other', () => {
        const part = tidy(() => {
          const flat = g.shareAs([1, g.size]);
          const out = zeros([1, 1], { dtype: 'float32', backend: g.backend });
          matmulInto(out, flat, flat.T);
          return out.reshape([]);
        });
        const next = this.squares ? tidy(() => add(this.squares!, part)) : part;
        if (next !== part) part.dispose();
        this.squares?.dispose();
        this.squares = keep(next);
      }),
    );
    if (!exact && this.accumulationSteps > 1) this.squaresExact = false;
  }

  private anyBackend() {
    const first = this.groups.keys().next().value as Tensor;
    return first.backend;
  }
}
