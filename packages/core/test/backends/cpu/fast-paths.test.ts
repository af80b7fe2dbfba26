/**
 * The CPU backend's specialised loops (elementwise-fast.ts with its SIMD path, adamw-f32.ts) against
 * float64 references and the generic kernels they shortcut, which must give bit-identical results,
 * and the buffer pool's contract.
 */
import { describe, expect, it } from 'vitest';
import { adamwFloat32 } from '../../../src/backends/cpu/adamw-f32.js';
import { giveArray, pooledArrayBytes, takeArray } from '../../../src/backends/cpu/buffer-pool.js';
import { binaryArithmetic, periodOf } from '../../../src/backends/cpu/elementwise-fast.js';
import { CpuBackend } from '../../../src/backends/cpu/index.js';
import type { HostArray } from '../../../src/dtype.js';
import {
  add,
  causalSelfAttention,
  manualSeed,
  matmul,
  mul,
  permute,
  randn,
  reshape,
  rmsNorm,
  sum,
  tidy,
  transpose,
} from '../../../src/index.js';
import { backend, dotIndex, empty, randomValues, storage, unravel, values } from './helpers.js';

type Arithmetic = 'add' | 'sub' | 'mul' | 'div';
const ARITHMETIC: Record<Arithmetic, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
};

/** out[i] = a[at_a(i)] op b[at_b(i)] in float64, rounded once to float32 where `f32`. */
function arithmeticReference(
  op: Arithmetic,
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  shape: number[],
  aStrides: number[],
  bStrides: number[],
  f32: boolean,
): number[] {
  const size = shape.reduce((p, e) => p * e, 1);
  return Array.from({ length: size }, (_, i) => {
    const index = unravel(i, shape);
    const r = ARITHMETIC[op](a[dotIndex(index, aStrides)] as number, b[dotIndex(index, bStrides)] as number);
    return f32 ? Math.fround(r) : r;
  });
}

