/** Reductions and shape ops against hand-computed values. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  argmax,
  cat,
  expand,
  max,
  mean,
  min,
  narrow,
  norm,
  permute,
  reshape,
  slice,
  squeeze,
  stack,
  sum,
  type Tensor,
  tensor,
  tidy,
  transpose,
  unsqueeze,
} from '../../src/index.js';

const values = (t: Tensor): number[] => [...t.dataSync()];

describe('reductions', () => {
  // x = [[1, 5, 3],
  //      [4, 2, 6]]
  const make = () =>
    tensor([
      [1, 5, 3],
      [4, 2, 6],
    ]);

  it('sum over each axis, all, keepdim, negative axes and axis lists', () => {
    tidy(() => {
      const x = make();
      expect(values(sum(x, 0))).toEqual([5, 7, 9]);
      expect(sum(x, 0).shape).toEqual([3]);
      expect(values(sum(x, 1))).toEqual([9, 12]);
      expect(values(sum(x, -1))).toEqual([9, 12]);
      expect(sum(x, 1, true).shape).toEqual([2, 1]);
      expect(sum(x, 0, true).shape).toEqual([1, 3]);
      const all = sum(x);
      expect(all.shape).toEqual([]);
      expect(all.itemSync()).toBe(21);
      expect(sum(x, [0, 1], true).shape).toEqual([1, 1]);
      expect(sum(x, [1, 0]).itemSync()).toBe(21);
    });
  });

  it('mean, max, min, argmax', () => {
    tidy(() => {
      const x = make();
      expect(values(mean(x, 1))).toEqual([3, 4]);
      expect(mean(x).itemSync()).toBe(3.5);
      expect(values(max(x, 1))).toEqual([5, 6]);
      expect(values(max(x, 0))).toEqual([4, 5, 6]);
      expect(values(min(x, 0))).toEqual([1, 2, 3]);
      expect(min(x).itemSync()).toBe(1);
      const am = argmax(x, 1);
      expect(am.dtype).toBe('int32');
      expect(values(am)).toEqual([1, 2]);
      expect(argmax(x, 0, true).shape).toEqual([1, 3]);
      expect(values(argmax(x, 0))).toEqual([1, 0, 1]);
      expect(argmax(x).itemSync()).toBe(5);
      // First maximum wins on ties.
      expect(values(argmax(tensor([3, 7, 7, 1]), 0))).toEqual([1]);
    });
  });

  it('mean of an int32 tensor is float32', () => {
    tidy(() => {
      const m = mean(tensor([1, 2], { dtype: 'int32' }));
      expect(m.dtype).toBe('float32');
      expect(m.itemSync()).toBe(1.5);
    });
  });

  it('norm: sqrt of the sum of squares, over all or some axes', () => {
    tidy(() => {
      const x = make();
      expect(norm(x).itemSync()).toBeCloseTo(Math.sqrt(1 + 25 + 9 + 16 + 4 + 36), 5);
      const rows = norm(x, 2, 1);
      expect(rows.dataSync()[0]).toBeCloseTo(Math.sqrt(35), 5);
      expect(rows.dataSync()[1]).toBeCloseTo(Math.sqrt(56), 5);
      expect(() => norm(x, 1 as unknown as 2)).toThrow(/only the 2-norm/);
    });
  });

  it('norm: the gradient is x / ||x||, and 0 (not NaN) for an all-zero slice', () => {
    const x = tensor(
      [
        [3, 4],
        [0, 0],
      ],
      { requiresGrad: true },
    );
    tidy(() => norm(x, 2, 1).sum()).backward();
    expect(Array.from(x.grad!.dataSync())).toEqual([3 / 5, 4 / 5, 0, 0].map(Math.fround));
    x.zeroGrad();
    x.dispose();
  });

  it('non-adjacent axes ([0, 2] of a [2, 3, 2] tensor) against a plain-JS reference', () => {
    tidy(() => {
      const data = Array.from({ length: 12 }, (_, i) => (i * 7) % 11);
      const x = tensor(data, { shape: [2, 3, 2] });
      const expectedSum = [0, 0, 0];
      const expectedMax = [-Infinity, -Infinity, -Infinity];
      for (let a = 0; a < 2; a++)
        for (let b = 0; b < 3; b++)
          for (let c = 0; c < 2; c++) {
            const v = data[a * 6 + b * 2 + c]!;
            expectedSum[b]! += v;
            expectedMax[b] = Math.max(expectedMax[b]!, v);
          }
      expect(values(sum(x, [0, 2]))).toEqual(expectedSum);
      expect(sum(x, [0, 2], true).shape).toEqual([1, 3, 1]);
      expect(values(max(x, [2, 0]))).toEqual(expectedMax);
    });
  });

  it('sum over random axis sets agrees with a plain-JS reference', () => {
    const arb = fc
      .array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 4 })
      .chain((shape) => fc.record({ shape: fc.constant(shape), axes: fc.subarray([...shape.keys()]) }));
    fc.assert(
      fc.property(arb, ({ shape, axes }) => {
        const size = shape.reduce((p, d) => p * d, 1);
        const data = Array.from({ length: size }, (_, i) => i % 5);
        const outShape = shape.map((d, i) => (axes.includes(i) ? 1 : d));
        const expected = new Array<number>(outShape.reduce((p, d) => p * d, 1)).fill(0);
        for (let flat = 0; flat < size; flat++) {
          let rem = flat;
          const idx: number[] = [];
          for (let i = shape.length - 1; i >= 0; i--) {
            idx[i] = rem % shape[i]!;
            rem = Math.floor(rem / shape[i]!);
          }
          let o = 0;
          for (let i = 0; i < shape.length; i++) o = o * outShape[i]! + (axes.includes(i) ? 0 : idx[i]!);
          expected[o]! += data[flat]!;
        }
        tidy(() => {
          // An empty axis list reduces nothing (NumPy), undefined reduces everything.
          const r = sum(tensor(data, { shape }), axes, true);
          expect(r.shape).toEqual(outShape);
          expect(values(r)).toEqual(expected);
        });
      }),
      { numRuns: 30 },
    );
  });

  it('max / min gradient splits between tied extremes', () => {
    const x = tensor(
      [
        [1, 3, 3],
        [2, 0, 2],
      ],
      { requiresGrad: true },
    );
    tidy(() => max(x, 1).sum()).backward();
    expect(values(x.grad!)).toEqual([0, 0.5, 0.5, 0.5, 0, 0.5]);
    x.zeroGrad();
    tidy(() => min(x).mul(4)).backward();
    expect(values(x.grad!)).toEqual([0, 0, 0, 0, 4, 0]);
    x.zeroGrad();
    x.dispose();
  });

  it('errors: axis out of range names the axis and rank', () => {
    tidy(() => {
      const x = make();
      expect(() => sum(x, 2)).toThrow('sum: axis 2 is out of range for a tensor of rank 2');
      expect(() => max(x, -3)).toThrow('max: axis -3 is out of range for a tensor of rank 2');
      expect(() => argmax(x, 5)).toThrow(/argmax: axis 5 is out of range/);
    });
  });
});

describe('shape ops', () => {
  it('reshape shares storage, infers -1, and reports impossible targets', () => {
    tidy(() => {
      const x = tensor([1, 2, 3, 4, 5, 6]);
      const r = reshape(x, [2, -1]);
      expect(r.shape).toEqual([2, 3]);
      expect(r.storage).toBe(x.storage);
      expect(values(r)).toEqual([1, 2, 3, 4, 5, 6]);
      expect(x.view(3, 2).shape).toEqual([3, 2]);
      expect(x.reshape([1, 6, 1]).shape).toEqual([1, 6, 1]);
      expect(() => reshape(x, [4, 2])).toThrow('reshape: cannot reshape [6] (6 elements) into [4, 2]');
      expect(() => reshape(x, [-1, 4])).toThrow('reshape: cannot reshape [6] (6 elements) into [-1, 4]');
      expect(() => reshape(x, [-1, -1])).toThrow('reshape: only one dimension may be -1, got [-1, -1]');
      expect(() => reshape(x, [2.5, 2])).toThrow(/reshape/);
    });
  });

  it('squeeze and unsqueeze', () => {
    tidy(() => {
      const x = tensor([[[1, 2, 3]]]); // [1, 1, 3]
      expect(squeeze(x).shape).toEqual([3]);
      expect(squeeze(x, 1).shape).toEqual([1, 3]);
      expect(squeeze(x, 2).shape).toEqual([1, 1, 3]);
      expect(unsqueeze(x, -1).shape).toEqual([1, 1, 3, 1]);
      expect(unsqueeze(x, 0).shape).toEqual([1, 1, 1, 3]);
    });
  });

  it('transpose and the lazy .T of a [2, 3] matrix', () => {
    tidy(() => {
      const x = tensor([
        [1, 2, 3],
        [4, 5, 6],
      ]);
      const t = x.T;
      expect(t.shape).toEqual([3, 2]);
      expect(values(t)).toEqual([1, 4, 2, 5, 3, 6]);
      expect(values(transpose(x, 0, 1))).toEqual([1, 4, 2, 5, 3, 6]);
      // .T.T reads the original storage again.
      expect(x.T.T.storage).toBe(x.storage);
    });
  });

  it('transpose of the outer axes of a [2, 2, 3] tensor', () => {
    tidy(() => {
      const data = Array.from({ length: 12 }, (_, i) => i);
      const x = tensor(data, { shape: [2, 2, 3] });
      const t = transpose(x, 0, 1);
      expect(t.shape).toEqual([2, 2, 3]);
      // t[i][j][k] = x[j][i][k]
      const expected: number[] = [];
      for (let i = 0; i < 2; i++)
        for (let j = 0; j < 2; j++) for (let k = 0; k < 3; k++) expected.push(data[j * 6 + i * 3 + k]!);
      expect(values(t)).toEqual(expected);
    });
  });

  it('permute [2, 3, 4] by [2, 0, 1] against index arithmetic', () => {
    tidy(() => {
      const data = Array.from({ length: 24 }, (_, i) => i);
      const p = permute(tensor(data, { shape: [2, 3, 4] }), [2, 0, 1]);
      expect(p.shape).toEqual([4, 2, 3]);
      const expected: number[] = [];
      for (let c = 0; c < 4; c++)
        for (let a = 0; a < 2; a++) for (let b = 0; b < 3; b++) expected.push(a * 12 + b * 4 + c);
      expect(values(p)).toEqual(expected);
      expect(() => permute(tensor(data, { shape: [2, 3, 4] }), [0, 1])).toThrow(
        'permute: expected 3 axes for shape [2, 3, 4], got [0, 1]',
      );
      expect(() => permute(tensor(data, { shape: [2, 3, 4] }), [0, 1, 1])).toThrow('permute: axes repeat in [0, 1, 1]');
    });
  });

  it('narrow and slice', () => {
    tidy(() => {
      const x = tensor([
        [1, 2, 3, 4],
        [5, 6, 7, 8],
      ]);
      expect(values(narrow(x, 1, 1, 2))).toEqual([2, 3, 6, 7]);
      expect(values(narrow(x, 0, 1, 1))).toEqual([5, 6, 7, 8]);
      expect(values(slice(x, 1, -2))).toEqual([3, 4, 7, 8]);
      expect(values(slice(x, -1, 0, -3))).toEqual([1, 5]);
      expect(slice(x, 1, 3, 1).shape).toEqual([2, 0]);
      expect(() => narrow(x, 1, 3, 2)).toThrow('narrow: range [3, 5) is out of bounds for axis 1 of size 4');
    });
  });

  it('narrow gradient scatters into zeros', () => {
    const x = tensor([1, 2, 3, 4], { requiresGrad: true });
    tidy(() =>
      narrow(x, 0, 1, 2)
        .mul(tensor([10, 20]))
        .sum(),
    ).backward();
    expect(values(x.grad!)).toEqual([0, 10, 20, 0]);
    x.zeroGrad();
    x.dispose();
  });

  it('cat and stack', () => {
    tidy(() => {
      const a = tensor([
        [1, 2],
        [3, 4],
      ]);
      const b = tensor([[5], [6]]);
      expect(values(cat([a, b], 1))).toEqual([1, 2, 5, 3, 4, 6]);
      expect(values(cat([a, a], 0))).toEqual([1, 2, 3, 4, 1, 2, 3, 4]);
      expect(values(cat([a, b], -1))).toEqual([1, 2, 5, 3, 4, 6]);
      const s = stack([a, a.mul(10)], 1);
      expect(s.shape).toEqual([2, 2, 2]);
      expect(values(s)).toEqual([1, 2, 10, 20, 3, 4, 30, 40]);
      expect(() => cat([a, b], 0)).toThrow('cat: shapes [2, 2] and [2, 1] differ outside axis 0');
      expect(() => cat([a, a.to('float64')], 0)).toThrow('cat: dtypes differ: float32 and float64');
      expect(() => cat([], 0)).toThrow('cat: expected at least one tensor');
      expect(() => stack([a, b])).toThrow('stack: shapes differ: [2, 2] and [2, 1]');
    });
  });

  it('expand repeats size-1 axes and adds leading ones; gradient sums back', () => {
    const x = tensor([[1], [2], [3]], { requiresGrad: true }); // [3, 1]
    tidy(() => {
      const e = expand(x, [2, 3, 2]);
      expect(e.shape).toEqual([2, 3, 2]);
      expect(values(e)).toEqual([1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3]);
      expect(expand(x, [-1, 4]).shape).toEqual([3, 4]);
      expect(() => expand(x, [2, 2])).toThrow(/cannot be broadcast|cannot expand/);
      expect(expand(x, [2, -1, 4]).shape).toEqual([2, 3, 4]);
      expect(() => expand(x, [-1, 3, 4])).toThrow('expand: -1 is not allowed for the new leading axis 0 of [-1, 3, 4]');
      expect(() => expand(x, [4])).toThrow('expand: cannot expand shape [3, 1] to fewer dimensions [4]');
      return e.mul(tensor([1, 10])).sum();
    }).backward();
    // Each x[i] appears twice per batch, with weights 1 and 10, in 2 batches: 2 * 11 = 22.
    expect(values(x.grad!)).toEqual([22, 22, 22]);
    x.zeroGrad();
    x.dispose();
  });
});
