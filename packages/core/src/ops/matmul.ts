/**
 * Batched matmul on one backend kernel with transpose flags: a lazily transposed operand (x.T) is
 * read through the flag, so neither forward nor backward materialises a transpose.
 */
import { promoteTypes } from '../dtype.js';
import { broadcastShapes, formatShape, shapesEqual, sizeOf } from '../shape.js';
import { recordOp, type Tensor } from '../tensor.js';
import { cast } from './elementwise.js';
import { sum } from './reduce.js';
import { expand, reshape, transpose } from './shape-ops.js';
import { backendOf, reduceToShape, uninitialized } from './util.js';

/** Reads `t` (logical shape [...batch, rows, cols]) as a kernel operand broadcast to `batch`. */
function operand(t: Tensor, batch: readonly number[]): { t: Tensor; stride: number; trans: boolean; owned: boolean } {
  const own = t.shape.slice(0, -2);
  const matrix = t.shape[t.rank - 2]! * t.shape[t.rank - 1]!;
  if (sizeOf(own) === 1) {
    const { transposed } = t.matmulOperand();
    return { t, stride: 0, trans: transposed, owned: false };
  }
  if (shapesEqual(own, batch.slice(batch.length - own.length)) && sizeOf(own) === sizeOf(batch)) {
    const { transposed } = t.matmulOperand();
    return { t, stride: matrix, trans: transposed, owned: false };
  }
  // Partial broadcast ([2, 1] against [1, 3]): materialise the expanded operand.
  const full = expand(t, [...batch, t.shape[t.rank - 2]!, t.shape[t.rank - 1]!]);
  return { t: full, stride: matrix, trans: false, owned: true };
}

/**
 * a @ b in a new tensor; or, when `into` is given and has the product's shape and dtype, a @ b
 * added to `into` in place (the kernel's accumulate flag), returning `into`.
 */
function matmulKernel(a: Tensor, b: Tensor, into?: Tensor): Tensor {
  const backend = backendOf('matmul', a, b);
  const m = a.shape[a.rank - 2]!;
  const k = a.shape[a.rank - 1]!;
  const n = b.shape[b.rank - 1]!;
  const batch = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2), 'matmul (batch dimensions)');
  const dtype = promoteTypes(a.dtype, b.dtype);
  const shape = [...batch, m, n];
  const accumulate = into !== undefined && into.dtype === dtype && shapesEqual(into.shape, shape);
  // Every element is written: the product, or the fill below when k is 0.
  const out = accumulate ? into : uninitialized(shape, dtype, backend);
  if (out.size === 0 || (k === 0 && accumulate)) return out;
  if (k === 0) {
    backend.run('fill', { out: out.storage }, { value: 0 });
    return out;
  }
  const pa = operand(a, batch);
  const pb = operand(b, batch);
  let batchCount = sizeOf(batch);
  let rows = m;
  // b shared by every batch and a plainly stored: one [batch*m, k] x [k, n] product.
  if (pb.stride === 0 && pa.stride !== 0 && !pa.trans) {
    rows = m * batchCount;
    batchCount = 1;
  }
  backend.run(
    'matmul',
    { a: pa.t.matmulOperand().storage, b: pb.t.matmulOperand().storage, out: out.storage },
    {
      batch: batchCount,
      m: rows,
      n,
      k,
      transA: pa.trans,
      transB: pb.trans,
      aBatchStride: batchCount === 1 ? 0 : pa.stride,
      bBatchStride: batchCount === 1 ? 0 : pb.stride,
      accumulate,
    },
  );
  if (pa.owned) pa.t.dispose();
  if (pb.owned) pb.t.dispose();
  return out;
}

/** Sums a batched gradient down to the batch shape of the input it belongs to. */
function reduceBatch(g: Tensor, shape: readonly number[]): Tensor {
  const out = reduceToShape(g, shape, sum);
  if (out !== g) g.dispose();
  return out;
}

