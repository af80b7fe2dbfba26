/**
 * What every optimizer update shares: the dtype updates compute in, and writing results back into
 * the storages of parameters and state tensors (the model and the optimizer hold those tensor
 * objects, so an update must change their storage, not replace them).
 */
import type { DType } from '../dtype.js';
import { formatShape, shapesEqual } from '../shape.js';
import type { Tensor } from '../tensor.js';

/**
 * Updates compute in float32 (float64 for float64 parameters, which gradient checks use); 16-bit
 * parameters are read into float32, updated, and rounded once when written back.
 */
export function computeDTypeOf(param: { readonly dtype: DType }): DType {
  return param.dtype === 'float64' ? 'float64' : 'float32';
}

/** Overwrites the elements of `target` with those of `value`, rounding to target's dtype. */
export function writeInto(target: Tensor, value: Tensor, where: string): void {
  if (target.size !== value.size) {
    throw new RangeError(`${where}: cannot write ${formatShape(value.shape)} into ${formatShape(target.shape)}`);
  }
  if (target.backend !== value.backend) {
    throw new Error(
      `${where}: the update is on the ${value.backend.name} backend, the target on ${target.backend.name}`,
    );
  }
  const backend = target.backend;
  if (target.dtype !== value.dtype) {
    backend.run('cast', { x: value.storage, out: target.storage }, {});
    return;
  }
  if (target.storage === value.storage) return;
  const flat = { shape: [target.size], strides: [1], offset: 0 };
  backend.run('copy', { src: value.storage, dst: target.storage }, { srcView: flat, dstView: flat });
}

/** Throws unless `grad` matches `param` in shape and both live on one backend. */
export function checkGrad(where: string, param: Tensor, grad: Tensor): void {
  if (!shapesEqual(grad.shape, param.shape)) {
    throw new RangeError(
      `${where}: the gradient has shape ${formatShape(grad.shape)}, expected the parameter's ${formatShape(param.shape)}`,
    );
  }
  if (grad.backend !== param.backend) {
    throw new Error(
      `${where}: the gradient is on the ${grad.backend.name} backend, the parameter on ${param.backend.name}`,
    );
  }
}
