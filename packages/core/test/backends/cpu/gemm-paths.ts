/**
 * CPU backends forced onto each GEMM path, so matmul tests run on the machine's BLAS and on the
 * built-in kernels alike. Without a BLAS the BLAS path is skipped with the reason, unless
 * GALORE_REQUIRE_BLAS=1 (CI, which installs OpenBLAS), where it fails instead.
 */
import { blasStatus } from '../../../src/backends/cpu/blas-loader.js';
import { CpuBackend } from '../../../src/backends/cpu/index.js';

export interface GemmPathCase {
  name: 'blas' | 'builtin';
  /** A backend on that path, or why there is none here. */
  open: () => CpuBackend | { skip: string };
}

export const BLAS_REQUIRED = process.env.GALORE_REQUIRE_BLAS === '1';

export const GEMM_PATH_CASES: readonly GemmPathCase[] = [
  {
    name: 'blas',
    open: () => {
      const { library, reason } = blasStatus();
      if (library || BLAS_REQUIRED) return new CpuBackend({ gemm: 'blas' });
      return { skip: reason };
    },
  },
  { name: 'builtin', open: () => new CpuBackend({ gemm: 'builtin' }) },
];
