import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { View } from '../../../src/backend.js';
import { copySimd } from '../../../src/backends/cpu/copy-simd.js';
import { CpuBackend } from '../../../src/backends/cpu/index.js';
import { bfloat16BitsToFloat32, DTYPE_BYTES, float32ToBfloat16Bits } from '../../../src/dtype.js';
import { philoxFill } from '../../../src/random.js';
import { backend, dotIndex, empty, randomValues, storage, stridesOf, unravel, values } from './helpers.js';

describe('fill', () => {
  it('fills every dtype, encoding 16-bit floats and truncating integers', () => {
    const cases = [
      ['float32', 0.1, Math.fround(0.1)],
      ['float64', 0.1, 0.1],
      ['bfloat16', 0.1, bfloat16BitsToFloat32(float32ToBfloat16Bits(0.1))],
      ['float16', 1.5, 1.5],
      ['int32', -7.9, -7],
      ['uint8', 200, 200],
    ] as const;
    for (const [dtype, value, expected] of cases) {
      const out = empty(dtype, 5);
      backend.run('fill', { out }, { value });
      expect(values(out)).toEqual(new Array(5).fill(expected));
    }
  });
});

describe('random', () => {
  it('draws exactly the philoxFill reference stream for both distributions', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 300 }),
        fc.tuple(fc.nat({ max: 2 ** 32 - 1 }), fc.nat({ max: 2 ** 32 - 1 })),
        fc.nat({ max: 2 ** 40 }),
        fc.constantFrom('uniform', 'normal') as fc.Arbitrary<'uniform' | 'normal'>,
        (size, seed, offset, distribution) => {
          const [a, b] = distribution === 'uniform' ? [-2, 3] : [1, 0.5];
          const reference = new Float64Array(size);
          philoxFill(reference, distribution, seed, offset, a, b);
          const out64 = empty('float64', size);
          backend.run('random', { out: out64 }, { distribution, seed, offset, a, b });
          expect(values(out64)).toEqual(Array.from(reference));
          const out32 = empty('float32', size);
          backend.run('random', { out: out32 }, { distribution, seed, offset, a, b });
          expect(values(out32)).toEqual(Array.from(reference, Math.fround));
          const out16 = empty('bfloat16', size);
          backend.run('random', { out: out16 }, { distribution, seed, offset, a, b });
          expect(values(out16)).toEqual(Array.from(reference, (x) => bfloat16BitsToFloat32(float32ToBfloat16Bits(x))));
        },
      ),
      { numRuns: 40 },
    );
  });

  it('rejects integer outputs and malformed seeds', () => {
    expect(() =>
      backend.run(
        'random',
        { out: empty('int32', 4) },
        { distribution: 'uniform', seed: [1, 2], offset: 0, a: 0, b: 1 },
      ),
    ).toThrow(/out must be float32, float64, bfloat16 or float16; got int32/);
    expect(() =>
      backend.run(
        'random',
        { out: empty('float32', 4) },
        { distribution: 'uniform', seed: [1, -2] as never, offset: 0, a: 0, b: 1 },
      ),
    ).toThrow(/seed must be two unsigned 32-bit words/);
    expect(() =>
      backend.run(
        'random',
        { out: empty('float32', 4) },
        { distribution: 'gamma' as never, seed: [1, 2], offset: 0, a: 0, b: 1 },
      ),
    ).toThrow(/distribution must be "uniform" or "normal"/);
  });
});

describe('cast', () => {
  it('converts between every pair of dtypes', () => {
    const xs = [-3.75, -1, 0, 0.5, 2.25, 100];
    const expectedFor: Record<string, (x: number) => number> = {
      float32: Math.fround,
      float64: (x) => x,
      bfloat16: (x) => bfloat16BitsToFloat32(float32ToBfloat16Bits(x)),
      float16: (x) => x, // all of xs are exact in float16
      int32: Math.trunc,
      uint8: (x) => ((Math.trunc(x) % 256) + 256) % 256,
    };
    for (const from of ['float32', 'float64', 'bfloat16', 'float16'] as const) {
      const x = storage(from, xs);
      for (const [to, expected] of Object.entries(expectedFor)) {
        const out = empty(to as never, xs.length);
        backend.run('cast', { x, out }, {});
        expect(values(out), `${from} -> ${to}`).toEqual(xs.map(expected).map((v) => v + 0));
      }
    }
    const ints = storage('int32', [-5, 0, 300]);
    const floats = empty('float32', 3);
    backend.run('cast', { x: ints, out: floats }, {});
    expect(values(floats)).toEqual([-5, 0, 300]);
  });
});

