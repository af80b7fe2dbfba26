/** Stochastic gradient descent with momentum, dampening, Nesterov and L2 weight decay (PyTorch semantics). */
import { tidy } from '../engine.js';
import { add, cast, clone, mul, sub } from '../ops/elementwise.js';
import type { Tensor } from '../tensor.js';
import { type GroupOptions, Optimizer, type OptionsInput, type ParamGroup, type ParamsInput } from './optimizer.js';
import { checkGrad, computeDTypeOf, writeInto } from './update-helpers.js';
import { checkFlag, checkOption, nonNegative } from './validate.js';

export interface SGDOptions extends GroupOptions {
  lr: number;
  momentum: number;
  /** The momentum buffer takes (1 - dampening) of each new gradient. */
  dampening: number;
  /** Step along g + momentum * buf instead of buf (needs momentum > 0 and dampening 0). */
  nesterov: boolean;
  /** L2 penalty: wd * p is added to the gradient (coupled, unlike AdamW). */
  weightDecay: number;
}

/** torch.optim.SGD's defaults. */
export const SGD_DEFAULTS: Readonly<SGDOptions> = Object.freeze({
  lr: 1e-3,
  momentum: 0,
  dampening: 0,
  nesterov: false,
  weightDecay: 0,
});

/**
 * Per step, with d = g + wd * p:
 *   buf <- d on the first step, else momentum * buf + (1 - dampening) * d
 *   d   <- nesterov ? d + momentum * buf : buf        (when momentum > 0)
 *   p   <- p - lr * d
 * State: the tensor `momentum_buffer` (float32; float64 for float64 params), only when momentum > 0.
 */
export class SGD extends Optimizer<SGDOptions> {
  constructor(params: ParamsInput<SGDOptions>, options: OptionsInput<SGDOptions> = {}) {
    super(params, options, { defaults: SGD_DEFAULTS });
  }

  protected override validateOptions(o: SGDOptions, where: string): void {
    checkOption(where, 'lr', o.lr, nonNegative, 'a finite number >= 0');
    checkOption(where, 'momentum', o.momentum, nonNegative, 'a finite number >= 0');
    checkOption(where, 'dampening', o.dampening, Number.isFinite, 'a finite number');
    checkOption(where, 'weightDecay', o.weightDecay, nonNegative, 'a finite number >= 0');
    checkFlag(where, 'nesterov', o.nesterov);
    if (o.nesterov && (o.momentum <= 0 || o.dampening !== 0)) {
      throw new RangeError(
        `${where}: nesterov needs momentum > 0 and dampening 0, got momentum ${o.momentum} and dampening ${o.dampening}`,
      );
    }
  }

  override updateParam(param: Tensor, group: ParamGroup<SGDOptions>): void {
    const grad = param.grad;
    if (!grad) return;
    checkGrad('SGD', param, grad);
    this.recheckOptions(group);
    const { lr, momentum, dampening, nesterov, weightDecay } = group.options;
    // Nested scopes free each intermediate once used: at most about four parameter-sized temporaries.
    tidy(() => {
      const dtype = computeDTypeOf(param);
      const g = cast(grad, dtype);
      const d = weightDecay !== 0 ? tidy(() => add(g, mul(cast(param, dtype), weightDecay))) : g;
      let direction = d;
      if (momentum !== 0) {
        const buf = this.advanceMomentum(param, d, momentum, dampening);
        direction = nesterov ? tidy(() => add(d, mul(buf, momentum))) : buf;
      }
      tidy(() => writeInto(param, sub(cast(param, dtype), mul(direction, lr)), 'SGD'));
    });
  }

  /** Updates (or creates, from the first direction) the momentum buffer and returns it. */
  private advanceMomentum(param: Tensor, d: Tensor, momentum: number, dampening: number): Tensor {
    const state = this.stateOf(param);
    const buf = state.tensors.momentum_buffer;
    if (!buf) {
      const created = this.newState(() => clone(d));
      state.tensors.momentum_buffer = created;
      return created;
    }
    tidy(() => writeInto(buf, add(mul(buf, momentum), mul(d, 1 - dampening)), 'SGD'));
    return buf;
  }
}
