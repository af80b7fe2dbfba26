/**
 * The WebAssembly SIMD SwiGLU kernels (silu-simd.ts) against the float64 formula and against the
 * JS loops a backend with `simd: false` keeps, at the conformance suite's transcendental tolerance.
 */
import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../../../src/backends/cpu/index.js';
import { siluMulBackwardSimd, siluMulSimd, simdSiluAvailable } from '../../../src/backends/cpu/silu-simd.js';
import { empty, expectClose, randomValues, storage, values } from './helpers.js';

// TRANSCENDENTAL in test/conformance/tolerances.ts.
const [ABS, REL] = [2e-6, 1e-5];
const SPECIAL = [0, -0, 1e-30, -1e-30, 20, -20, 87, -87, 90, -90, 200, -200, Number.NaN];

function inputs(size: number, seed: number) {
  const g = randomValues(size, seed, 12).map((x, i) => (i < SPECIAL.length ? (SPECIAL[i] as number) : x));
  return { g, u: randomValues(size, seed + 1, 2), dy: randomValues(size, seed + 2) };
}

/** silu(g) u and its gradients in float64, from inputs rounded to float32 as the kernels see them. */
function reference(g: number[], u: number[], dy: number[]) {
  const f = (x: number[]) => x.map(Math.fround);
  const [g32, u32, dy32] = [f(g), f(u), f(dy)];
  const s = g32.map((x) => 1 / (1 + Math.exp(-x)));
  return {
    y: g32.map((x, i) => x * (s[i] as number) * (u32[i] as number)),
    dg: g32.map((x, i) => {
      const si = s[i] as number;
      return (dy32[i] as number) * si * (u32[i] as number) * (1 + x * (1 - si));
    }),
    du: g32.map((x, i) => (dy32[i] as number) * (s[i] as number) * x),
  };
}

function run(on: CpuBackend, g: number[], u: number[], dy: number[]) {
  const size = g.length;
  const [gate, up, grad] = [storage('float32', g, on), storage('float32', u, on), storage('float32', dy, on)];
  const [out, dgate, dup] = [empty('float32', size, on), empty('float32', size, on), empty('float32', size, on)];
  on.run('siluMul', { gate, up, out }, {});
  on.run('siluMulBackward', { gate, up, dy: grad, dgate, dup }, {});
  return { y: values(out), dg: values(dgate), du: values(dup) };
}

describe('SIMD SwiGLU kernels', () => {
  it('are available in this engine and run on float32 arrays', () => {
    expect(simdSiluAvailable()).toBe(true);
    const one = Float32Array.of(1);
    expect(siluMulSimd(one, one, new Float32Array(1))).toBe(true);
    expect(siluMulBackwardSimd(one, one, one, new Float32Array(1), new Float32Array(1))).toBe(true);
  });

  it('match float64 and the JS loops, for sizes around the vector width and the chunk size', () => {
    const simd = new CpuBackend({ simd: true });
    const js = new CpuBackend({ simd: false });
    for (const size of [1, 3, 4, 13, 4096, 4096 * 2 + 7]) {
      const { g, u, dy } = inputs(size, size);
      const want = reference(g, u, dy);
      const fast = run(simd, g, u, dy);
      const loops = run(js, g, u, dy);
      for (const key of ['y', 'dg', 'du'] as const) {
        expectClose(fast[key], want[key], ABS, REL);
        expectClose(loops[key], want[key], ABS, REL);
      }
    }
  });

  it('refuses a simd option that is not a boolean', () => {
    expect(() => new CpuBackend({ simd: 'yes' as never })).toThrow(/simd must be true or false/);
  });
});
