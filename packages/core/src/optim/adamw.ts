/** AdamW with PyTorch semantics (decoupled weight decay, bias correction; no amsgrad). */
import { zeros } from '../ops/creation.js';
import type { Tensor } from '../tensor.js';
import { adamwStepOf, adamwUpdateFused, adamwUpdateReference } from './adamw-update.js';
import { Optimizer, type OptionsInput, type ParamGroup, type ParamsInput } from './optimizer.js';
import { computeDTypeOf } from './update-helpers.js';
import { type AdamHyperParameters, checkAdamOptions, checkFlag } from './validate.js';

export interface AdamWOptions extends AdamHyperParameters {
  /**
   * Use the backend's fused kernel (the default; it reads 16-bit parameters, updates in float32
   * and rounds once), or the op-by-op reference, which needs several float32 temporaries.
   */
  fused?: boolean;
  /** PyTorch's AMSGrad variant: not implemented, so only false is accepted. */
  amsgrad: boolean;
}

/** torch.optim.AdamW's defaults. */
export const ADAMW_DEFAULTS: Readonly<AdamWOptions> = Object.freeze({
  lr: 1e-3,
  betas: [0.9, 0.999] as const,
  eps: 1e-8,
  weightDecay: 1e-2,
  fused: undefined,
  amsgrad: false,
});

/**
 * Per-parameter state, named as in PyTorch: tensors `exp_avg` and `exp_avg_sq` (float32, float64
 * for float64 params; never 16-bit, so a bf16 param's update computes in float32 and rounds once
 * when written back) and the value `step`.
 */
export class AdamW extends Optimizer<AdamWOptions> {
  constructor(params: ParamsInput<AdamWOptions>, options: OptionsInput<AdamWOptions> = {}) {
    super(params, options, { defaults: ADAMW_DEFAULTS });
  }

  protected override validateOptions(o: AdamWOptions, where: string): void {
    if (o.amsgrad !== false) throw new Error(`${where}: amsgrad is not implemented`);
    checkAdamOptions(where, o);
    checkFlag(where, 'fused', o.fused, true);
  }

  override updateParam(param: Tensor, group: ParamGroup<AdamWOptions>): void {
    const grad = param.grad;
    if (!grad) return;
    this.recheckOptions(group);
    const state = this.stateOf(param);
    const make = () => zeros(param.shape, { dtype: computeDTypeOf(param), backend: param.backend });
    const expAvg = this.stateTensor(state, 'exp_avg', make);
    const expAvgSq = this.stateTensor(state, 'exp_avg_sq', make);
    const step = (state.values.step ?? 0) + 1;
    const update = (group.options.fused ?? true) ? adamwUpdateFused : adamwUpdateReference;
    update(param, grad, expAvg, expAvgSq, adamwStepOf(group.options, step));
    state.values.step = step;
  }
}
