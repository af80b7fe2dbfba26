/**
 * The CPU's fused causal attention (blocks of query rows on the GEMM path) against the composed
 * fallback every other backend runs, both computed on that CPU backend: forward and backward,
 * across block edges, with keys before the queries and with queries that see no key.
 */
import { describe, it } from 'vitest';
import type { AttentionParams } from '../../../src/backend.js';
import type { CpuBackend } from '../../../src/backends/cpu/index.js';
import type { DType } from '../../../src/dtype.js';
import { composedAttention, composedAttentionBackward } from '../../../src/kernels/attention-composed.js';
import { GEMM_PATH_CASES } from './gemm-paths.js';
import { empty, expectClose, randomValues, storage, values } from './helpers.js';

const SHAPES: AttentionParams[] = [
  { heads: 2, queryLen: 70, keyLen: 70, dim: 16, scale: 0.25 },
  { heads: 1, queryLen: 33, keyLen: 40, dim: 8, scale: 1 },
  { heads: 3, queryLen: 64, keyLen: 61, dim: 5, scale: 0.5 },
  { heads: 1, queryLen: 1, keyLen: 9, dim: 3, scale: 2 },
];

const TOLERANCE: Record<'float32' | 'float64', number> = { float32: 2e-5, float64: 1e-12 };

function run(backend: CpuBackend, dtype: DType, p: AttentionParams, fused: boolean) {
  const [querySize, keySize] = [p.heads * p.queryLen * p.dim, p.heads * p.keyLen * p.dim];
  const inputs = {
    q: storage(dtype, randomValues(querySize, 1, 2), backend),
    k: storage(dtype, randomValues(keySize, 2, 2), backend),
    v: storage(dtype, randomValues(keySize, 3), backend),
  };
  const out = empty(dtype, querySize, backend);
  const grads = {
    dq: empty(dtype, querySize, backend),
    dk: empty(dtype, keySize, backend),
    dv: empty(dtype, keySize, backend),
  };
  const backward = { ...inputs, dout: storage(dtype, randomValues(querySize, 4), backend), ...grads };
  if (fused) {
    backend.run('causalAttention', { ...inputs, out }, p);
    backend.run('causalAttentionBackward', backward, p);
  } else {
    composedAttention(backend, { ...inputs, out }, p);
    composedAttentionBackward(backend, backward, p);
  }
  return [out, grads.dq, grads.dk, grads.dv].map(values);
}

for (const path of GEMM_PATH_CASES) {
  const opened = path.open();
  const skip = 'skip' in opened ? opened.skip : undefined;
  describe.skipIf(skip !== undefined)(
    `fused causal attention on the ${path.name} GEMM path${skip ? ` (${skip})` : ''}`,
    () => {
      for (const dtype of ['float32', 'float64'] as const) {
        it(`matches the composed kernels (${dtype})`, () => {
          const backend = opened as CpuBackend;
          for (const shape of SHAPES) {
            const fused = run(backend, dtype, shape, true);
            const composed = run(backend, dtype, shape, false);
            for (const [i, result] of fused.entries())
              expectClose(result, composed[i]!, TOLERANCE[dtype], TOLERANCE[dtype]);
          }
        });
      }
    },
  );
}
