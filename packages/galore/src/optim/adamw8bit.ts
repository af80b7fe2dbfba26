/**
 * 8-bit AdamW (bitsandbytes' AdamW8bit on its Optimizer2State): both moments stored block-wise
 * quantised (block size 256 or 2048, one float32 absmax per block) against bitsandbytes' dynamic
 * maps (signed for m, unsigned for v); states with fewer than `minQuantizedSize` (4096) elements
 * stay float32, as bitsandbytes' min_8bit_size does. The step is PyTorch's AdamW formula
 *   p <- p (1 - lr wd) - lr / bc1 * m / (sqrt(v / bc2) + eps)
 * GaLoreAdamW8bit runs the same step on projected gradients.
 */
import {
  type AdamHyperParameters,
  adamwKernelParams,
  adamwStepOf,
  checkAdamOptions,
  Optimizer,
  type OptionsInput,
  type ParamGroup,
  type ParamsInput,
  type Tensor,
} from '@galore-ts/core';
import { checkEightBitOptions, EIGHT_BIT_DEFAULTS, type EightBitOptions, eightBitAdamStep } from './adam-moments.js';

export interface AdamW8bitOptions extends AdamHyperParameters, EightBitOptions {}

/** bitsandbytes' AdamW8bit defaults. */
export const ADAMW8BIT_DEFAULTS: Readonly<AdamW8bitOptions> = Object.freeze({
  lr: 1e-3,
  betas: [0.9, 0.999] as const,
  eps: 1e-8,
  weightDecay: 1e-2,
  ...EIGHT_BIT_DEFAULTS,
});

export class AdamW8bit extends Optimizer<AdamW8bitOptions> {
  constructor(params: ParamsInput<AdamW8bitOptions>, options: OptionsInput<AdamW8bitOptions> = {}) {
    super(params, options, { defaults: ADAMW8BIT_DEFAULTS });
  }

  protected override validateOptions(o: AdamW8bitOptions, where: string): void {
    checkAdamOptions(where, o);
    checkEightBitOptions(where, o);
  }

  override updateParam(param: Tensor, group: ParamGroup<AdamW8bitOptions>): void {
    const grad = param.grad;
    if (!grad) return;
    this.recheckOptions(group);
    const state = this.stateOf(param);
    const step = (state.values.step ?? 0) + 1;
    eightBitAdamStep(
      this.stateTensors,
      state,
      param,
      grad,
      group.options,
      adamwKernelParams(adamwStepOf(group.options, step)),
    );
    state.values.step = step;
  }
}
