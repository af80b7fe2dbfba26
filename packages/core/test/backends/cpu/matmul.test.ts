import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { MatmulParams } from '../../../src/backend.js';
import { gemmBlas } from '../../../src/backends/cpu/blas.js';
import { blasStatus } from '../../../src/backends/cpu/blas-loader.js';
import { gemm, gemmBlocked, gemmDirect } from '../../../src/backends/cpu/gemm.js';
import { gemmSimd, simdGemmAvailable } from '../../../src/backends/cpu/gemm-wasm.js';
import type { CpuBackend } from '../../../src/backends/cpu/index.js';
import { GEMM_PATH_CASES } from './gemm-paths.js';
import {
  backend as defaultBackend,
  empty as emptyOn,
  expectClose,
  randomValues,
  storage as storageOn,
  values,
} from './helpers.js';

interface Case extends Pick<MatmulParams, 'batch' | 'm' | 'n' | 'k' | 'transA' | 'transB'> {
  broadcastA: boolean;
  broadcastB: boolean;
  accumulate: boolean;
}

/** Triple loop in float64 straight from the definition, reading each operand as stored. */
function referenceMatmul(a: number[], b: number[], c: Case, initial: number[]): number[] {
  const { batch, m, n, k, transA, transB } = c;
  const aStride = c.broadcastA ? 0 : m * k;
  const bStride = c.broadcastB ? 0 : k * n;
  const out = c.accumulate ? initial.slice() : new Array<number>(batch * m * n).fill(0);
  for (let t = 0; t < batch; t++) {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let sum = 0;
        for (let p = 0; p < k; p++) {
          const aip = a[t * aStride + (transA ? p * m + i : i * k + p)] as number;
          const bpj = b[t * bStride + (transB ? j * k + p : p * n + j)] as number;
          sum += aip * bpj;
        }
        out[(t * m + i) * n + j] = (out[(t * m + i) * n + j] as number) + sum;
      }
    }
  }
  return out;
}

const caseArbitrary = (maxDim: number): fc.Arbitrary<Case> =>
  fc.record({
    batch: fc.integer({ min: 1, max: 3 }),
    m: fc.integer({ min: 1, max: maxDim }),
    n: fc.integer({ min: 1, max: maxDim }),
    k: fc.integer({ min: 1, max: maxDim }),
    transA: fc.boolean(),
    transB: fc.boolean(),
    broadcastA: fc.boolean(),
    broadcastB: fc.boolean(),
    accumulate: fc.boolean(),
  });

function runCase(backend: CpuBackend, c: Case, dtype: 'float32' | 'float64' | 'bfloat16', seed: number) {
  const storage = (d: typeof dtype, v: number[]) => storageOn(d, v, backend);
  const aValues = randomValues((c.broadcastA ? 1 : c.batch) * c.m * c.k, seed);
  const bValues = randomValues((c.broadcastB ? 1 : c.batch) * c.k * c.n, seed + 1);
  const initial = randomValues(c.batch * c.m * c.n, seed + 2);
  const a = storage(dtype, aValues);
  const b = storage(dtype, bValues);
  const out = storage(dtype, initial);
  backend.run(
    'matmul',
    { a, b, out },
    {
      batch: c.batch,
      m: c.m,
      n: c.n,
      k: c.k,
      transA: c.transA,
      transB: c.transB,
      aBatchStride: c.broadcastA ? 0 : c.m * c.k,
      bBatchStride: c.broadcastB ? 0 : c.k * c.n,
      accumulate: c.accumulate,
    },
  );
  const [av, bv, cv] = [values(a), values(b), values(storage(dtype, initial))];
  const expected = referenceMatmul(av, bv, c, cv);
  // |C0| + |A| |B|: what float32 rounding errors scale with.
  const magnitude = referenceMatmul(av.map(Math.abs), bv.map(Math.abs), c, cv.map(Math.abs));
  return { got: values(out), expected, magnitude };
}

/**
 * The classic bound for float32 accumulation of k products in any order, (k + 2) u (|C0| + |A||B|)
 * with u = 2^-24, plus `outputRel` for rounding the result to a narrower output format.
 */
function expectWithinRoundOff(got: number[], expected: number[], magnitude: number[], k: number, outputRel = 0): void {
  const bounds = magnitude.map((mag, i) => (k + 2) * 2 ** -24 * mag + outputRel * Math.abs(expected[i] as number));
  got.forEach((g, i) => {
    if (Math.abs(g - (expected[i] as number)) > (bounds[i] as number)) {
      expect.fail(`element ${i}: got ${g}, expected ${expected[i]} within ${bounds[i]}`);
    }
  });
}

