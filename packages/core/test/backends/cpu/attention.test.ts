/**
 * The CPU's fused causal attention against the composed fallback every other backend runs, both
 * computed on that CPU backend: forward and backward, both layouts, grouped-query heads, whole
 * heads and blocks of query rows (across block edges), keys before the queries and queries that
 * see no key; and the parameter checks.
 */
import { describe, expect, it } from 'vitest';
import type { AttentionParams } from '../../../src/backend.js';
import { simdAttentionAvailable } from '../../../src/backends/cpu/attention-simd.js';
import { CpuBackend } from '../../../src/backends/cpu/index.js';
import type { DType } from '../../../src/dtype.js';
import { composedAttention, composedAttentionBackward } from '../../../src/kernels/attention-composed.js';
import { GEMM_PATH_CASES } from './gemm-paths.js';
import { empty, expectClose, randomValues, storage, values } from './helpers.js';

const SHAPES: AttentionParams[] = [
  { batch: 1, heads: 2, kvHeads: 2, queryLen: 70, keyLen: 70, dim: 16, scale: 0.25, layout: 'heads' },
  { batch: 2, heads: 4, kvHeads: 2, queryLen: 33, keyLen: 40, dim: 8, scale: 1, layout: 'sequence' },
  { batch: 1, heads: 3, kvHeads: 1, queryLen: 64, keyLen: 61, dim: 5, scale: 0.5, layout: 'sequence' },
  { batch: 3, heads: 1, kvHeads: 1, queryLen: 1, keyLen: 9, dim: 3, scale: 2, layout: 'heads' },
  // Over the whole-head limit (64 x 64 scores): blocks of 64 query rows, the last one partial.
  { batch: 1, heads: 2, kvHeads: 1, queryLen: 150, keyLen: 153, dim: 4, scale: 0.5, layout: 'sequence' },
  { batch: 2, heads: 2, kvHeads: 2, queryLen: 131, keyLen: 129, dim: 3, scale: 1, layout: 'heads' },
];

const TOLERANCE: Record<'float32' | 'float64', number> = { float32: 2e-5, float64: 1e-12 };

function run(backend: CpuBackend, dtype: DType, p: AttentionParams, fused: boolean) {
  const [querySize, keySize] = [p.batch * p.heads * p.queryLen * p.dim, p.batch * p.kvHeads * p.keyLen * p.dim];
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

it('compiles the SIMD row kernels on this engine (Node has WebAssembly SIMD; a failure would fall back silently)', () => {
  expect(simdAttentionAvailable()).toBe(true);
});

for (const path of GEMM_PATH_CASES) {
  const opened = path.open();
  const skip = 'skip' in opened ? opened.skip : undefined;
  for (const simd of [true, false]) {
    const rows = simd ? 'SIMD' : 'JS';
    describe.skipIf(skip !== undefined)(
      `fused causal attention on the ${path.name} GEMM path, ${rows} rows${skip ? ` (${skip})` : ''}`,
      () => {
        const backend = () => (simd ? (opened as CpuBackend) : new CpuBackend({ gemm: path.name, simd }));
        for (const dtype of ['float32', 'float64'] as const) {
          it(`matches the composed kernels (${dtype})`, () => {
            const on = backend();
            for (const shape of SHAPES) {
              const fused = run(on, dtype, shape, true);
              const composed = run(on, dtype, shape, false);
              for (const [i, result] of fused.entries())
                expectClose(result, composed[i]!, TOLERANCE[dtype], TOLERANCE[dtype]);
            }
          });
        }

        it('is not disturbed by an earlier call with non-finite values (scratch is reused)', () => {
          const on = backend();
          const shape = SHAPES[2]!; // 61 keys: rows padded to 64
          const before = run(on, 'float32', shape, true);
          const size = shape.batch * shape.heads * shape.queryLen * shape.dim;
          const poisoned = storage('float32', new Array(size).fill(Number.NaN), on);
          const keys = shape.batch * shape.kvHeads * shape.keyLen * shape.dim;
          const [k, v] = [
            storage('float32', new Array(keys).fill(Number.POSITIVE_INFINITY), on),
            empty('float32', keys, on),
          ];
          const grads = {
            dq: empty('float32', size, on),
            dk: empty('float32', keys, on),
            dv: empty('float32', keys, on),
          };
          on.run('causalAttentionBackward', { q: poisoned, k, v, dout: poisoned, ...grads }, shape);
          const after = run(on, 'float32', shape, true);
          for (const [i, result] of after.entries()) expectClose(result, before[i]!, 0, 0);
        });
      },
    );
  }
}

describe('causalAttention parameter checks', () => {
  const backend = GEMM_PATH_CASES[1]!.open() as CpuBackend;
  const p: AttentionParams = {
    batch: 1,
    heads: 4,
    kvHeads: 2,
    queryLen: 3,
    keyLen: 3,
    dim: 2,
    scale: 1,
    layout: 'sequence',
  };
  const io = (keyHeads: number) => ({
    q: empty('float32', 24, backend),
    k: empty('float32', 6 * keyHeads, backend),
    v: empty('float32', 6 * keyHeads, backend),
    out: empty('float32', 24, backend),
  });

  it('refuses kvHeads that do not divide heads, by name', () => {
    expect(() => backend.run('causalAttention', io(3), { ...p, kvHeads: 3 })).toThrow(
      /kvHeads \(3\) must divide heads \(4\)/,
    );
  });

  it('refuses k and v sized for the query heads', () => {
    expect(() => backend.run('causalAttention', io(4), p)).toThrow(
      /k has 24 elements; expected batch \* keyLen \* kvHeads \* dim = 12/,
    );
  });

  it('refuses an unknown layout, by name', () => {
    const layout = 'bshd' as AttentionParams['layout'];
    expect(() => backend.run('causalAttention', io(2), { ...p, layout })).toThrow(
      /layout must be .*sequence.*heads.*; got bshd/,
    );
  });
});
