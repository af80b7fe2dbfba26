import { layerNorm } from '../ops/nn.js';
import type { Tensor } from '../tensor.js';
import { constantParameter, type ParameterOptions } from './init.js';
import { Module } from './module.js';
import { normEps } from './rms-norm.js';

export interface LayerNormOptions extends ParameterOptions {
  /** Added to the variance before the square root (default 1e-5, PyTorch's nn.LayerNorm). */
  eps?: number;
}

/**
 * (x - mean) / sqrt(var + eps) * weight + bias over the last axis, as PyTorch's nn.LayerNorm
 * with its affine parameters; the weight starts at ones and the bias at zeros.
 */
export class LayerNorm extends Module {
  readonly eps: number;

  constructor(
    readonly dim: number,
    options: LayerNormOptions = {},
  ) {
    super();
    this.eps = normEps('LayerNorm', dim, options.eps ?? 1e-5);
    this.registerParameter('weight', constantParameter([dim], 1, options));
    this.registerParameter('bias', constantParameter([dim], 0, options));
  }

  get weight(): Tensor {
    return this.getParameter('weight');
  }

  get bias(): Tensor {
    return this.getParameter('bias');
  }

  forward(x: Tensor): Tensor {
    return layerNorm(x, this.weight, this.bias, this.eps);
  }
}