for (const path of GEMM_PATH_CASES) {
  const opened = path.open();
  const skip = 'skip' in opened ? opened.skip : undefined;
  describe.skipIf(skip !== undefined)(
    `matmul on the ${path.name} GEMM path${skip ? ` (skipped: ${skip})` : ''}`,
    () => {
      const backend = opened as CpuBackend;
      const storage = (d: Parameters<typeof storageOn>[0], v: ArrayLike<number>) => storageOn(d, v, backend);
      const empty = (d: Parameters<typeof emptyOn>[0], size: number) => emptyOn(d, size, backend);

      it('reports its path', () => {
        expect(backend.gemm.kind).toBe(path.name);
      });

      it('matches the float64 triple loop for random shapes, transposes, broadcast batches and accumulate', () => {
        fc.assert(
          fc.property(caseArbitrary(40), fc.integer(), (c, seed) => {
            const { got, expected } = runCase(backend, c, 'float64', seed);
            expectClose(got, expected, 1e-12, 1e-12);
          }),
          { numRuns: 120 },
        );
      });

      it('float32 results are the float64 result within float32 round-off (including the SIMD path)', () => {
        fc.assert(
          fc.property(caseArbitrary(70), fc.integer(), (c, seed) => {
            const { got, expected, magnitude } = runCase(backend, c, 'float32', seed);
            expectWithinRoundOff(got, expected, magnitude, c.k);
          }),
          { numRuns: 40 },
        );
      });

      it('bfloat16 storages compute in float32 and round the result once', () => {
        fc.assert(
          fc.property(caseArbitrary(40), fc.integer(), (c, seed) => {
            const { got, expected, magnitude } = runCase(backend, c, 'bfloat16', seed);
            expectWithinRoundOff(got, expected, magnitude, c.k, 2 ** -8);
          }),
          { numRuns: 40 },
        );
      });

      it('handles k = 0 (zero or unchanged output) and batch = 0', () => {
        const a = empty('float32', 0);
        const out = storage('float32', [5, 5, 5, 5]);
        const params = { batch: 1, m: 2, n: 2, k: 0, transA: false, transB: false, aBatchStride: 0, bBatchStride: 0 };
        backend.run('matmul', { a, b: a, out }, { ...params, accumulate: true });
        expect(values(out)).toEqual([5, 5, 5, 5]);
        backend.run('matmul', { a, b: a, out }, params);
        expect(values(out)).toEqual([0, 0, 0, 0]);
        backend.run('matmul', { a, b: a, out: empty('float32', 0) }, { ...params, batch: 0 });
      });
    },
  );
}