describe('copy', () => {
  it('copies any permuted, offset view into any other view of the same shape', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 }).chain((shape) =>
          fc.tuple(
            fc.constant(shape),
            fc.shuffledSubarray(
              shape.map((_, d) => d),
              { minLength: shape.length, maxLength: shape.length },
            ),
            fc.nat({ max: 5 }),
            fc.nat({ max: 5 }),
          ),
        ),
        fc.constantFrom('float32', 'bfloat16', 'int32', 'uint8'),
        ([shape, perm, srcOffset, dstOffset], dtype) => {
          const size = shape.reduce((p, e) => p * e, 1);
          // The source is stored with its axes permuted (a transpose view); the destination is row-major.
          const storedShape = perm.map((d) => shape[d] as number);
          const storedStrides = stridesOf(storedShape);
          const srcStrides = shape.map((_, d) => storedStrides[perm.indexOf(d)] as number);
          const srcValues = randomValues(size + srcOffset, size, 100).map(Math.round);
          const src = storage(
            dtype,
            srcValues.map((v) => (dtype === 'uint8' ? Math.abs(v) : v)),
          );
          const dst = empty(dtype, size + dstOffset);
          backend.run(
            'copy',
            { src, dst },
            {
              srcView: { shape, strides: srcStrides, offset: srcOffset },
              dstView: {
                shape,
                strides: stridesOf(shape),
                offset: dstOffset,
              },
            },
          );
          const from = values(src);
          const got = values(dst);
          for (let i = 0; i < size; i++) {
            const index = unravel(i, shape);
            expect(got[dstOffset + i]).toBe(from[srcOffset + dotIndex(index, srcStrides)]);
          }
          for (let i = 0; i < dstOffset; i++) expect(got[i]).toBe(0);
        },
      ),
      {
        numRuns: 80,
        // Long contiguous rows (an attention head split) take the block-copy path.
        examples: [
          [[[2, 3, 4, 20], [0, 2, 1, 3], 1, 2], 'float32'],
          [[[3, 2, 17], [1, 0, 2], 0, 3], 'bfloat16'],
        ],
      },
    );
  });

  it('refuses mismatched shapes, dtypes and out-of-bounds views', () => {
    const a = storage('float32', [1, 2, 3, 4]);
    const b = empty('float32', 4);
    expect(() =>
      backend.run(
        'copy',
        { src: a, dst: b },
        { srcView: { shape: [2, 2], strides: [2, 1], offset: 0 }, dstView: { shape: [4], strides: [1], offset: 0 } },
      ),
    ).toThrow(/src view shape \[2, 2\] differs from dst view shape \[4\]/);
    expect(() =>
      backend.run(
        'copy',
        { src: a, dst: b },
        { srcView: { shape: [4], strides: [1], offset: 1 }, dstView: { shape: [4], strides: [1], offset: 0 } },
      ),
    ).toThrow(/reaches elements 1..4, outside its storage of 4 elements/);
    expect(() =>
      backend.run(
        'copy',
        { src: a, dst: empty('float64', 4) },
        {
          srcView: { shape: [4], strides: [1], offset: 0 },
          dstView: {
            shape: [4],
            strides: [1],
            offset: 0,
          },
        },
      ),
    ).toThrow(/use cast to convert/);
  });
});