describe('arithmetic binary loops', () => {
  // Operand layouts over an output of `shape`: in order, one broadcast value, a broadcast row or
  // column, and a transposed (non-contiguous) read.
  function layouts(shape: number[]): Record<string, number[]> {
    const [rows, cols] = [shape[0] as number, shape[1] as number];
    return { full: [cols, 1], scalar: [0, 0], row: [0, 1], column: [1, 0], transposed: [1, rows] };
  }
  // 1 x 5 stays below the SIMD threshold; 2 x 4099 crosses the SIMD chunk and ends in a partial
  // vector, and its broadcast row is too long for a chunk; 12 x 384 has a broadcast row that
  // spans chunks of whole rows.
  const shapes = [
    [1, 5],
    [7, 13],
    [2, 4099],
    [12, 384],
  ];

  it('give the float64 reference, rounded once, for every op, layout, float array type and SIMD on or off', () => {
    for (const shape of shapes) {
      const size = (shape[0] as number) * (shape[1] as number);
      const a = randomValues(size, 1);
      const b = randomValues(size, 2).map((x) => x || 0.5);
      for (const [Array32or64, f32] of [
        [Float32Array, true],
        [Float64Array, false],
      ] as const) {
        for (const op of Object.keys(ARITHMETIC) as Arithmetic[]) {
          for (const aStrides of Object.values(layouts(shape))) {
            for (const bStrides of Object.values(layouts(shape))) {
              const [av, bv] = [Array32or64.from(a), Array32or64.from(b)];
              const want = arithmeticReference(op, av, bv, shape, aStrides, bStrides, f32);
              for (const simd of [true, false]) {
                const out = new Array32or64(size);
                expect(binaryArithmetic(op, av, bv, out, { shape, aStrides, bStrides }, simd)).toBe(true);
                expect(Array.from(out)).toEqual(want);
              }
            }
          }
        }
      }
    }
  });

  it('run in place (out the same array as an operand) and keep float64 outputs of float32 math rounded', () => {
    const shape = [4, 1000];
    const a = Float32Array.from(randomValues(4000, 3));
    const b = Float32Array.from(randomValues(4000, 4));
    const want = arithmeticReference('add', a, b, shape, [1000, 1], [1000, 1], true);
    expect(binaryArithmetic('add', a, b, a, { shape, aStrides: [1000, 1], bStrides: [1000, 1] }, true)).toBe(true);
    expect(Array.from(a)).toEqual(want);
    // float32 a, float64 b into a float64 output: the kernel rounds it on commit.
    const sa = storage('float32', randomValues(4000, 5));
    const sb = storage('float64', randomValues(4000, 6));
    const out = empty('float64', 4000);
    backend.run('binary', { a: sa, b: sb, out }, { op: 'mul', shape, aStrides: [1000, 1], bStrides: [1000, 1] });
    expect(values(out)).toEqual(arithmeticReference('mul', values(sa), values(sb), shape, [1000, 1], [1000, 1], true));
  });

  it('match the reference through the backend for 16-bit floats, whose results are rounded once on encode', () => {
    const shape = [3, 300];
    for (const dtype of ['bfloat16', 'float16'] as const) {
      const sa = storage(dtype, randomValues(900, 7));
      const sb = storage(dtype, randomValues(900, 8));
      for (const [aStrides, bStrides] of [
        [
          [300, 1],
          [300, 1],
        ],
        [
          [300, 1],
          [0, 0],
        ],
      ]) {
        const out = empty(dtype, 900);
        backend.run('binary', { a: sa, b: sb, out }, { op: 'sub', shape, aStrides, bStrides } as never);
        const want = storage(
          dtype,
          arithmeticReference('sub', values(sa), values(sb), shape, aStrides!, bStrides!, true),
        );
        expect(values(out)).toEqual(values(want));
      }
    }
  });

  it('run through the backend alike with SIMD on and off (the option reaches the kernel)', () => {
    const shape = [5, 999];
    const layout = { op: 'div' as const, shape, aStrides: [999, 1], bStrides: [999, 1] };
    const got = [new CpuBackend({ simd: true }), new CpuBackend({ simd: false })].map((on) => {
      const out = empty('float32', 4995, on);
      on.run(
        'binary',
        { a: storage('float32', randomValues(4995, 14), on), b: storage('float32', randomValues(4995, 15), on), out },
        layout,
      );
      return values(out);
    });
    const a = Float32Array.from(randomValues(4995, 14));
    const b = Float32Array.from(randomValues(4995, 15));
    expect(got[0]).toEqual(arithmeticReference('div', a, b, shape, [999, 1], [999, 1], true));
    expect(got[1]).toEqual(got[0]);
  });

  it('classify an operand as laid out like the output, a repeated prefix, or neither', () => {
    expect(periodOf([8192, 128, 1], [8, 64, 128])).toBe(0);
    expect(periodOf([0, 0, 0], [8, 64, 128])).toBe(1);
    expect(periodOf([0, 0, 1], [8, 64, 128])).toBe(128);
    expect(periodOf([0, 128, 1], [8, 64, 128])).toBe(8192);
    expect(periodOf([0, 5, 1], [3, 1, 128])).toBe(128);
    expect(periodOf([1, 0], [64, 128])).toBeNull();
    expect(periodOf([1, 64], [64, 128])).toBeNull();
    expect(periodOf([128, 0, 1], [8, 64, 128])).toBeNull();
  });

  it('decline other ops and integer arrays', () => {
    const f = new Float32Array(12);
    const layout = { shape: [3, 4], aStrides: [4, 1], bStrides: [4, 1] };
    expect(binaryArithmetic('maximum', f, f, new Float32Array(12), layout, true)).toBe(false);
    expect(binaryArithmetic('add', new Int32Array(12), f, new Float32Array(12), layout, true)).toBe(false);
    expect(binaryArithmetic('mul', f, f, new Int32Array(12), layout, true)).toBe(false);
  });
});

describe('float32 AdamW loop', () => {
  it('is bit-identical to the generic kernel', () => {
    const n = 257;
    const params = {
      lr: 1e-3,
      beta1: 0.9,
      beta2: 0.999,
      eps: 1e-8,
      weightDecay: 0.1,
      biasCorrection1: 0.19,
      biasCorrection2: 0.0199,
    };
    const init = () => [randomValues(n, 3), randomValues(n, 4, 0.1), randomValues(n, 5, 0.01).map(Math.abs)];
    const grads = Float32Array.from(randomValues(n, 6));
    const [p, m, v] = init().map((x) => Float32Array.from(x)) as [Float32Array, Float32Array, Float32Array];
    adamwFloat32(p, grads, m, v, params);
    // A float64 gradient storage keeps float32 precision but sends the step down the generic loop.
    const [sp, sm, sv] = init().map((x) => storage('float32', x));
    backend.run('adamw', { param: sp!, grad: storage('float64', Array.from(grads)), m: sm!, v: sv! }, params);
    expect(Array.from(p)).toEqual(values(sp!));
    expect(Array.from(m)).toEqual(values(sm!));
    expect(Array.from(v)).toEqual(values(sv!));
  });
});

/** Whether two arrays are the same memory (the arena hands a recycled block back as a new view). */
function sameMemory(a: HostArray, b: HostArray): boolean {
  return a.buffer === b.buffer && a.byteOffset === b.byteOffset && a.byteLength === b.byteLength;
}

