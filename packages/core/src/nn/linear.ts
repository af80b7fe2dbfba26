import { linear } from '../ops/nn.js';
import { formatShape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { constantParameter, normalParameter, type ParameterOptions } from './init.js';
import { Module } from './module.js';

export interface LinearOptions extends ParameterOptions {
  /** Add a bias (default false: LLaMA's projections have none). */
  bias?: boolean;
  /** Standard deviation of the normal initialisation (default 0.02, LLaMA's initializer_range). */
  initStd?: number;
  /** Use this existing parameter as the weight (tied weights, e.g. lm_head = embed_tokens). */
  tiedWeight?: Tensor;
}

/** y = x W^T (+ b), with W stored [out, in] as in PyTorch. */
export class Linear extends Module {
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    options: LinearOptions = {},
  ) {
    super();
    assertPositiveInteger('Linear', 'inFeatures', inFeatures);
    assertPositiveInteger('Linear', 'outFeatures', outFeatures);
    const tied = options.tiedWeight;
    if (tied && (tied.rank !== 2 || tied.shape[0] !== outFeatures || tied.shape[1] !== inFeatures)) {
      throw new RangeError(
        `Linear: tiedWeight must have shape [${outFeatures}, ${inFeatures}], got ${formatShape(tied.shape)}`,
      );
    }
    this.registerParameter(
      'weight',
      tied ?? normalParameter([outFeatures, inFeatures], options.initStd ?? 0.02, options),
    );
    if (options.bias) this.registerParameter('bias', constantParameter([outFeatures], 0, options));
  }

  get weight(): Tensor {
    return this.getParameter('weight');
  }

  get bias(): Tensor | undefined {
    return this.hasParameter('bias') ? this.getParameter('bias') : undefined;
  }

  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }
}

export function assertPositiveInteger(where: string, what: string, value: number): void {
  if (!Number.isInteger(value) || value <= 0)
    throw new RangeError(`${where}: ${what} must be a positive integer, got ${value}`);
}