describe('GEMM kernels', () => {
  it('the blocked, direct and SIMD GEMM paths agree with the reference on edge-sized tiles', () => {
    expect(simdGemmAvailable()).toBe(true);
    // Small m with a wide n crosses the SIMD path's 1024-column blocks; k up to 300 crosses its 256-deep chunks.
    const shapes = fc.oneof(
      fc.tuple(fc.integer({ min: 1, max: 70 }), fc.integer({ min: 1, max: 70 })),
      fc.tuple(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1020, max: 1100 })),
    );
    fc.assert(
      fc.property(
        shapes,
        fc.integer({ min: 1, max: 300 }),
        fc.boolean(),
        fc.boolean(),
        fc.integer(),
        ([m, n], k, transA, transB, seed) => {
          const a = Float64Array.from(randomValues(m * k + 3, seed));
          const b = Float64Array.from(randomValues(k * n + 5, seed + 1));
          const c: Case = { batch: 1, m, n, k, transA, transB, broadcastA: false, broadcastB: false, accumulate: true };
          // Offsets into larger arrays exercise the operand offsets the batch loop relies on.
          const expected = referenceMatmul(
            Array.from(a.subarray(3)),
            Array.from(b.subarray(5)),
            c,
            new Array(m * n).fill(1),
          );
          for (const path of [gemmBlocked, gemmDirect]) {
            const out = new Float64Array(m * n + 2).fill(1);
            path({
              a: { data: a, offset: 3, transposed: transA },
              b: { data: b, offset: 5, transposed: transB },
              c: out,
              cOffset: 2,
              m,
              n,
              k,
            });
            expectClose(Array.from(out.subarray(2)), expected, 1e-12, 1e-12);
            expect(out[0]).toBe(1);
          }
          const a32 = Float32Array.from(a);
          const b32 = Float32Array.from(b);
          const out32 = new Float32Array(m * n + 2).fill(1);
          const simd = gemmSimd({
            a: { data: a32, offset: 3, transposed: transA },
            b: { data: b32, offset: 5, transposed: transB },
            c: out32,
            cOffset: 2,
            m,
            n,
            k,
          });
          expect(simd).toBe(true);
          const magnitude = referenceMatmul(
            Array.from(a32.subarray(3), Math.abs),
            Array.from(b32.subarray(5), Math.abs),
            c,
            new Array(m * n).fill(1),
          );
          const expected32 = referenceMatmul(
            Array.from(a32.subarray(3)),
            Array.from(b32.subarray(5)),
            c,
            new Array(m * n).fill(1),
          );
          expectWithinRoundOff(Array.from(out32.subarray(2)), expected32, magnitude, k);
          expect(out32[1]).toBe(1);
        },
      ),
      { numRuns: 20 },
    );
  });

  it('the BLAS GEMM agrees with the reference on edge-sized tiles, operand offsets and both precisions', () => {
    const blas = blasStatus().library;
    if (!blas) return; // the per-path suites above say why BLAS is skipped
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 70 }),
        fc.integer({ min: 1, max: 70 }),
        fc.integer({ min: 1, max: 300 }),
        fc.boolean(),
        fc.boolean(),
        fc.integer(),
        (m, n, k, transA, transB, seed) => {
          const a = Float64Array.from(randomValues(m * k + 3, seed));
          const b = Float64Array.from(randomValues(k * n + 5, seed + 1));
          const c: Case = { batch: 1, m, n, k, transA, transB, broadcastA: false, broadcastB: false, accumulate: true };
          const initial = new Array(m * n).fill(1);
          const expected = referenceMatmul(Array.from(a.subarray(3)), Array.from(b.subarray(5)), c, initial);
          const out = new Float64Array(m * n + 2).fill(1);
          const run = (
            A: Float32Array | Float64Array,
            B: Float32Array | Float64Array,
            C: Float32Array | Float64Array,
          ) =>
            gemmBlas(
              blas,
              {
                a: { data: A, offset: 3, transposed: transA },
                b: { data: B, offset: 5, transposed: transB },
                c: C,
                cOffset: 2,
                m,
                n,
                k,
              },
              C instanceof Float64Array ? 'f64' : 'f32',
            );
          expect(run(a, b, out)).toBe(true);
          expectClose(Array.from(out.subarray(2)), expected, 1e-12, 1e-12);
          expect(out[0]).toBe(1);
          const [a32, b32] = [Float32Array.from(a), Float32Array.from(b)];
          const out32 = new Float32Array(m * n + 2).fill(1);
          expect(run(a32, b32, out32)).toBe(true);
          const magnitude = referenceMatmul(
            Array.from(a32.subarray(3), Math.abs),
            Array.from(b32.subarray(5), Math.abs),
            c,
            initial,
          );
          const expected32 = referenceMatmul(Array.from(a32.subarray(3)), Array.from(b32.subarray(5)), c, initial);
          expectWithinRoundOff(Array.from(out32.subarray(2)), expected32, magnitude, k);
          expect(out32[1]).toBe(1);
          // Mixed array types are left to the built-in kernels.
          expect(run(a32, b32, new Float64Array(m * n + 2))).toBe(false);
        },
      ),
      { numRuns: 20 },
    );
  });

  it('every GEMM path honours row strides of A, B and C (leading dimensions), and gemm clears strided rows', () => {
    const blas = blasStatus().library;
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 60 }),
        fc.tuple(fc.boolean(), fc.boolean()),
        fc.tuple(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 5 })),
        fc.integer(),
        (m, n, k, [transA, transB], [padA, padB, padC], seed) => {
          const c: Case = {
            batch: 1,
            m,
            n,
            k,
            transA,
            transB,
            broadcastA: false,
            broadcastB: false,
            accumulate: false,
          };
          const [a, b] = [randomValues(m * k, seed), randomValues(k * n, seed + 1)];
          const expected = referenceMatmul(a, b, c, new Array(m * n).fill(0));
          // Stored rows (of the stored, possibly transposed, matrix) `pad` apart beyond their width; the gaps hold
          // NaN, so a path that read them would say so, and C's gaps must keep their 7.
          const spread = (dense: number[], rows: number, width: number, pad: number, gap: number) => {
            const out = new Float64Array(rows * (width + pad)).fill(gap);
            for (let r = 0; r < rows; r++) out.set(dense.slice(r * width, (r + 1) * width), r * (width + pad));
            return out;
          };
          const [aRows, aWidth] = transA ? [k, m] : [m, k];
          const [bRows, bWidth] = transB ? [n, k] : [k, n];
          const A = spread(a, aRows, aWidth, padA, Number.NaN);
          const B = spread(b, bRows, bWidth, padB, Number.NaN);
          const problem = <T extends Float32Array | Float64Array>(as: (x: Float64Array) => T, out: T) => ({
            a: { data: as(A), offset: 0, transposed: transA, stride: aWidth + padA },
            b: { data: as(B), offset: 0, transposed: transB, stride: bWidth + padB },
            c: out,
            cOffset: 0,
            cStride: n + padC,
            m,
            n,
            k,
          });
          const gathered = (out: Float32Array | Float64Array) => {
            const rows: number[] = [];
            for (let r = 0; r < m; r++) rows.push(...out.subarray(r * (n + padC), r * (n + padC) + n));
            for (let r = 0; r < m; r++)
              for (let j = n; j < n + padC; j++) expect(out[r * (n + padC) + j], `C gap at row ${r}`).toBe(7);
            return rows;
          };
          const fresh64 = () => spread(new Array(m * n).fill(0), m, n, padC, 7);
          const fresh32 = () => Float32Array.from(fresh64());
          const same = (x: Float64Array) => x;
          for (const path of [gemmBlocked, gemmDirect]) {
            const out = fresh64();
            path(problem(same, out));
            expectClose(gathered(out), expected, 1e-12, 1e-12);
          }
          const out32 = fresh32();
          expect(gemmSimd(problem((x) => Float32Array.from(x), out32))).toBe(true);
          expectClose(gathered(out32), expected, 1e-4, 1e-4);
          if (blas) {
            const out = fresh64();
            expect(gemmBlas(blas, problem(same, out), 'f64')).toBe(true);
            expectClose(gathered(out), expected, 1e-12, 1e-12);
          }
          // overwrite: the dispatcher clears only C's rows, whichever path runs.
          const over = spread(new Array(m * n).fill(3), m, n, padC, 7);
          gemm({ ...problem(same, over), overwrite: true }, 'f64', blas);
          expectClose(gathered(over), expected, 1e-12, 1e-12);
        },
      ),
      { numRuns: 25 },
    );
  });

  it('handles k = 0 (zero or unchanged output) and batch = 0', () => {
    const a = emptyOn('float32', 0);
    const out = storageOn('float32', [5, 5, 5, 5]);
    const params = { batch: 1, m: 2, n: 2, k: 0, transA: false, transB: false, aBatchStride: 0, bBatchStride: 0 };
    defaultBackend.run('matmul', { a, b: a, out }, { ...params, accumulate: true });
    expect(values(out)).toEqual([5, 5, 5, 5]);
    defaultBackend.run('matmul', { a, b: a, out }, params);
    expect(values(out)).toEqual([0, 0, 0, 0]);
    defaultBackend.run('matmul', { a, b: a, out: emptyOn('float32', 0) }, { ...params, batch: 0 });
  });
});

