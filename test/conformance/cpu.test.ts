// The suite run on CPU backends forced onto each GEMM path, against the default CpuBackend (the
// machine's BLAS when found): a check of the harness itself and of the two matmul paths against
// each other. `cpu-blas` skips without a BLAS unless GALORE_REQUIRE_CPU_BLAS=1.
import { blasStatus } from '../../packages/core/src/backends/cpu/blas-loader.js';
import { CpuBackend } from '../../packages/core/src/backends/cpu/index.js';
import { describeConformance } from './suite.js';

describeConformance('cpu-builtin', async () => new CpuBackend({ gemm: 'builtin' }));
describeConformance('cpu-blas', async () => {
  const { library, reason } = blasStatus();
  return library ? new CpuBackend({ gemm: 'blas' }) : { skip: reason };
});
