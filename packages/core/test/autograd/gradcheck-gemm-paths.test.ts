/**
 * float64 gradient checks of matmul on each GEMM path (the machine's BLAS, the built-in kernels),
 * with shapes above the size where matmul stops using its unpacked small-problem loop, so the
 * checked products really run on the path named.
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import type { Backend } from '../../src/backend.js';
import { SMALL_GEMM_VOLUME } from '../../src/backends/cpu/gemm.js';
import { getBackend, linear, matmul, setBackend, type Tensor } from '../../src/index.js';
import { GEMM_PATH_CASES } from '../backends/cpu/gemm-paths.js';
import { gradcheck, prng, randomInputs } from '../helpers/gradcheck.js';

const [m, k, n] = [20, 30, 40];

for (const path of GEMM_PATH_CASES) {
  const opened = path.open();
  const skip = 'skip' in opened ? opened.skip : undefined;
  describe.skipIf(skip !== undefined)(
    `float64 gradients on the ${path.name} GEMM path${skip ? ` (skipped: ${skip})` : ''}`,
    () => {
      let previous: Backend;
      beforeAll(() => {
        previous = getBackend();
        setBackend(opened as Backend);
      });
      afterAll(() => setBackend(previous));

      it('batched matmul with every transpose, and linear, match central differences', () => {
        if (m * k * n <= SMALL_GEMM_VOLUME) throw new Error('shapes too small to leave the small-problem loop');
        const cases: [string, (a: Tensor, b: Tensor) => Tensor, number[], number[]][] = [
          ['a @ b', matmul, [2, m, k], [k, n]],
          ['a.T @ b', (a, b) => matmul(a.T, b), [2, k, m], [k, n]],
          ['a @ b.T', (a, b) => matmul(a, b.T), [2, m, k], [2, n, k]],
          ['a.T @ b.T', (a, b) => a.T.matmul(b.T), [k, m], [n, k]],
          ['linear', (x, w) => linear(x, w), [2, m, k], [n, k]],
        ];
        cases.forEach(([label, fn, aShape, bShape], i) => {
          gradcheck(fn, randomInputs(prng(100 + i), [aShape, bShape]), { label: `${path.name}: ${label}` });
        });
      });
    },
  );
}