describe('matmul arguments', () => {
  it('explains bad arguments', () => {
    const a = storageOn('float32', randomValues(6, 1));
    const b = storageOn('float32', randomValues(6, 2));
    const params = { batch: 1, m: 2, n: 2, k: 3, transA: false, transB: false, aBatchStride: 0, bBatchStride: 0 };
    expect(() => defaultBackend.run('matmul', { a, b, out: emptyOn('float32', 5) }, params)).toThrow(
      /out has 5 elements; expected batch \* m \* n = 4/,
    );
    expect(() =>
      defaultBackend.run(
        'matmul',
        { a, b, out: emptyOn('float32', 8) },
        { ...params, batch: 2, aBatchStride: 6, bBatchStride: 0 },
      ),
    ).toThrow(/a has 6 elements; expected at least \(batch - 1\) \* aBatchStride \+ m \* k = 12/);
    expect(() => defaultBackend.run('matmul', { a, b, out: a }, { ...params, m: 1, n: 6, k: 1 })).toThrow(
      /out and a must be different storages/,
    );
    expect(() =>
      defaultBackend.run('matmul', { a: storageOn('int32', [1]), b, out: emptyOn('float32', 4) }, params),
    ).toThrow(/a must be float32, float64, bfloat16 or float16; got int32/);
    expect(() => defaultBackend.run('matmul', { a, b, out: emptyOn('float32', 4) }, { ...params, m: 1.5 })).toThrow(
      /m must be a non-negative integer; got 1.5/,
    );
  });
});
