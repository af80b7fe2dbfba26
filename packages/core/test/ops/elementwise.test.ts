/** Elementwise ops against hand-computed values: broadcasting, dtype promotion, scalars, where, cast. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  abs,
  add,
  cast,
  cos,
  div,
  eq,
  exp,
  ge,
  gt,
  le,
  log,
  lt,
  maximum,
  minimum,
  mul,
  ne,
  neg,
  pow,
  reciprocal,
  relu,
  rsqrt,
  sigmoid,
  sign,
  silu,
  sin,
  sqrt,
  square,
  sub,
  type Tensor,
  tanh,
  tensor,
  tidy,
  where,
} from '../../src/index.js';

function values(t: Tensor): number[] {
  return [...t.dataSync()];
}

function close(actual: ArrayLike<number>, expected: readonly number[], tol = 1e-6): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    expect(
      Math.abs((actual[i] as number) - expected[i]!),
      `element ${i}: ${actual[i]} vs ${expected[i]}`,
    ).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(expected[i]!)));
  }
}

describe('binary ops: values', () => {
  it('add / sub / mul / div / pow on equal shapes', () => {
    tidy(() => {
      const a = tensor([1, 2, 3, 4]);
      const b = tensor([2, 4, 0.5, -2]);
      expect(values(add(a, b))).toEqual([3, 6, 3.5, 2]);
      expect(values(sub(a, b))).toEqual([-1, -2, 2.5, 6]);
      expect(values(mul(a, b))).toEqual([2, 8, 1.5, -8]);
      expect(values(div(a, b))).toEqual([0.5, 0.5, 6, -2]);
      expect(values(pow(a, tensor([3, 2, 0.5, -1])))).toEqual([1, 4, Math.fround(Math.sqrt(3)), 0.25]);
      expect(values(maximum(a, b))).toEqual([2, 4, 3, 4]);
      expect(values(minimum(a, b))).toEqual([1, 2, 0.5, -2]);
    });
  });

  it('broadcasts like NumPy: [2, 1] with [3] gives [2, 3]', () => {
    tidy(() => {
      const col = tensor([[1], [2]]);
      const row = tensor([10, 20, 30]);
      const s = add(col, row);
      expect(s.shape).toEqual([2, 3]);
      expect(values(s)).toEqual([11, 21, 31, 12, 22, 32]);
      const d = sub(row, col);
      expect(d.shape).toEqual([2, 3]);
      expect(values(d)).toEqual([9, 19, 29, 8, 18, 28]);
    });
  });

  it('broadcasts a 0-d tensor, size-1 middle axes and missing leading axes', () => {
    tidy(() => {
      const x = tensor([[[1, 2]], [[3, 4]]]); // [2, 1, 2]
      const y = tensor([
        [10, 20],
        [30, 40],
        [50, 60],
      ]); // [3, 2]
      const s = mul(x, y);
      expect(s.shape).toEqual([2, 3, 2]);
      expect(values(s)).toEqual([10, 40, 30, 80, 50, 120, 30, 80, 90, 160, 150, 240]);
      const z = add(tensor(5), x);
      expect(z.shape).toEqual([2, 1, 2]);
      expect(values(z)).toEqual([6, 7, 8, 9]);
    });
  });

  it('broadcasting agrees with a plain-JS NumPy reference on random shapes', () => {
    const dims = fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 3 });
    fc.assert(
      fc.property(dims, fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }), fc.nat(3), (full, ones, drop) => {
        const bShape = full.slice(Math.min(drop, full.length)).map((d, i) => (ones[i] ? 1 : d));
        const aValues = Array.from({ length: full.reduce((p, d) => p * d, 1) }, (_, i) => i + 1);
        const bValues = Array.from({ length: bShape.reduce((p, d) => p * d, 1) }, (_, i) => (i + 1) * 100);
        // Reference: for every output index, read b at the index with broadcast axes pinned to 0.
        const expected: number[] = [];
        const lead = full.length - bShape.length;
        for (let flat = 0; flat < aValues.length; flat++) {
          let rem = flat;
          const idx = new Array<number>(full.length);
          for (let i = full.length - 1; i >= 0; i--) {
            idx[i] = rem % full[i]!;
            rem = Math.floor(rem / full[i]!);
          }
          let bi = 0;
          for (let i = 0; i < bShape.length; i++) bi = bi * bShape[i]! + (bShape[i] === 1 ? 0 : idx[lead + i]!);
          expected.push(aValues[flat]! - bValues[bi]!);
        }
        tidy(() => {
          const a = tensor(aValues, { shape: full });
          const b = tensor(bValues, { shape: bShape });
          expect(values(sub(a, b))).toEqual(expected);
          // And with the operands swapped.
          expect(values(sub(b, a))).toEqual(expected.map((v) => -v));
        });
      }),
      { numRuns: 30 },
    );
  });

  it('scalar operands on either side', () => {
    tidy(() => {
      const x = tensor([1, 2, 4]);
      expect(values(add(x, 1))).toEqual([2, 3, 5]);
      expect(values(sub(10, x))).toEqual([9, 8, 6]);
      expect(values(div(1, x))).toEqual([1, 0.5, 0.25]);
      expect(values(pow(x, 2))).toEqual([1, 4, 16]);
      expect(values(pow(2, x))).toEqual([2, 4, 16]);
      expect(values(x.mul(3).sub(1))).toEqual([2, 5, 11]);
    });
  });

  it('comparisons give uint8 0 / 1', () => {
    tidy(() => {
      const a = tensor([1, 2, 3]);
      const b = tensor([3, 2, 1]);
      for (const [op, expected] of [
        [eq, [0, 1, 0]],
        [ne, [1, 0, 1]],
        [lt, [1, 0, 0]],
        [le, [1, 1, 0]],
        [gt, [0, 0, 1]],
        [ge, [0, 1, 1]],
      ] as const) {
        const r = op(a, b);
        expect(r.dtype).toBe('uint8');
        expect(values(r)).toEqual(expected);
      }
      expect(values(gt(a, 1.5))).toEqual([0, 1, 1]);
      expect(values(a.le(2))).toEqual([1, 1, 0]);
    });
  });
});

describe('dtype promotion', () => {
  it('int32 + float32 -> float32, int32 + int32 -> int32, int32 / int32 -> float32', () => {
    tidy(() => {
      const i = tensor([1, 2, 3], { dtype: 'int32' });
      const f = tensor([0.5, 0.5, 0.5]);
      const s = add(i, f);
      expect(s.dtype).toBe('float32');
      expect(values(s)).toEqual([1.5, 2.5, 3.5]);
      const ii = add(i, i);
      expect(ii.dtype).toBe('int32');
      expect(values(ii)).toEqual([2, 4, 6]);
      const q = div(i, tensor([2, 2, 2], { dtype: 'int32' }));
      expect(q.dtype).toBe('float32');
      expect(values(q)).toEqual([0.5, 1, 1.5]);
    });
  });

  it('scalars: an integer keeps int32, a fraction makes float32', () => {
    tidy(() => {
      const i = tensor([1, 2], { dtype: 'int32' });
      expect(add(i, 2).dtype).toBe('int32');
      const f = add(i, 0.5);
      expect(f.dtype).toBe('float32');
      expect(values(f)).toEqual([1.5, 2.5]);
      expect(mul(tensor([1, 2], { dtype: 'float64' }), 2).dtype).toBe('float64');
    });
  });

  it('float widths: f32 + f64 -> f64, bf16 + f16 -> f32, bf16 + f32 -> f32, uint8 + int32 -> int32', () => {
    tidy(() => {
      const f32 = tensor([1]);
      const f64 = tensor([1], { dtype: 'float64' });
      const bf16 = tensor([1], { dtype: 'bfloat16' });
      const f16 = tensor([1], { dtype: 'float16' });
      const u8 = tensor([1], { dtype: 'uint8' });
      const i32 = tensor([1], { dtype: 'int32' });
      expect(add(f32, f64).dtype).toBe('float64');
      expect(add(bf16, f16).dtype).toBe('float32');
      expect(values(add(bf16, f16))).toEqual([2]);
      expect(add(bf16, f32).dtype).toBe('float32');
      expect(add(bf16, bf16).dtype).toBe('bfloat16');
      expect(add(u8, i32).dtype).toBe('int32');
      expect(add(u8, u8).dtype).toBe('uint8');
      expect(gt(f64, i32).dtype).toBe('uint8');
    });
  });

  it('integer unary ops that stay integer (neg, abs, square) and ones that go float (exp, sqrt)', () => {
    tidy(() => {
      const i = tensor([-2, 3], { dtype: 'int32' });
      expect(neg(i).dtype).toBe('int32');
      expect(values(neg(i))).toEqual([2, -3]);
      expect(values(abs(i))).toEqual([2, 3]);
      expect(values(square(i))).toEqual([4, 9]);
      expect(exp(i).dtype).toBe('float32');
      expect(values(sqrt(tensor([4, 9], { dtype: 'int32' })))).toEqual([2, 3]);
    });
  });
});

describe('unary ops: values against Math', () => {
  const xs = [-1.5, -0.25, 0.5, 2];
  const pos = [0.25, 1, 2, 4];
  const sig = (x: number) => 1 / (1 + Math.exp(-x));
  const cases: [string, (t: Tensor) => Tensor, number[], (x: number) => number][] = [
    ['neg', neg, xs, (x) => -x],
    ['exp', exp, xs, Math.exp],
    ['log', log, pos, Math.log],
    ['sqrt', sqrt, pos, Math.sqrt],
    ['rsqrt', rsqrt, pos, (x) => 1 / Math.sqrt(x)],
    ['abs', abs, xs, Math.abs],
    ['sigmoid', sigmoid, xs, sig],
    ['silu', silu, xs, (x) => x * sig(x)],
    ['tanh', tanh, xs, Math.tanh],
    ['relu', relu, xs, (x) => Math.max(x, 0)],
    ['sign', sign, [-2, 0, 3, -0.5], Math.sign],
    ['square', square, xs, (x) => x * x],
    ['reciprocal', reciprocal, xs, (x) => 1 / x],
    ['sin', sin, xs, Math.sin],
    ['cos', cos, xs, Math.cos],
  ];
  for (const [name, op, input, ref] of cases) {
    it(`${name} (float64 exactly, float32 to rounding)`, () => {
      tidy(() => {
        const expected = input.map(ref);
        close(op(tensor(input, { dtype: 'float64' })).dataSync(), expected, 1e-14);
        const f = op(tensor(input));
        expect(f.dtype).toBe('float32');
        close(f.dataSync(), expected, 1e-6);
      });
    });
  }

  it('sigmoid and exp saturate without NaN', () => {
    tidy(() => {
      expect(values(sigmoid(tensor([-1000, 1000])))).toEqual([0, 1]);
      expect(values(exp(tensor([-1000])))).toEqual([0]);
    });
  });
});

describe('where and cast', () => {
  it('where picks per element with broadcasting of the condition and both branches', () => {
    tidy(() => {
      const cond = tensor([[1], [0]], { dtype: 'uint8' }); // [2, 1]
      const a = tensor([1, 2, 3]); // [3]
      const b = tensor(-1); // []
      const r = where(cond, a, b);
      expect(r.shape).toEqual([2, 3]);
      expect(values(r)).toEqual([1, 2, 3, -1, -1, -1]);
      expect(values(where(tensor([0, 1, 0], { dtype: 'uint8' }), 7, tensor([1, 2, 3])))).toEqual([1, 7, 3]);
    });
  });

  it('where gradient goes to the chosen branch, summed over broadcast axes', () => {
    const a = tensor([1, 2, 3], { requiresGrad: true });
    const b = tensor(0, { requiresGrad: true });
    const cond = tensor(
      [
        [1, 0, 1],
        [0, 0, 1],
      ],
      { dtype: 'uint8' },
    );
    tidy(() => where(cond, a, b).sum()).backward();
    expect(values(a.grad!)).toEqual([1, 0, 2]);
    expect(values(b.grad!)).toEqual([3]);
    for (const t of [a, b, cond]) {
      t.zeroGrad();
      t.dispose();
    }
  });

  it('cast rounds floats to nearest and truncates floats to integers toward zero', () => {
    tidy(() => {
      const x = tensor([2.7, -2.7, 0.5], { dtype: 'float64' });
      expect(values(cast(x, 'int32'))).toEqual([2, -2, 0]);
      expect(values(cast(tensor([1 / 3], { dtype: 'float64' }), 'float32'))).toEqual([Math.fround(1 / 3)]);
      // bf16 keeps 8 significant bits: 1 + 2^-8 rounds to 1 (tie to even), 1 + 3 * 2^-8 to 1 + 2^-6.
      expect(values(cast(tensor([1 + 2 ** -8, 1 + 3 * 2 ** -8]), 'bfloat16'))).toEqual([1, 1 + 2 ** -6]);
      const u = cast(tensor([0, 1, 1], { dtype: 'uint8' }), 'float32');
      expect(u.dtype).toBe('float32');
      expect(values(u)).toEqual([0, 1, 1]);
    });
  });

  it('cast gradients come back in the input dtype', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    tidy(() =>
      cast(x, 'float64')
        .mul(tensor([3, 4], { dtype: 'float64' }))
        .sum(),
    ).backward();
    expect(x.grad!.dtype).toBe('float32');
    expect(values(x.grad!)).toEqual([3, 4]);
    x.zeroGrad();
    x.dispose();
  });

  it('casts to integers cut the graph (no gradient through an integer)', () => {
    const x = tensor([1.5, 2.5], { requiresGrad: true });
    tidy(() => {
      const i = cast(x, 'int32');
      expect(i.requiresGrad).toBe(false);
      expect(i.gradFn).toBeNull();
    });
    x.dispose();
  });
});

describe('elementwise gradients by hand', () => {
  it('maximum / minimum split the gradient evenly on ties (as torch.maximum)', () => {
    const a = tensor([1, 2, 5], { requiresGrad: true });
    const b = tensor([1, 3, 4], { requiresGrad: true });
    tidy(() => maximum(a, b).sum()).backward();
    expect(values(a.grad!)).toEqual([0.5, 0, 1]);
    expect(values(b.grad!)).toEqual([0.5, 1, 0]);
    a.zeroGrad();
    b.zeroGrad();
    tidy(() => minimum(a, b).sum()).backward();
    expect(values(a.grad!)).toEqual([0.5, 1, 0]);
    expect(values(b.grad!)).toEqual([0.5, 0, 1]);
    for (const t of [a, b]) {
      t.zeroGrad();
      t.dispose();
    }
  });

  it('broadcast gradients are summed back: d/db sum(a * b) for a [2, 3], b [3]', () => {
    const a = tensor(
      [
        [1, 2, 3],
        [4, 5, 6],
      ],
      { requiresGrad: true },
    );
    const b = tensor([10, 20, 30], { requiresGrad: true });
    tidy(() => mul(a, b).sum()).backward();
    expect(values(b.grad!)).toEqual([5, 7, 9]);
    expect(values(a.grad!)).toEqual([10, 20, 30, 10, 20, 30]);
    for (const t of [a, b]) {
      t.zeroGrad();
      t.dispose();
    }
  });

  it('d/dx x^y = y x^(y-1) and d/dy = x^y ln x at x = 2, y = 3', () => {
    const x = tensor([2], { dtype: 'float64', requiresGrad: true });
    const y = tensor([3], { dtype: 'float64', requiresGrad: true });
    tidy(() => pow(x, y).sum()).backward();
    close(x.grad!.dataSync(), [12], 1e-15);
    close(y.grad!.dataSync(), [8 * Math.LN2], 1e-15);
    for (const t of [x, y]) {
      t.zeroGrad();
      t.dispose();
    }
  });
});
