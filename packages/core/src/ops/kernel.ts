/**
 * Ops for code above core that works on tensors it owns: an uninitialised tensor, any declared
 * kernel (core's or one a package added) run on tensors, and a matrix product written into a
 * chosen output. None records autograd; every storage stays behind the Tensor.
 */
import type { KernelIO, KernelParams } from '../backend.js';
import { getBackend } from '../engine.js';
import { assertValidShape, formatShape, type Shape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import type { CreationOptions } from './creation.js';
import { backendOf, empty as emptyOn } from './util.js';

/** A tensor whose elements are whatever its memory held: for outputs a kernel overwrites entirely. */
export function empty(shape: Shape, options: Omit<CreationOptions, 'requiresGrad'> = {}): Tensor {
  assertValidShape(shape, 'empty');
  return emptyOn(shape, options.dtype ?? 'float32', options.backend ?? getBackend());
}

/**
 * Runs the kernel declared as `name` on the storages of `tensors` (by the kernel's argument names),
 * which must all live on one backend. Outputs are written in place.
 */
export function runKernel<K extends string>(
  name: K,
  tensors: { [R in keyof KernelIO<K>]: Tensor },
  params: KernelParams<K>,
): void {
  const list = Object.values(tensors) as Tensor[];
  const backend = backendOf(name, ...list);
  const storages: Record<string, unknown> = {};
  for (const [role, t] of Object.entries(tensors) as [string, Tensor][]) storages[role] = t.storage;
  backend.run(name, storages as KernelIO<K>, params);
}

/**
 * out (m x n) = a (m x k) @ b (k x n), or out += a @ b with `accumulate`, written into `out`'s
 * storage (rounded once to its dtype). a and b may be lazy `.T` views: they are read through the
 * kernel's transpose flags, never copied.
 */
export function matmulInto(out: Tensor, a: Tensor, b: Tensor, options: { accumulate?: boolean } = {}): void {
  const where = 'matmulInto';
  if (a.rank !== 2 || b.rank !== 2 || out.rank !== 2) {
    throw new RangeError(
      `${where}: expected 2-D operands, got ${formatShape(a.shape)} @ ${formatShape(b.shape)} -> ${formatShape(out.shape)}`,
    );
  }
  const [m, k] = a.shape as [number, number];
  const [k2, n] = b.shape as [number, number];
  if (k !== k2 || out.shape[0] !== m || out.shape[1] !== n) {
    throw new RangeError(
      `${where}: shapes do not chain: ${formatShape(a.shape)} @ ${formatShape(b.shape)} -> ${formatShape(out.shape)}`,
    );
  }
  const backend = backendOf(where, out, a, b);
  const pa = a.matmulOperand();
  const pb = b.matmulOperand();
  backend.run(
    'matmul',
    { a: pa.storage, b: pb.storage, out: out.storage },
    {
      batch: 1,
      m,
      n,
      k,
      transA: pa.transposed,
      transB: pb.transposed,
      aBatchStride: 0,
      bBatchStride: 0,
      accumulate: options.accumulate ?? false,
    },
  );
}
