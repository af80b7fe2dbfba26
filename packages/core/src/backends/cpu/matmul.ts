/** Batched matmul with transpose flags, broadcast batch strides and optional accumulation. */
import type { MatmulParams } from '../../backend.js';
import { expectAtLeast, expectCount, expectDistinct, expectFloating, expectSize } from '../kernel-checks.js';
import type { BlasLibrary } from './blas-loader.js';
import { gemm } from './gemm.js';
import { openFloatOutput, precisionOf, readFloats } from './numeric.js';
import type { CpuStorage } from './storage.js';

const KERNEL = 'CpuBackend.matmul';

function checkParams(a: CpuStorage, b: CpuStorage, out: CpuStorage, params: MatmulParams): void {
  const { batch, m, n, k, aBatchStride, bBatchStride } = params;
  for (const [name, value] of Object.entries({ batch, m, n, k, aBatchStride, bBatchStride })) {
    expectCount(value, KERNEL, name);
  }
  if (typeof params.transA !== 'boolean' || typeof params.transB !== 'boolean') {
    throw new TypeError(`${KERNEL}: transA and transB must be booleans; got ${params.transA} and ${params.transB}`);
  }
  expectFloating(a, KERNEL, 'a');
  expectFloating(b, KERNEL, 'b');
  expectFloating(out, KERNEL, 'out');
  expectDistinct(out, a, KERNEL, 'out and a');
  expectDistinct(out, b, KERNEL, 'out and b');
  expectSize(out, batch * m * n, KERNEL, 'out', 'batch * m * n');
  if (batch === 0) return;
  expectAtLeast(a, (batch - 1) * aBatchStride + m * k, KERNEL, 'a', '(batch - 1) * aBatchStride + m * k');
  expectAtLeast(b, (batch - 1) * bBatchStride + k * n, KERNEL, 'b', '(batch - 1) * bBatchStride + k * n');
}

/** `blas`: the library to run products on, or null for the built-in kernels. */
export function matmul(
  a: CpuStorage,
  b: CpuStorage,
  out: CpuStorage,
  params: MatmulParams,
  blas: BlasLibrary | null = null,
): void {
  checkParams(a, b, out, params);
  const { batch, m, n, k, transA, transB, aBatchStride, bBatchStride } = params;
  const accumulate = params.accumulate === true;
  const precision = precisionOf(a, b);
  const target = openFloatOutput(out, precision, accumulate);
  const c = target.values;
  if (!accumulate) c.fill(0);
  const aData = readFloats(a);
  const bData = readFloats(b);
  for (let t = 0; t < batch; t++) {
    gemm(
      { data: aData, offset: t * aBatchStride, transposed: transA },
      { data: bData, offset: t * bBatchStride, transposed: transB },
      c,
      t * m * n,
      m,
      n,
      k,
      precision,
      blas,
    );
  }
  target.commit();
}
