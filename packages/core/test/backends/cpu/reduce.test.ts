import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backend, empty, expectClose, randomValues, storage, values } from './helpers.js';

const layoutArbitrary = fc.record({
  outer: fc.integer({ min: 0, max: 4 }),
  reduce: fc.integer({ min: 1, max: 9 }),
  inner: fc.integer({ min: 0, max: 5 }),
});

/** Straightforward reference: gathers each reduced fibre, then folds it. */
function referenceReduce(
  xs: number[],
  { outer, reduce, inner }: { outer: number; reduce: number; inner: number },
  fold: (fibre: number[]) => number,
): number[] {
  const out: number[] = [];
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const fibre = Array.from({ length: reduce }, (_, r) => xs[(o * reduce + r) * inner + i] as number);
      out.push(fold(fibre));
    }
  }
  return out;
}

describe('reduce and argmax', () => {
  it('sum, max, min and argmax match a fibre-by-fibre reference', () => {
    fc.assert(
      fc.property(
        layoutArbitrary,
        fc.constantFrom('float32', 'float64', 'bfloat16'),
        fc.integer(),
        (layout, dtype, seed) => {
          const size = layout.outer * layout.reduce * layout.inner;
          // Coarse values make ties likely, which tests "first maximum". (+ 0 turns -0 into 0:
          // which of two equal zeros max and min return is unspecified.)
          const x = storage(
            dtype,
            randomValues(size, seed, 3).map((v) => Math.round(v * 2) / 2 + 0),
          );
          const xs = values(x);
          const outSize = layout.outer * layout.inner;
          const sum = empty('float64', outSize);
          backend.run('reduce', { x, out: sum }, { op: 'sum', ...layout });
          const exactSums = referenceReduce(xs, layout, (f) => f.reduce((a, b) => a + b, 0));
          expectClose(values(sum), dtype === 'float64' ? exactSums : exactSums.map(Math.fround), 1e-12);
          for (const op of ['max', 'min'] as const) {
            const out = empty(dtype, outSize);
            backend.run('reduce', { x, out }, { op, ...layout });
            expect(values(out)).toEqual(
              referenceReduce(xs, layout, (f) => (op === 'max' ? Math.max(...f) : Math.min(...f))),
            );
          }
          const index = empty('int32', outSize);
          backend.run('argmax', { x, out: index }, layout);
          expect(values(index)).toEqual(referenceReduce(xs, layout, (f) => f.indexOf(Math.max(...f))));
        },
      ),
      { numRuns: 100 },
    );
  });

  it('reduces int32 and uint8 exactly', () => {
    const x = storage('int32', [2 ** 30, 2 ** 30, -5, 7]);
    const out = empty('float64', 2);
    backend.run('reduce', { x, out }, { op: 'sum', outer: 2, reduce: 2, inner: 1 });
    expect(values(out)).toEqual([2 ** 31, 2]);
    const bytes = storage('uint8', [3, 250, 9, 1]);
    const max = empty('uint8', 1);
    backend.run('reduce', { x: bytes, out: max }, { op: 'max', outer: 1, reduce: 4, inner: 1 });
    expect(values(max)).toEqual([250]);
    const wide = empty('int32', 1);
    backend.run('reduce', { x: bytes, out: wide }, { op: 'sum', outer: 1, reduce: 4, inner: 1 });
    expect(values(wide)).toEqual([263]);
  });

  it('propagates NaN through max and argmax', () => {
    const x = storage('float32', [1, Number.NaN, 3]);
    const out = empty('float32', 1);
    backend.run('reduce', { x, out }, { op: 'max', outer: 1, reduce: 3, inner: 1 });
    expect(values(out)[0]).toBeNaN();
    const index = empty('int32', 1);
    backend.run('argmax', { x, out: index }, { outer: 1, reduce: 3, inner: 1 });
    expect(values(index)).toEqual([1]);
  });

  it('sums an empty axis to 0 and refuses max of one', () => {
    const x = empty('float32', 0);
    const out = empty('float32', 3);
    backend.run('reduce', { x, out }, { op: 'sum', outer: 3, reduce: 0, inner: 1 });
    expect(values(out)).toEqual([0, 0, 0]);
    expect(() => backend.run('reduce', { x, out }, { op: 'max', outer: 3, reduce: 0, inner: 1 })).toThrow(/empty axis/);
  });

  it('checks layout sizes and the argmax dtype', () => {
    const x = storage('float32', randomValues(6, 1));
    expect(() =>
      backend.run('reduce', { x, out: empty('float32', 2) }, { op: 'sum', outer: 2, reduce: 2, inner: 2 }),
    ).toThrow(/x has 6 elements; expected outer \* reduce \* inner = 8/);
    expect(() => backend.run('argmax', { x, out: empty('float32', 2) }, { outer: 2, reduce: 3, inner: 1 })).toThrow(
      /out must be int32; got float32/,
    );
  });
});
