/**
 * GaLore AdamW with 8-bit moments (galore_torch/adamw8bit.py): AdamW8bit's step and moment storage
 * (see adamw8bit.ts) for groups without `rank`; for a projected weight the step runs on R with
 * weight decay 0 and is projected back (scaled by alpha), and the decay lr * wd * W is then
 * applied to the full weight, as the official code does.
 *
 * One deliberate difference: the official code lets bitsandbytes write the low-rank step into a
 * scratch of the parameter's dtype (bf16 for a bf16 model); here the scratch is float32, so the
 * step is rounded once, when it is added into the weight.
 */
import {
  adamwKernelParams,
  adamwStepOf,
  checkAdamOptions,
  type ParamGroup,
  type ParamState,
  type Tensor,
} from '@galore-ts/core';
import type { GaLoreProjector } from '../projection/projector.js';
import type { BasisChange } from '../projection/subspace-change.js';
import {
  changeEightBitMoments,
  checkEightBitOptions,
  eightBitAdamStep,
  FLOAT_MOMENT_KEYS,
  QUANTIZED_MOMENT_KEYS,
} from './adam-moments.js';
import { ADAMW8BIT_DEFAULTS, type AdamW8bitOptions } from './adamw8bit.js';
import { GaLoreOptimizer, type StepCounts } from './galore-optimizer.js';
import { GALORE_GROUP_DEFAULTS, type GaLoreGroupOptions } from './options.js';

export interface GaLoreAdamW8bitOptions extends GaLoreGroupOptions, AdamW8bitOptions {
  lr: number;
}

/** bitsandbytes' AdamW8bit defaults, plus GaLore's. */
export const GALORE_ADAMW8BIT_DEFAULTS: Readonly<GaLoreAdamW8bitOptions> = Object.freeze({
  ...GALORE_GROUP_DEFAULTS,
  ...ADAMW8BIT_DEFAULTS,
});

export class GaLoreAdamW8bit extends GaLoreOptimizer<GaLoreAdamW8bitOptions> {
  static readonly defaults = GALORE_ADAMW8BIT_DEFAULTS;

  protected override validateOptions(o: GaLoreAdamW8bitOptions, where: string): void {
    checkAdamOptions(where, o);
    checkEightBitOptions(where, o);
    this.checkGaLore(where, o);
  }

  protected override updateFull(
    param: Tensor,
    grad: Tensor,
    group: ParamGroup<GaLoreAdamW8bitOptions>,
    state: ParamState,
    t: StepCounts,
  ): void {
    const o = group.options;
    eightBitAdamStep(this.stateTensors, state, param, grad, o, adamwKernelParams(adamwStepOf(o, t.momentStep)));
  }

  protected override updateLowRank(
    param: Tensor,
    low: Tensor,
    projector: GaLoreProjector,
    group: ParamGroup<GaLoreAdamW8bitOptions>,
    state: ParamState,
    t: StepCounts,
  ): void {
    const o = group.options;
    // step = -1 / bc1 * m / (sqrt(v / bc2) + eps): the inner step at lr 1, no decay, from zero.
    const inner = adamwKernelParams(adamwStepOf({ ...o, lr: 1, weightDecay: 0 }, t.momentStep));
    this.addProjectedStep(param, low, projector, o, (step) =>
      eightBitAdamStep(this.stateTensors, state, step, low, o, inner),
    );
  }

  protected override resetMoments(state: ParamState): void {
    this.dropState(state, [...FLOAT_MOMENT_KEYS, ...QUANTIZED_MOMENT_KEYS]);
  }

  protected override changeMoments(state: ParamState, change: BasisChange): void {
    changeEightBitMoments(this.stateTensors, state, change, this.constructor.name);
  }
}
