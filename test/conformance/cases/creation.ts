/** Conformance cases for creation and conversion: fill, random, cast, copy. */
import fc from 'fast-check';
import { floatDType, kernelCase, seed } from '../case.js';
import { seededValues } from '../io.js';
import { contiguousStrides, sizeOf } from '../layouts.js';

export const fillCase = kernelCase({
  name: 'fill',
  draw: (c) =>
    fc.record({
      dtype: fc.constantFrom(...c.allDTypes),
      size: fc.integer({ min: 0, max: 300 }),
      quarters: fc.integer({ min: -400, max: 800 }),
    }),
  run: (io, p) => {
    const out = io.empty(p.dtype, p.size);
    // Integer storages get whole non-negative values (fractional fills of integers are not specified).
    const integral = p.dtype === 'int32' || p.dtype === 'uint8';
    io.backend.run('fill', { out }, { value: integral ? Math.abs(Math.trunc(p.quarters / 4)) : p.quarters / 4 });
    return { out: { storage: out, tolerance: 'fill' } };
  },
});

export function randomCase(distribution: 'uniform' | 'normal') {
  return kernelCase({
    name: `random(${distribution})`,
    draw: (c) =>
      fc.record({
        dtype: floatDType(c),
        size: fc.integer({ min: 0, max: 600 }),
        key: fc.tuple(fc.nat({ max: 2 ** 32 - 1 }), fc.nat({ max: 2 ** 32 - 1 })),
        offset: fc.oneof(fc.nat({ max: 1000 }), fc.nat({ max: 2 ** 40 })),
      }),
    run: (io, p) => {
      const out = io.empty(p.dtype, p.size);
      const [a, b] = distribution === 'uniform' ? [-2, 3] : [0.5, 2];
      io.backend.run('random', { out }, { distribution, seed: p.key, offset: p.offset, a, b });
      return { out: { storage: out, tolerance: `random(${distribution})` } };
    },
  });
}

export const castCase = kernelCase({
  name: 'cast',
  draw: (c) =>
    fc.record({
      from: fc.constantFrom(...c.allDTypes),
      to: fc.constantFrom(...c.allDTypes),
      size: fc.integer({ min: 0, max: 200 }),
      seed,
    }),
  run: (io, p) => {
    // Values in [0, 200] fit every dtype; integer sources get integers, float ones fractions.
    const integral = p.from === 'int32' || p.from === 'uint8';
    const values = seededValues(p.size, p.seed, 0, 200).map((v) => (integral ? Math.floor(v) : Math.round(v * 8) / 8));
    const out = io.empty(p.to, p.size);
    io.backend.run('cast', { x: io.upload(p.from, values), out }, {});
    return { out: { storage: out, tolerance: 'cast' } };
  },
});

export const copyCase = kernelCase({
  name: 'copy',
  draw: (c) =>
    fc
      .record({
        dtype: fc.constantFrom(...c.allDTypes),
        shape: fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 4 }),
        srcOffset: fc.nat({ max: 7 }),
        dstOffset: fc.nat({ max: 7 }),
        seed,
      })
      .chain((p) =>
        fc.tuple(
          fc.constant(p),
          fc.shuffledSubarray(
            p.shape.map((_, d) => d),
            { minLength: p.shape.length, maxLength: p.shape.length },
          ),
        ),
      ),
  run: (io, [p, order]) => {
    // The source is a permuted (transposed) view; the destination a row-major window at an offset.
    const size = sizeOf(p.shape);
    const stored = contiguousStrides(order.map((d) => p.shape[d] as number));
    const srcStrides = p.shape.map((_, d) => stored[order.indexOf(d)] as number);
    const src = io.upload(p.dtype, seededValues(p.srcOffset + size, p.seed, 0, 100).map(Math.floor));
    const dst = io.filled(p.dtype, p.dstOffset + size + 3, 7);
    io.backend.run(
      'copy',
      { src, dst },
      {
        srcView: { shape: p.shape, strides: srcStrides, offset: p.srcOffset },
        dstView: {
          shape: p.shape,
          strides: contiguousStrides(p.shape),
          offset: p.dstOffset,
        },
      },
    );
    return { dst: { storage: dst, tolerance: 'copy' } };
  },
});
