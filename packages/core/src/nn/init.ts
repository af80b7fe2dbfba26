/** Weight initialisers and the options every layer takes for where and how its parameters live. */
import type { Backend } from '../backend.js';
import type { DType } from '../dtype.js';
import { full, randn } from '../ops/creation.js';
import type { Shape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { createParameter } from './parameter.js';

export interface ParameterOptions {
  /** Storage dtype of the parameters (default float32). */
  dtype?: DType;
  /** Backend they live on (default: the active one). */
  backend?: Backend;
  /**
   * Draw initial values (default true). false fills with zeros instead: cheaper when the values
   * are about to be loaded from a checkpoint.
   */
  initialize?: boolean;
}

/** A parameter drawn from normal(0, std) from the seeded generator (zeros when not initialising). */
export function normalParameter(shape: Shape, std: number, options: ParameterOptions = {}): Tensor {
  if (!(std >= 0)) throw new RangeError(`normalParameter: std must be >= 0, got ${std}`);
  const { dtype = 'float32', backend, initialize = true } = options;
  return createParameter(() =>
    initialize ? randn(shape, { dtype, backend, mean: 0, std }) : full(shape, 0, { dtype, backend }),
  );
}

/** A parameter filled with `value` (ones for norm weights, zeros for biases). */
export function constantParameter(shape: Shape, value: number, options: ParameterOptions = {}): Tensor {
  const { dtype = 'float32', backend } = options;
  return createParameter(() => full(shape, value, { dtype, backend }));
}
