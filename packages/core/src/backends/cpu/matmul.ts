/** Batched matmul with transpose flags, broadcast batch strides and optional accumulation. */
import type { MatmulParams } from '../../backend.js';
import type { BlasLibrary } from './blas-loader.js';
import { gemm } from './gemm.js';
import { openFloatOutput, precisionOf, readFloats } from './numeric.js';
import type { CpuStorage } from './storage.js';

/** `blas`: the library to run products on, or null for the built-in kernels. */
export function matmul(
  a: CpuStorage,
  b: CpuStorage,
  out: CpuStorage,
  params: MatmulParams,
  blas: BlasLibrary | null = null,
): void {
  const { batch, m, n, k, transA, transB, aBatchStride, bBatchStride } = params;
  const accumulate = params.accumulate === true;
  const precision = precisionOf(a, b);
  const target = openFloatOutput(out, precision, accumulate);
  const c = target.values;
  const aData = readFloats(a);
  const bData = readFloats(b);
  for (let t = 0; t < batch; t++) {
    const a = { data: aData, offset: t * aBatchStride, transposed: transA };
    const b = { data: bData, offset: t * bBatchStride, transposed: transB };
    gemm({ a, b, c, cOffset: t * m * n, m, n, k, overwrite: !accumulate }, precision, blas);
  }
  target.commit();
}
