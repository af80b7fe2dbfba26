/**
 * The WebAssembly SIMD RMSNorm and RoPE kernels (rmsnorm-simd.ts, rope-simd.ts) against float64 formulas and against the
 * JS loops a backend with `simd: false` keeps, at the conformance suite's tolerances, for shapes
 * around the vector width and the chunk size, and rows that are not whole vectors (the JS loop).
 */
import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../../../src/backends/cpu/index.js';
import { rmsNormBackwardSimd, rmsNormSimd } from '../../../src/backends/cpu/rmsnorm-simd.js';
import { ropeSimd } from '../../../src/backends/cpu/rope-simd.js';
import type { DType } from '../../../src/dtype.js';
import { empty, expectClose, randomValues, storage, values } from './helpers.js';

// rmsNorm's and rmsNormBackward's in test/conformance/tolerances.ts.
const FORWARD = { abs: 2e-6, rel: 1e-5 };
const BACKWARD = { abs: 1e-5, rel: 1e-4 };
const EPS = 1e-5;
// [rows, cols]: one vector, a few, the models' widths, a chunk boundary (16384 floats), and odd widths.
const SHAPES = [
  [1, 4],
  [3, 12],
  [5, 128],
  [43, 384],
  [4097, 4],
  [3, 7],
  [2, 1],
];

/** y, rstd, dx and dweight in float64 from float32-rounded inputs. */
function reference(x: number[], w: number[], dy: number[], rows: number, cols: number) {
  const y: number[] = [];
  const rstd: number[] = [];
  const dx: number[] = [];
  const dw = new Array<number>(cols).fill(0);
  for (let r = 0; r < rows; r++) {
    const row = x.slice(r * cols, (r + 1) * cols);
    const g = dy.slice(r * cols, (r + 1) * cols);
    const factor = 1 / Math.sqrt(row.reduce((s, v) => s + v * v, 0) / cols + EPS);
    rstd.push(factor);
    const dot = row.reduce((s, v, j) => s + v * (g[j] as number) * (w[j] as number), 0);
    row.forEach((v, j) => {
      const gj = g[j] as number;
      y.push(v * factor * (w[j] as number));
      dx.push(factor * ((w[j] as number) * gj - (v * factor * factor * dot) / cols));
      dw[j] = (dw[j] as number) + gj * v * factor;
    });
  }
  return { y, rstd, dx, dw };
}

function run(on: CpuBackend, dtype: DType, x: number[], w: number[], dy: number[], rows: number, cols: number) {
  const [xs, ws, gs] = [storage(dtype, x, on), storage(dtype, w, on), storage(dtype, dy, on)];
  const [out, rstd, dx, dweight] = [
    empty(dtype, rows * cols, on),
    empty(dtype, rows, on),
    empty(dtype, rows * cols, on),
    empty(dtype, cols, on),
  ];
  on.run('rmsNorm', { x: xs, weight: ws, out, rstd }, { rows, cols, eps: EPS });
  on.run('rmsNormBackward', { x: xs, weight: ws, rstd, dy: gs, dx, dweight }, { rows, cols });
  return { y: values(out), rstd: values(rstd), dx: values(dx), dw: values(dweight) };
}

describe('SIMD RMSNorm', () => {
  it('runs on float32 rows of whole vectors and declines other widths', () => {
    const [x, w, y, rstd, dx] = [4, 4, 4, 1, 4].map((n) => new Float32Array(n).fill(1));
    expect(rmsNormSimd(x as Float32Array, w as Float32Array, y as Float32Array, rstd as Float32Array, 1, 4, EPS)).toBe(
      true,
    );
    expect(rstd?.[0]).toBeCloseTo(1 / Math.sqrt(1 + EPS), 6);
    const dw = new Float64Array(4);
    expect(
      rmsNormBackwardSimd(
        x as Float32Array,
        w as Float32Array,
        rstd as Float32Array,
        y as Float32Array,
        dx as Float32Array,
        dw,
        1,
        4,
      ),
    ).toBe(true);
    expect(
      rmsNormSimd(new Float32Array(3), new Float32Array(3), new Float32Array(3), new Float32Array(1), 1, 3, EPS),
    ).toBe(false);
  });

  it('matches float64 and the JS loops in float32, and the JS loops keep float64 exact', () => {
    const simd = new CpuBackend({ simd: true });
    const js = new CpuBackend({ simd: false });
    for (const [rows, cols] of SHAPES as [number, number][]) {
      const seed = rows * 31 + cols;
      const [x, dy] = [randomValues(rows * cols, seed, 3), randomValues(rows * cols, seed + 1)];
      const w = randomValues(cols, seed + 2).map((v) => 1 + v / 2);
      const f32 = (a: number[]) => a.map(Math.fround);
      const want = reference(f32(x), f32(w), f32(dy), rows, cols);
      for (const on of [simd, js]) {
        const got = run(on, 'float32', x, w, dy, rows, cols);
        expectClose(got.y, want.y, FORWARD.abs, FORWARD.rel);
        expectClose(got.rstd, want.rstd, FORWARD.abs, FORWARD.rel);
        // The backward pass reads the rstd the forward pass stored.
        const fromStored = reference(f32(x), f32(w), f32(dy), rows, cols);
        expectClose(got.dx, fromStored.dx, BACKWARD.abs, BACKWARD.rel);
        expectClose(got.dw, fromStored.dw, BACKWARD.abs, BACKWARD.rel);
      }
      const exact = reference(x, w, dy, rows, cols);
      const got64 = run(simd, 'float64', x, w, dy, rows, cols);
      for (const key of ['y', 'rstd', 'dx', 'dw'] as const) expectClose(got64[key], exact[key], 1e-12, 1e-12);
    }
  });
});

