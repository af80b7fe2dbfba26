/** Helpers every op uses: output allocation, backend agreement, broadcasting gradients. */
import type { Backend } from '../backend.js';
import type { DType } from '../dtype.js';
import { currentCategory } from '../engine.js';
import { type Shape, sizeOf } from '../shape.js';
import { Tensor } from '../tensor.js';

/** Allocates an output tensor on `backend` under the current memory category; it reads as zeros. */
export function empty(shape: Shape, dtype: DType, backend: Backend): Tensor {
  return allocate(shape, dtype, backend, false);
}

/**
 * Allocates the output of a kernel that writes every one of its elements (backend.ts says which
 * do): its memory is not cleared first, so a recycled CPU array holds old values until the kernel
 * runs. Never for an output a kernel accumulates into or writes only in part.
 */
export function uninitialized(shape: Shape, dtype: DType, backend: Backend): Tensor {
  return allocate(shape, dtype, backend, true);
}

function allocate(shape: Shape, dtype: DType, backend: Backend, uninit: boolean): Tensor {
  if (!backend.supportsDType(dtype)) throw new Error(`the ${backend.name} backend does not support dtype ${dtype}`);
  return Tensor.fromStorage(backend.alloc(sizeOf(shape), dtype, currentCategory(), uninit), shape);
}

/** The backend all inputs live on; throws naming both when they differ. */
export function backendOf(where: string, ...tensors: Tensor[]): Backend {
  const first = tensors[0]!.backend;
  for (const t of tensors) {
    if (t.backend !== first) {
      throw new Error(
        `${where}: tensors are on different backends (${first.name} and ${t.backend.name}); move one with toBackend()`,
      );
    }
  }
  return first;
}

/** Sums `grad` over the axes along which an input of `shape` was broadcast, returning `shape`. */
export function reduceToShape(
  grad: Tensor,
  shape: Shape,
  sum: (t: Tensor, axes: number[], keepdim: boolean) => Tensor,
): Tensor {
  if (grad.shape.length === shape.length && grad.shape.every((d, i) => d === shape[i])) return grad;
  const lead = grad.shape.length - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < grad.shape.length; i++) {
    if (i < lead || (shape[i - lead] === 1 && grad.shape[i] !== 1)) axes.push(i);
  }
  const summed = axes.length > 0 ? sum(grad, axes, true) : grad;
  const out = summed.reshape([...shape]);
  if (summed !== grad) summed.dispose();
  return out;
}
