/**
 * Matrix products written straight into a chosen output storage. GaLore needs two things core's
 * matmul op does not give: the projected gradient in float32 whatever the gradient's dtype, and
 * the back-projected update added into the weight in place (the kernel's `accumulate` flag), so
 * no m x n temporary is ever allocated for the update.
 */
import { formatShape, type Tensor } from '@galore-ts/core';

/** out (m x n) = a (m x k) @ b (k x n), or out += a @ b with `accumulate`. a and b may be lazy `.T` views. */
export function gemmInto(out: Tensor, a: Tensor, b: Tensor, accumulate = false): void {
  if (a.rank !== 2 || b.rank !== 2 || out.rank !== 2) {
    throw new RangeError(
      `gemmInto: expected 2-D operands, got ${formatShape(a.shape)} @ ${formatShape(b.shape)} -> ${formatShape(out.shape)}`,
    );
  }
  const [m, k] = a.shape as [number, number];
  const [k2, n] = b.shape as [number, number];
  if (k !== k2 || out.shape[0] !== m || out.shape[1] !== n) {
    throw new RangeError(
      `gemmInto: shapes do not chain: ${formatShape(a.shape)} @ ${formatShape(b.shape)} -> ${formatShape(out.shape)}`,
    );
  }
  const backend = out.backend;
  if (a.backend !== backend || b.backend !== backend) {
    throw new Error(
      `gemmInto: operands live on ${a.backend.name} and ${b.backend.name}, the output on ${backend.name}`,
    );
  }
  const pa = a.matmulOperand();
  const pb = b.matmulOperand();
  backend.matmul(pa.storage, pb.storage, out.storage, {
    batch: 1,
    m,
    n,
    k,
    transA: pa.transposed,
    transB: pb.transposed,
    aBatchStride: 0,
    bBatchStride: 0,
    accumulate,
  });
}