describe('buffer pool', () => {
  it('hands a freed array back zeroed for the same dtype and size only', () => {
    const size = 4096;
    const first = takeArray('float32', size);
    first.fill(7);
    const before = pooledArrayBytes();
    giveArray('float32', first);
    expect(pooledArrayBytes()).toBe(before + size * 4);
    expect(sameMemory(takeArray('float64', size), first)).toBe(false);
    const again = takeArray('float32', size);
    expect(sameMemory(again, first)).toBe(true);
    expect(again.every((x) => x === 0)).toBe(true);
    expect(pooledArrayBytes()).toBe(before);
  });

  it('skips small arrays, and storages freed by the backend come back zeroed', () => {
    const small = takeArray('int32', 8);
    giveArray('int32', small);
    expect(sameMemory(takeArray('int32', 8), small)).toBe(false);
    const s = backend.alloc(5000, 'float32', 'activation');
    backend.run('fill', { out: s }, { value: 3 });
    backend.free(s);
    const t = backend.alloc(5000, 'float32', 'activation');
    expect(values(t).every((x) => x === 0)).toBe(true);
    expect(backend.tracker.snapshot().live.activation).toBe(5000 * 4);
    backend.free(t);
  });

  it('leaves a recycled array as it was for an uninitialized allocation only', () => {
    const size = 6000;
    const first = takeArray('float32', size);
    first.fill(7);
    giveArray('float32', first);
    const kept = takeArray('float32', size, false);
    expect(sameMemory(kept, first)).toBe(true);
    expect(kept.every((x) => x === 7)).toBe(true);
    // Through the backend: the uninitialized storage gets the old array, and the kernel that
    // overwrites it leaves no old value behind; the next default allocation reads zeros again.
    const s = backend.alloc(size, 'float32', 'activation');
    backend.run('fill', { out: s }, { value: 3 });
    backend.free(s);
    const u = backend.alloc(size, 'float32', 'activation', true);
    expect(values(u).every((x) => x === 3)).toBe(true);
    backend.run('fill', { out: u }, { value: 5 });
    expect(values(u).every((x) => x === 5)).toBe(true);
    backend.free(u);
    const z = backend.alloc(size, 'float32', 'activation');
    expect(values(z).every((x) => x === 0)).toBe(true);
    backend.free(z);
    expect(() => backend.alloc(4, 'float32', 'other', 'yes' as never)).toThrow(/uninitialized must be true or false/);
  });

  it('ops whose kernels overwrite their outputs give the same values on recycled memory', () => {
    manualSeed(3);
    const x = randn([16, 300]);
    const w = randn([300]);
    const run = () =>
      tidy(() => {
        const y = rmsNorm(add(mul(x, 2), x), w, 1e-5);
        const z = matmul(transpose(y), y);
        return [...permute(reshape(z, [3, 100, 300]), [2, 0, 1]).dataSync()];
      });
    const clean = run();
    // Leave NaN in the recycled memory of every size the ops allocate, then run again.
    poisonRecycled([4800, 90000], 4);
    expect(run()).toEqual(clean);
    x.dispose();
    w.dispose();
  });

  it('fused attention and its gradients are the same on recycled memory (no output read before written)', () => {
    manualSeed(4);
    // Grouped kv heads: q [2, 20, 4, 16], k and v [2, 20, 2, 16]; the sizes the pool serves.
    const q = randn([2, 20, 4, 16], { requiresGrad: true });
    const k = randn([2, 20, 2, 16], { requiresGrad: true });
    const v = randn([2, 20, 2, 16], { requiresGrad: true });
    const run = () => {
      for (const t of [q, k, v]) t.grad = null;
      const out = causalSelfAttention(q, k, v);
      const loss = sum(mul(out, out));
      loss.backward();
      const values = [...out.dataSync(), ...[q, k, v].flatMap((t) => [...t.grad!.dataSync()])];
      for (const t of [out, loss]) t.dispose();
      return values;
    };
    const clean = run();
    poisonRecycled([2560, 1280], 6);
    expect(run()).toEqual(clean);
  });
});

/**
 * Leaves `count` blocks of each size, filled with NaN, where the next float32 allocations of that
 * size come from (the WebAssembly arena's free lists, or the pool without an arena).
 */
function poisonRecycled(sizes: readonly number[], count: number): void {
  for (const size of sizes) {
    const arrays = Array.from({ length: count }, () => takeArray('float32', size));
    for (const array of arrays) array.fill(Number.NaN);
    for (const array of arrays) giveArray('float32', array);
  }
}
