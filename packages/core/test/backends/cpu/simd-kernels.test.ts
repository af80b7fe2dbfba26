/**
 * The WebAssembly SIMD kernels (SwiGLU: silu-simd.ts, AdamW: adamw-simd.ts) against float64
 * formulas and against the JS loops a backend with `simd: false` keeps, at the conformance
 * suite's tolerances for those kernels.
 */
import { describe, expect, it } from 'vitest';
import { adamwSimd } from '../../../src/backends/cpu/adamw-simd.js';
import { CpuBackend } from '../../../src/backends/cpu/index.js';
import { siluMulBackwardSimd, siluMulSimd, simdSiluAvailable } from '../../../src/backends/cpu/silu-simd.js';
import { empty, expectClose, randomValues, storage, values } from './helpers.js';

// TRANSCENDENTAL and adamw's in test/conformance/tolerances.ts.
const [ABS, REL] = [2e-6, 1e-5];
const ADAMW = { abs: 1e-6, rel: 1e-5 };
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

describe('SIMD kernels', () => {
  it('SwiGLU is available in this engine and runs on float32 arrays', () => {
    expect(simdSiluAvailable()).toBe(true);
    const one = Float32Array.of(1);
    expect(siluMulSimd(one, one, new Float32Array(1))).toBe(true);
    expect(siluMulBackwardSimd(one, one, one, new Float32Array(1), new Float32Array(1))).toBe(true);
  });

  it('SwiGLU matches float64 and the JS loops, for sizes around the vector width and the chunk size', () => {
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

  it('AdamW runs on float32 arrays', () => {
    const one = () => Float32Array.of(1);
    const params = { lr: 1, beta1: 0.9, beta2: 0.9, eps: 1, weightDecay: 0, biasCorrection1: 1, biasCorrection2: 1 };
    expect(adamwSimd(one(), one(), one(), one(), params)).toBe(true);
  });

  it('AdamW matches float64 and the JS loop over steps, for sizes around the vector width and the chunk size', () => {
    const simd = new CpuBackend({ simd: true });
    const js = new CpuBackend({ simd: false });
    const h = { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.05 };
    for (const size of [1, 3, 4, 13, 4096, 4096 * 2 + 7]) {
      const init = randomValues(size, size);
      const states = [simd, js].map((on) => ({
        on,
        p: storage('float32', init, on),
        m: empty('float32', size, on),
        v: empty('float32', size, on),
      }));
      let want = init.map((p) => ({ p: Math.fround(p), m: 0, v: 0 }));
      for (let step = 1; step <= 3; step++) {
        const grads = randomValues(size, size + step).map(Math.fround);
        const params = { ...h, biasCorrection1: 1 - h.beta1 ** step, biasCorrection2: 1 - h.beta2 ** step };
        for (const { on, p, m, v } of states)
          on.run('adamw', { param: p, grad: storage('float32', grads, on), m, v }, params);
        // Float64 from the float32 values, as PyTorch's formula; the conformance tolerance allows the rest.
        want = want.map(({ p, m, v }, i) => {
          const g = grads[i] as number;
          const m1 = h.beta1 * m + (1 - h.beta1) * g;
          const v1 = h.beta2 * v + (1 - h.beta2) * g * g;
          const decayed = p * (1 - h.lr * h.weightDecay);
          return {
            p: decayed - ((h.lr / params.biasCorrection1) * m1) / (Math.sqrt(v1 / params.biasCorrection2) + h.eps),
            m: m1,
            v: v1,
          };
        });
      }
      for (const { p, m, v } of states) {
        expectClose(
          values(p),
          want.map((w) => w.p),
          ADAMW.abs,
          ADAMW.rel,
        );
        expectClose(
          values(m),
          want.map((w) => w.m),
          ADAMW.abs,
          ADAMW.rel,
        );
        expectClose(
          values(v),
          want.map((w) => w.v),
          ADAMW.abs,
          ADAMW.rel,
        );
      }
      // The paths differ in arithmetic (float32 vs float64 rounded): somewhere in 4096 values, a last bit.
      const [fast, loop] = states.map((state) => values(state.p)) as [number[], number[]];
      if (size >= 4096) expect(fast.some((x, i) => x !== loop[i])).toBe(true);
    }
  });

  it('refuses a simd option that is not a boolean', () => {
    expect(() => new CpuBackend({ simd: 'yes' as never })).toThrow(/simd must be true or false/);
    expect(() => new CpuBackend({ simdd: false } as never)).toThrow(/CpuBackend: .*'simdd'/);
  });
});
