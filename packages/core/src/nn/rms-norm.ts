import { rmsNorm } from '../ops/nn.js';
import type { Tensor } from '../tensor.js';
import { constantParameter, type ParameterOptions } from './init.js';
import { assertSizes } from './linear.js';
import { Module } from './module.js';

export interface RMSNormOptions extends ParameterOptions {
  /** Added to the mean square before the square root (default 1e-6, LLaMA's rms_norm_eps). */
  eps?: number;
}

/** x / sqrt(mean(x^2) + eps) * weight over the last axis; the weight starts at ones. */
export class RMSNorm extends Module {
  readonly eps: number;

  constructor(
    readonly dim: number,
    options: RMSNormOptions = {},
  ) {
    super();
    this.eps = normEps('RMSNorm', dim, options.eps ?? 1e-6);
    this.registerParameter('weight', constantParameter([dim], 1, options));
  }

  get weight(): Tensor {
    return this.getParameter('weight');
  }

  forward(x: Tensor): Tensor {
    return rmsNorm(x, this.weight, this.eps);
  }
}

/** Checks a normalisation layer's feature count and eps, and returns the eps. */
export function normEps(where: string, dim: number, eps: number): number {
  assertSizes(where, { dim });
  if (!(eps > 0)) throw new RangeError(`${where}: eps must be > 0, got ${eps}`);
  return eps;
}
