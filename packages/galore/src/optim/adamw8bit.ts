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
  groupLabel,
  Optimizer,
  type OptionsInput,
  type ParamGroup,
  type ParamGroupSpec,
  type Tensor,
} from '@galore-ts/core';
import {
  checkEightBitOptions,
  EIGHT_BIT_DEFAULTS,
  type EightBitOptions,
  eightBitAdamStep,
  type StateTensors,
} from './adam-moments.js';

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
  private readonly tensors: StateTensors = {
    get: (state, key, make) => this.stateTensor(state, key, make),
    set: (state, key, value) => this.setState(state, key, value),
  };

  constructor(
    params: readonly Tensor[] | readonly ParamGroupSpec<AdamW8bitOptions>[],
    options: OptionsInput<AdamW8bitOptions> = {},
  ) {
    super(params, options, { defaults: ADAMW8BIT_DEFAULTS });
  }

  protected override validateOptions(o: AdamW8bitOptions, index: number): void {
    const where = groupLabel(this.constructor.name, index);
    checkAdamOptions(where, o);
    checkEightBitOptions(where, o);
  }

  override updateParam(param: Tensor, group: ParamGroup<AdamW8bitOptions>): void {
    const grad = param.grad;
    if (!grad) return;
    // Re-checked each step: a scheduler or setOption may have changed them.
    this.validateOptions(group.options, this.paramGroups.indexOf(group));
    const state = this.stateOf(param);
    const step = (state.values.step ?? 0) + 1;
    eightBitAdamStep(
      this.tensors,
      state,
      param,
      grad,
      group.options,
      adamwKernelParams(adamwStepOf(group.options, step)),
    );
    state.values.step = step;
  }
}
