/**
 * The CPU backend's specialised loops (elementwise-fast.ts, adamw-f32.ts) against the generic
 * kernels they shortcut, which must give bit-identical results, and the buffer pool's contract.
 */
import { describe, expect, it } from 'vitest';
import { adamwFloat32 } from '../../../src/backends/cpu/adamw-f32.js';
import { giveArray, pooledArrayBytes, takeArray } from '../../../src/backends/cpu/buffer-pool.js';
import { binaryFlat } from '../../../src/backends/cpu/elementwise-fast.js';
import { add, manualSeed, matmul, mul, permute, randn, reshape, rmsNorm, tidy, transpose } from '../../../src/index.js';
import { backend, randomValues, storage, values } from './helpers.js';

describe('flat binary loops', () => {
  const shape = [3, 4];
  const full = [4, 1];
  const scalar = [0, 0];

  it('handle contiguous and broadcast-scalar operands and give the generic kernel results', () => {
    const a = randomValues(12, 1);
    const b = randomValues(12, 2);
    for (const op of ['add', 'sub', 'mul', 'div'] as const) {
      const layouts: [number[], number[]][] = [
        [full, full],
        [full, scalar],
        [scalar, full],
      ];
      for (const [aStrides, bStrides] of layouts) {
        const out = new Float32Array(12);
        expect(binaryFlat(op, Float32Array.from(a), Float32Array.from(b), out, { shape, aStrides, bStrides })).toBe(
          true,
        );
        const ref = storage('float32', new Array(12).fill(0));
        // A row-broadcast layout with the same elements runs the generic strided kernel.
        const expand = (v: number[], strides: number[]) =>
          storage('float32', strides === scalar ? new Array(12).fill(v[0]) : v);
        backend.run(
          'binary',
          { a: expand(a, aStrides), b: expand(b, bStrides), out: ref },
          {
            op,
            shape: [3, 2, 2],
            aStrides: [4, 2, 1],
            bStrides: [4, 2, 1],
          },
        );
        expect(Array.from(out)).toEqual(values(ref));
      }
    }
  });

  it('decline other ops, integer arrays and strided layouts', () => {
    const f = new Float32Array(12);
    expect(binaryFlat('maximum', f, f, new Float32Array(12), { shape, aStrides: full, bStrides: full })).toBe(false);
    expect(
      binaryFlat('add', new Int32Array(12), f, new Float32Array(12), { shape, aStrides: full, bStrides: full }),
    ).toBe(false);
    expect(binaryFlat('add', f, f, new Float32Array(12), { shape, aStrides: [1, 3], bStrides: full })).toBe(false);
    expect(
      binaryFlat('add', f, new Float32Array(4), new Float32Array(12), { shape, aStrides: full, bStrides: [0, 1] }),
    ).toBe(false);
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

describe('buffer pool', () => {
  it('hands a freed array back zeroed for the same dtype and size only', () => {
    const size = 4096;
    const first = takeArray('float32', size);
    first.fill(7);
    const before = pooledArrayBytes();
    giveArray('float32', first);
    expect(pooledArrayBytes()).toBe(before + size * 4);
    expect(takeArray('float64', size)).not.toBe(first);
    const again = takeArray('float32', size);
    expect(again).toBe(first);
    expect(again.every((x) => x === 0)).toBe(true);
    expect(pooledArrayBytes()).toBe(before);
  });

  it('skips small arrays, and storages freed by the backend come back zeroed', () => {
    const small = takeArray('float32', 8);
    giveArray('float32', small);
    expect(takeArray('float32', 8)).not.toBe(small);
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
    expect(kept).toBe(first);
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
    // Fill the pool with NaN arrays of every size the ops allocate, then run again.
    for (const size of [4800, 90000]) {
      for (let i = 0; i < 4; i++) giveArray('float32', new Float32Array(size).fill(Number.NaN));
    }
    expect(run()).toEqual(clean);
    x.dispose();
    w.dispose();
  });
});
