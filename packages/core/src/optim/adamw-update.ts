/**
 * One AdamW update of one tensor, as PyTorch defines it (torch.optim.AdamW, amsgrad off):
 *
 *   p   <- p * (1 - lr * wd)                       decoupled weight decay, applied first
 *   m   <- beta1 * m + (1 - beta1) * g             exp_avg
 *   v   <- beta2 * v + (1 - beta2) * g^2           exp_avg_sq
 *   p   <- p - lr / bc1 * m / (sqrt(v) / sqrt(bc2) + eps),   bc_i = 1 - beta_i^step
 *
 * Two implementations that tests hold against each other: a readable reference composed of tensor
 * ops, and the fused one that makes one `backend.adamw` call. Both update param, expAvg and
 * expAvgSq in place. GaLore reuses them on projected gradients.
 */
import type { AdamWParams } from '../backend.js';
import { tidy } from '../engine.js';
import { add, cast, div, mul, sqrt, square, sub } from '../ops/elementwise.js';
import type { Tensor } from '../tensor.js';
import { checkGrad, computeDTypeOf, writeInto } from './update-helpers.js';
import type { AdamHyperParameters } from './validate.js';

export interface AdamWStep {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** The 1-based number of this update (bias correction uses beta^step). */
  step: number;
}

/** Step `step` of an optimizer with Adam hyper-parameters `o`. */
export function adamwStepOf(o: AdamHyperParameters, step: number): AdamWStep {
  return { lr: o.lr, beta1: o.betas[0], beta2: o.betas[1], eps: o.eps, weightDecay: o.weightDecay, step };
}

/** The fused kernel's parameters for this step (bias corrections precomputed). */
export function adamwKernelParams(h: AdamWStep): AdamWParams {
  if (!(Number.isInteger(h.step) && h.step >= 1))
    throw new RangeError(`AdamW: step must be an integer >= 1, got ${h.step}`);
  return {
    lr: h.lr,
    beta1: h.beta1,
    beta2: h.beta2,
    eps: h.eps,
    weightDecay: h.weightDecay,
    biasCorrection1: 1 - h.beta1 ** h.step,
    biasCorrection2: 1 - h.beta2 ** h.step,
  };
}

function checkOperands(where: string, param: Tensor, grad: Tensor, expAvg: Tensor, expAvgSq: Tensor): void {
  checkGrad(where, param, grad);
  for (const [name, t] of [
    ['exp_avg', expAvg],
    ['exp_avg_sq', expAvgSq],
  ] as const) {
    if (t.size !== param.size)
      throw new RangeError(`${where}: ${name} has ${t.size} elements, the parameter ${param.size}`);
    if (t.backend !== param.backend)
      throw new Error(`${where}: ${name} is on the ${t.backend.name} backend, the parameter on ${param.backend.name}`);
  }
}

/** The reference update, op by op in float32 (float64 for float64 params). */
export function adamwUpdateReference(
  param: Tensor,
  grad: Tensor,
  expAvg: Tensor,
  expAvgSq: Tensor,
  h: AdamWStep,
): void {
  const where = 'adamwUpdateReference';
  checkOperands(where, param, grad, expAvg, expAvgSq);
  const { lr, beta1, beta2, eps, weightDecay, biasCorrection1, biasCorrection2 } = adamwKernelParams(h);
  const dtype = computeDTypeOf(param);
  // Nested scopes free each intermediate as soon as the next stage has used it, so at most about
  // four parameter-sized temporaries live at once.
  tidy(() => {
    const g = cast(grad, dtype);
    tidy(() => writeInto(expAvg, add(mul(cast(expAvg, dtype), beta1), mul(g, 1 - beta1)), where));
    tidy(() => writeInto(expAvgSq, add(mul(cast(expAvgSq, dtype), beta2), mul(square(g), 1 - beta2)), where));
  });
  tidy(() => {
    const direction = tidy(() => {
      const denom = tidy(() => add(div(sqrt(cast(expAvgSq, dtype)), Math.sqrt(biasCorrection2)), eps));
      return mul(div(cast(expAvg, dtype), denom), lr / biasCorrection1);
    });
    tidy(() => {
      const p = cast(param, dtype);
      const decayed = weightDecay !== 0 ? mul(p, 1 - lr * weightDecay) : p;
      writeInto(param, sub(decayed, direction), where);
    });
  });
}

/** The fused update: one backend kernel, no temporaries. */
export function adamwUpdateFused(param: Tensor, grad: Tensor, expAvg: Tensor, expAvgSq: Tensor, h: AdamWStep): void {
  checkOperands('adamwUpdateFused', param, grad, expAvg, expAvgSq);
  param.backend.run(
    'adamw',
    { param: param.storage, grad: grad.storage, m: expAvg.storage, v: expAvgSq.storage },
    adamwKernelParams(h),
  );
}