describe('strided copy paths', () => {
  const simd = new CpuBackend({ simd: true });
  const js = new CpuBackend({ simd: false });
  const view = (shape: number[], strides: number[], offset = 0): View => ({ shape, strides, offset });
  /** A [b, t, h, d] tensor read as [b, h, t, d] (an attention head split), plus offsets. */
  const headSplit = (d: number, offset: number) => view([2, 3, 5, d], [15 * d, d, 3 * d, 1], offset);

  // Each case: source view, destination view (into a storage of `dstSize`), whether the SIMD kernel
  // takes it for 4-byte elements.
  const cases: [string, View, View, number, boolean][] = [
    ['head split', headSplit(8, 3), view([2, 3, 5, 8], stridesOf([2, 3, 5, 8]), 2), 242, true],
    ['expand a row', view([5, 12], [0, 1], 1), view([5, 12], [12, 1]), 60, true],
    ['rows of 6 elements', headSplit(6, 0), view([2, 3, 5, 6], stridesOf([2, 3, 5, 6])), 180, false],
    [
      'five outer dimensions',
      view([2, 2, 2, 2, 4], [4, 8, 16, 32, 1]),
      view([2, 2, 2, 2, 4], stridesOf([2, 2, 2, 2, 4])),
      64,
      false,
    ],
    ['a strided destination', view([4, 8], [8, 1]), view([4, 8], [16, 1], 1), 70, false],
    ['a transpose', view([6, 8], [1, 6]), view([6, 8], [8, 1]), 48, false],
    ['no elements', view([2, 0, 4], [4, 4, 1]), view([2, 0, 4], [0, 4, 1]), 8, false],
  ];

  it('take the SIMD kernel for dense destinations with rows of whole 16-byte vectors, and decline the rest', () => {
    for (const [name, srcView, dstView, dstSize, takes] of cases) {
      const from = new Int32Array(400).map((_, i) => i);
      const to = new Int32Array(dstSize);
      expect(copySimd(from, srcView, to, dstView), name).toBe(takes);
    }
    // Rows must be whole 16-byte vectors: six float64 are, six or four bfloat16 are not.
    const rows6 = [headSplit(6, 0), view([2, 3, 5, 6], stridesOf([2, 3, 5, 6]))] as const;
    expect(copySimd(new Float64Array(180), rows6[0], new Float64Array(180), rows6[1])).toBe(true);
    expect(copySimd(new Uint16Array(180), rows6[0], new Uint16Array(180), rows6[1])).toBe(false);
    const rows8 = [headSplit(8, 0), view([2, 3, 5, 8], stridesOf([2, 3, 5, 8]))] as const;
    expect(copySimd(new Uint16Array(240), rows8[0], new Uint16Array(240), rows8[1])).toBe(true);
    expect(
      copySimd(
        new Uint16Array(240),
        headSplit(4, 0),
        new Uint16Array(120),
        view([2, 3, 5, 4], stridesOf([2, 3, 5, 4])),
      ),
    ).toBe(false);
  });

  it('grow the kernel memory for a head split larger than its first page, matching the JS path', () => {
    const [b, t, h, d] = [2, 64, 6, 64];
    const size = b * t * h * d;
    const srcView = view([b, h, t, d], [t * h * d, d, h * d, 1]);
    const dstView = view([b, h, t, d], stridesOf([b, h, t, d]));
    const results = [simd, js].map((on) => {
      const src = storage('float32', randomValues(size, 13), on);
      const dst = empty('float32', size, on);
      on.run('copy', { src, dst }, { srcView, dstView });
      return values(dst);
    });
    const from = new Int32Array(size).map((_, i) => i);
    const to = new Int32Array(size);
    expect(copySimd(from, srcView, to, dstView)).toBe(true);
    // Element (b, h, t, d) of the destination is source element b t h d + t h d + h d + d.
    expect(to[stridesOf([b, h, t, d]).reduce((at, s, k) => at + s * [1, 2, 3, 4][k]!, 0)]).toBe(
      t * h * d + 3 * h * d + 2 * d + 4,
    );
    expect(results[0]).toEqual(results[1]);
  });

  it('agree with the per-element reference on both backends, bit for bit, for every element width', () => {
    // Random bytes: among the float32 patterns are NaNs with payloads, which a float conversion
    // could change, so every element is compared as its bytes.
    const bytes = Uint8Array.from(randomValues(8 * 400, 9, 256), (x) => Math.floor(Math.abs(x)));
    for (const [name, srcView, dstView, dstSize] of cases) {
      for (const dtype of ['float32', 'int32', 'float64', 'bfloat16', 'uint8'] as const) {
        const width = DTYPE_BYTES[dtype];
        const want = new Uint8Array(dstSize * width);
        const size = srcView.shape.reduce((p, e) => p * e, 1);
        for (let i = 0; i < size; i++) {
          const index = unravel(i, srcView.shape);
          const to = (dstView.offset + dotIndex(index, dstView.strides)) * width;
          const from = (srcView.offset + dotIndex(index, srcView.strides)) * width;
          want.set(bytes.subarray(from, from + width), to);
        }
        for (const on of [simd, js]) {
          const src = on.alloc(400, dtype, 'other');
          new Uint8Array(src.data.buffer, src.data.byteOffset, 400 * width).set(bytes.subarray(0, 400 * width));
          const dst = on.alloc(dstSize, dtype, 'other');
          on.run('copy', { src, dst }, { srcView, dstView });
          const got = new Uint8Array(dst.data.buffer, dst.data.byteOffset, dstSize * width);
          expect(Array.from(got), `${name} ${dtype} simd=${on.simd}`).toEqual(Array.from(want));
        }
      }
    }
  });
});