function matmul2(a: Tensor, b: Tensor): Tensor {
  const k = a.shape[a.rank - 1]!;
  if (b.shape[b.rank - 2] !== k) {
    throw new RangeError(`matmul: inner dimensions differ: a is ${formatShape(a.shape)}, b is ${formatShape(b.shape)}`);
  }
  for (const t of [a, b]) {
    if (t.dtype !== 'float32' && t.dtype !== 'float64' && t.dtype !== 'bfloat16' && t.dtype !== 'float16') {
      throw new TypeError(`matmul: expected floating tensors, got ${a.dtype} and ${b.dtype}`);
    }
  }
  const mixed64 = a.dtype !== b.dtype && (a.dtype === 'float64' || b.dtype === 'float64');
  const ca = mixed64 && a.dtype !== 'float64' ? cast(a, 'float64') : a;
  const cb = mixed64 && b.dtype !== 'float64' ? cast(b, 'float64') : b;
  const out = matmulKernel(ca, cb);
  recordOp('matmul', out, [a, b], [ca, cb], (g, [sa, sb], into) => {
    let ga: Tensor | null = null;
    let gb: Tensor | null = null;
    if (a.requiresGrad) {
      if (sa!.transposeOf) {
        // a is a lazy transpose (x.T): produce dA^T = B G^T in x's layout and hand back its lazy
        // transpose, so the transpose's backward gives x its gradient without a copy.
        const gt = transpose(g);
        const gaT = reduceBatch(matmulKernel(sb!, gt), swapLast(a.shape));
        gt.dispose();
        ga = transpose(gaT);
        gaT.dispose();
      } else {
        // When other paths already gave a its gradient (x feeding q, k and v projections), the
        // product is added into that gradient by the GEMM itself: no temporary, no add kernel.
        const bt = transpose(sb!);
        ga = reduceBatch(matmulKernel(g, bt, into?.(0)), a.shape);
        bt.dispose();
      }
      if (ga.dtype !== a.dtype) ga = castOwned(ga, a.dtype);
    }
    if (b.requiresGrad) {
      // b is a lazy transpose (W.T in linear): compute dB^T = G^T A in W's layout (see above).
      const lazyB = sb!.transposeOf !== null;
      if (b.rank === 2 && a.rank > 2) {
        // Fold the batch into rows: one [k, B*m] x [B*m, n] product instead of a batched one.
        const a2 = reshape(sa!, [-1, k]);
        const g2 = reshape(g, [-1, g.shape[g.rank - 1]!]);
        if (lazyB) {
          const gt = transpose(g2);
          const gbT = matmulKernel(gt, a2);
          gb = transpose(gbT);
          for (const t of [gt, gbT]) t.dispose();
        } else {
          const at = transpose(a2);
          gb = matmulKernel(at, g2);
          at.dispose();
        }
        for (const t of [a2, g2]) t.dispose();
      } else if (lazyB) {
        const gt = transpose(g);
        const gbT = reduceBatch(matmulKernel(gt, sa!), swapLast(b.shape));
        gb = transpose(gbT);
        for (const t of [gt, gbT]) t.dispose();
      } else {
        const at = transpose(sa!);
        gb = reduceBatch(matmulKernel(at, g), b.shape);
        at.dispose();
      }
      if (gb.dtype !== b.dtype) gb = castOwned(gb, b.dtype);
    }
    return [ga, gb];
  });
  if (ca !== a) ca.dispose();
  if (cb !== b) cb.dispose();
  return out;
}

function swapLast(shape: readonly number[]): number[] {
  const out = [...shape];
  const r = out.length;
  [out[r - 2], out[r - 1]] = [out[r - 1]!, out[r - 2]!];
  return out;
}

function castOwned(t: Tensor, dtype: Tensor['dtype']): Tensor {
  const out = cast(t, dtype);
  t.dispose();
  return out;
}

/**
 * Matrix product with NumPy semantics: 1-D operands are promoted to a row / column and the added
 * axis removed; leading batch axes broadcast.
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  if (a.rank === 0 || b.rank === 0) {
    throw new RangeError(
      `matmul: both operands need at least one dimension, got ${formatShape(a.shape)} and ${formatShape(b.shape)}`,
    );
  }
  // Checked here, before 1-D operands are promoted, so the message shows the shapes as given.
  const inner = b.rank === 1 ? b.shape[0] : b.shape[b.rank - 2];
  if (a.shape[a.rank - 1] !== inner) {
    throw new RangeError(`matmul: inner dimensions differ: a is ${formatShape(a.shape)}, b is ${formatShape(b.shape)}`);
  }
  const a2 = a.rank === 1 ? reshape(a, [1, a.shape[0]!]) : a;
  const b2 = b.rank === 1 ? reshape(b, [b.shape[0]!, 1]) : b;
  let out = matmul2(a2, b2);
  if (a.rank === 1 || b.rank === 1) {
    const shape = [...out.shape];
    if (b.rank === 1) shape.pop(); // the n = 1 column
    if (a.rank === 1) shape.splice(shape.length - (b.rank === 1 ? 1 : 2), 1); // the m = 1 row
    const squeezed = reshape(out, shape);
    out.dispose();
    out = squeezed;
  }
  if (a2 !== a) a2.dispose();
  if (b2 !== b) b2.dispose();
  return out;
}