// rope's in test/conformance/tolerances.ts.
const ROPE = { abs: 1e-6, rel: 1e-6 };

/** rope in float64: y_lo = lo cos - hi sin, y_hi = hi cos + lo sin, sin negated for the inverse. */
function ropeReference(
  x: number[],
  cos: number[],
  sin: number[],
  p: { seq: number; heads: number; headDim: number; inverse: boolean },
) {
  const half = p.headDim / 2;
  const y = new Array<number>(x.length);
  for (let base = 0; base < x.length; base += p.headDim) {
    const t = Math.floor(base / (p.heads * p.headDim)) % p.seq;
    for (let i = 0; i < half; i++) {
      const [lo, hi] = [x[base + i] as number, x[base + i + half] as number];
      const c = cos[t * half + i] as number;
      const s = (p.inverse ? -1 : 1) * (sin[t * half + i] as number);
      y[base + i] = lo * c - hi * s;
      y[base + i + half] = hi * c + lo * s;
    }
  }
  return y;
}

describe('SIMD RoPE', () => {
  it('runs on float32 heads whose halves are whole vectors and declines others', () => {
    const params = { batch: 1, seq: 1, heads: 1, headDim: 8, inverse: false };
    const [x, c, s] = [new Float32Array(8).fill(1), new Float32Array(4).fill(1), new Float32Array(4)];
    expect(ropeSimd(x, c, s, new Float32Array(8), params)).toBe(true);
    expect(ropeSimd(x, c, s, new Float32Array(8), { ...params, headDim: 6 })).toBe(false);
  });

  it('matches float64 and the JS loop in float32, forward and inverse, and the JS loop keeps float64 exact', () => {
    const simd = new CpuBackend({ simd: true });
    const js = new CpuBackend({ simd: false });
    // [batch, seq, heads, headDim]: a vector per half, the models' heads, several chunks (32768 floats), odd halves.
    const shapes = [
      [1, 1, 1, 8],
      [3, 5, 2, 16],
      [8, 64, 2, 64],
      [3, 129, 6, 64],
      [2, 3, 2, 6],
      [1, 2, 1, 2],
    ];
    for (const [batch, seq, heads, headDim] of shapes as [number, number, number, number][]) {
      for (const inverse of [false, true]) {
        const p = { batch, seq, heads, headDim, inverse };
        const size = batch * seq * heads * headDim;
        const angles = Array.from({ length: (seq * headDim) / 2 }, (_, k) => k * 0.37);
        const [cos, sin] = [angles.map(Math.cos), angles.map(Math.sin)];
        const x = randomValues(size, size + headDim, 2);
        const f32 = (a: number[]) => a.map(Math.fround);
        const want = ropeReference(f32(x), f32(cos), f32(sin), p);
        const runOn = (on: CpuBackend, dtype: DType) => {
          const out = empty(dtype, size, on);
          const io = { x: storage(dtype, x, on), cos: storage(dtype, cos, on), sin: storage(dtype, sin, on), out };
          on.run('rope', io, p);
          return values(out);
        };
        for (const on of [simd, js]) expectClose(runOn(on, 'float32'), want, ROPE.abs, ROPE.rel);
        expectClose(runOn(simd, 'float64'), ropeReference(x, cos, sin, p), 1e-15, 1e-15);
      }
    }
  });
});
