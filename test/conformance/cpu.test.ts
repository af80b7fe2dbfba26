// The suite run on CPU backends forced onto each GEMM path, against the default CpuBackend (the
// machine's BLAS when found): a check of the harness itself and of the two matmul paths against
// each other. `cpu-blas` skips without a BLAS, unless GALORE_REQUIRE_BLAS=1 (CI) fails it.
import { GEMM_PATH_CASES } from '../../packages/core/test/backends/cpu/gemm-paths.js';
import { describeConformance } from './suite.js';

for (const path of GEMM_PATH_CASES) describeConformance(`cpu-${path.name}`, async () => path.open());
