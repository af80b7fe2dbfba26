/**
 * GaLore AdamW, the official update (galore_torch/adamw.py, which follows Hugging Face's AdamW):
 *
 *   R = project(G)                                  (projected groups only)
 *   m = b1 m + (1 - b1) R,  v = b2 v + (1 - b2) R^2
 *   N = m / (sqrt(v) + eps)
 *   W -= lr * sqrt(1 - b2^t) / (1 - b1^t) * projectBack(N)       (projectBack scales by alpha)
 *   W -= lr * weightDecay * W                         (after the step, on the full weight, no alpha)
 *
 * with t the parameter's own step count. Groups without `rank` get the same update with R = G and
 * no projection: that is the official class too, whose eps sits outside the bias correction
 * (unlike torch.optim.AdamW, whose eps is added to sqrt(v / (1 - b2^t))).
 *
 * Both run on the backend's fused AdamW kernel: with eps' = eps / sqrt(1 - b2^t) the kernel's
 * PyTorch form equals the formula above. For a projected weight the kernel writes -step * N into a
 * scratch of R's shape, which the projector adds back into W (GaLoreOptimizer.addProjectedStep).
 */
import {
  type AdamHyperParameters,
  checkAdamOptions,
  checkFlag,
  type ParamGroup,
  type ParamState,
  runKernel,
  type Tensor,
  zeros,
} from '@galore-ts/core';
import type { GaLoreProjector } from '../projection/projector.js';
import type { BasisChange } from '../projection/subspace-change.js';
import { checkStateDType, officialAdamKernelParams, type StateDType } from './adam-math.js';
import { changeFloatMoments, FLOAT_MOMENT_KEYS } from './adam-moments.js';
import { scaleInPlace } from './decay.js';
import { GaLoreOptimizer, type StepCounts } from './galore-optimizer.js';
import { GALORE_GROUP_DEFAULTS, type GaLoreGroupOptions } from './options.js';

/** `eps` is added to sqrt(v) before bias correction (official default 1e-6). */
export interface GaLoreAdamWOptions extends GaLoreGroupOptions, AdamHyperParameters {
  lr: number;
  /** Bias-correct the step size (official `correct_bias`). */
  correctBias: boolean;
  /** Dtype of the moments: float32 (default) or bfloat16 (half the memory, as the paper counts BF16). */
  stateDType: StateDType;
}

/** The official class's defaults. */
export const GALORE_ADAMW_DEFAULTS: Readonly<GaLoreAdamWOptions> = Object.freeze({
  ...GALORE_GROUP_DEFAULTS,
  lr: 1e-3,
  betas: [0.9, 0.999] as const,
  eps: 1e-6,
  weightDecay: 0,
  correctBias: true,
  stateDType: 'float32' as StateDType,
});

export class GaLoreAdamW extends GaLoreOptimizer<GaLoreAdamWOptions> {
  static readonly defaults = GALORE_ADAMW_DEFAULTS;

  protected override validateOptions(o: GaLoreAdamWOptions, where: string): void {
    checkAdamOptions(where, o);
    checkFlag(where, 'correctBias', o.correctBias);
    checkStateDType(where, o.stateDType);
    this.checkGaLore(where, o);
  }

  protected override updateFull(
    param: Tensor,
    grad: Tensor,
    group: ParamGroup<GaLoreAdamWOptions>,
    state: ParamState,
    t: StepCounts,
  ): void {
    const o = group.options;
    const { m, v } = this.moments(state, param.shape, param, o.stateDType);
    runKernel('adamw', { param, grad, m, v }, officialAdamKernelParams(o, o.correctBias, t.momentStep, o.lr));
    scaleInPlace(param, 1 - o.lr * o.weightDecay, this.constructor.name);
  }

  protected override updateLowRank(
    param: Tensor,
    low: Tensor,
    projector: GaLoreProjector,
    group: ParamGroup<GaLoreAdamWOptions>,
    state: ParamState,
    t: StepCounts,
  ): void {
    const o = group.options;
    const { m, v } = this.moments(state, low.shape, low, o.stateDType);
    // step = -sqrt(bc2) / bc1 * N: the kernel at lr 1 on a zero "parameter".
    const inner = officialAdamKernelParams(o, o.correctBias, t.momentStep, 1);
    this.addProjectedStep(param, low, projector, o, (step) =>
      runKernel('adamw', { param: step, grad: low, m, v }, inner),
    );
  }

  protected override resetMoments(state: ParamState): void {
    this.dropState(state, FLOAT_MOMENT_KEYS);
  }

  protected override changeMoments(state: ParamState, change: BasisChange): void {
    changeFloatMoments(this.stateTensors, state, change);
  }

  private moments(
    state: ParamState,
    shape: readonly number[],
    like: Tensor,
    stateDType: StateDType,
  ): { m: Tensor; v: Tensor } {
    const dtype = like.dtype === 'float64' ? 'float64' : stateDType;
    const make = () => zeros(shape, { dtype, backend: like.backend });
    return { m: this.stateTensor(state, 'exp_avg', make), v: this.stateTensor(state, 'exp_avg_sq', make) };
  }
}
