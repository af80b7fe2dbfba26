/** matmul and the nn functions against hand-computed values and plain-JS float64 references. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/backends/cpu/index.js';
import {
  causalSelfAttention,
  crossEntropy,
  dropout,
  embedding,
  gelu,
  layerNorm,
  linear,
  logSoftmax,
  manualSeed,
  matmul,
  rmsNorm,
  rope,
  scaledDotProductAttention,
  siluMul,
  softmax,
  type Tensor,
  tensor,
  tidy,
  zeros,
} from '../../src/index.js';
import { erfcExact } from '../helpers/erf-reference.js';
import { prng } from '../helpers/gradcheck.js';

const values = (t: Tensor): number[] => [...t.dataSync()];

function close(actual: ArrayLike<number>, expected: readonly number[], tol = 1e-5): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs((actual[i] as number) - expected[i]!);
    expect(err, `element ${i}: ${actual[i]} vs ${expected[i]}`).toBeLessThanOrEqual(
      tol * Math.max(1, Math.abs(expected[i]!)),
    );
  }
}

/** Plain-JS batched matmul with NumPy broadcasting of the batch axes (operands of rank >= 2). */
function refMatmul(a: number[], aShape: number[], b: number[], bShape: number[]): { shape: number[]; data: number[] } {
  const [m, k] = aShape.slice(-2) as [number, number];
  const n = bShape[bShape.length - 1]!;
  const ab = aShape.slice(0, -2);
  const bb = bShape.slice(0, -2);
  const rank = Math.max(ab.length, bb.length);
  const batch: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = ab[ab.length - rank + i] ?? 1;
    const db = bb[bb.length - rank + i] ?? 1;
    batch.push(Math.max(da, db));
  }
  const count = batch.reduce((p, d) => p * d, 1);
  const index = (flat: number, own: number[]): number => {
    // Maps a flat batch index to the flat index of a (broadcast) operand batch.
    let rem = flat;
    const idx: number[] = [];
    for (let i = rank - 1; i >= 0; i--) {
      idx[i] = rem % batch[i]!;
      rem = Math.floor(rem / batch[i]!);
    }
    let o = 0;
    for (let i = 0; i < own.length; i++) o = o * own[i]! + (own[i] === 1 ? 0 : idx[rank - own.length + i]!);
    return o;
  };
  const data: number[] = [];
  for (let bi = 0; bi < count; bi++) {
    const ao = index(bi, ab) * m * k;
    const bo = index(bi, bb) * k * n;
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += a[ao + i * k + p]! * b[bo + p * n + j]!;
        data.push(s);
      }
  }
  return { shape: [...batch, m, n], data };
}

describe('matmul', () => {
  it('2 x 2 by hand', () => {
    tidy(() => {
      const c = matmul(
        tensor([
          [1, 2],
          [3, 4],
        ]),
        tensor([
          [5, 6],
          [7, 8],
        ]),
      );
      expect(values(c)).toEqual([19, 22, 43, 50]);
    });
  });

  it('1-D operands follow NumPy: vector @ matrix, matrix @ vector, dot', () => {
    tidy(() => {
      const m = tensor([
        [1, 2, 3],
        [4, 5, 6],
      ]); // [2, 3]
      const vm = matmul(tensor([1, 1]), m);
      expect(vm.shape).toEqual([3]);
      expect(values(vm)).toEqual([5, 7, 9]);
      const mv = matmul(m, tensor([1, 0, -1]));
      expect(mv.shape).toEqual([2]);
      expect(values(mv)).toEqual([-2, -2]);
      const dot = matmul(tensor([1, 2, 3]), tensor([4, 5, 6]));
      expect(dot.shape).toEqual([]);
      expect(dot.itemSync()).toBe(32);
      const batched = matmul(
        tensor([1, 1]),
        tensor([
          [
            [1, 2],
            [3, 4],
          ],
          [
            [5, 6],
            [7, 8],
          ],
        ]),
      );
      expect(batched.shape).toEqual([2, 2]);
      expect(values(batched)).toEqual([4, 6, 12, 14]);
    });
  });

  it('lazily transposed operands read through the transpose flag', () => {
    tidy(() => {
      const a = tensor([
        [1, 2],
        [3, 4],
        [5, 6],
      ]); // [3, 2]
      // a.T @ a = [[35, 44], [44, 56]]
      expect(values(matmul(a.T, a))).toEqual([35, 44, 44, 56]);
      // a @ a.T [3, 3]
      expect(values(matmul(a, a.T))).toEqual([5, 11, 17, 11, 25, 39, 17, 39, 61]);
      const t = a.T;
      matmul(t, a);
      // matmul did not materialise the lazy transpose.
      expect(t.transposeOf).not.toBeNull();
    });
  });

  it('batched, broadcast batch axes, lazy transposes: agrees with a plain-JS reference', () => {
    const dims = fc.integer({ min: 1, max: 4 });
    const batchArb = fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 2 });
    fc.assert(
      fc.property(
        batchArb,
        fc.array(fc.boolean(), { minLength: 2, maxLength: 2 }),
        fc.nat(2),
        dims,
        dims,
        dims,
        fc.boolean(),
        fc.boolean(),
        (batch, ones, drop, m, k, n, ta, tb) => {
          const ba = batch;
          const bb = batch.slice(Math.min(drop, batch.length)).map((d, i) => (ones[i] ? 1 : d));
          const rand = prng(m * 100 + k * 10 + n);
          const aShape = [...ba, m, k];
          const bShape = [...bb, k, n];
          const aData = Array.from({ length: aShape.reduce((p, d) => p * d, 1) }, () => Math.round(rand() * 8 - 4));
          const bData = Array.from({ length: bShape.reduce((p, d) => p * d, 1) }, () => Math.round(rand() * 8 - 4));
          const expected = refMatmul(aData, aShape, bData, bShape);
          // Stored transposed when requested: the op reads x.T of the stored [.., k, m] tensor.
          const store = (data: number[], shape: number[], transposed: boolean): number[] => {
            if (!transposed) return data;
            const [r, c] = shape.slice(-2) as [number, number];
            const out: number[] = [];
            for (let base = 0; base < data.length; base += r * c)
              for (let j = 0; j < c; j++) for (let i = 0; i < r; i++) out.push(data[base + i * c + j]!);
            return out;
          };
          const swap = (s: number[]) => [...s.slice(0, -2), s[s.length - 1]!, s[s.length - 2]!];
          tidy(() => {
            const a = ta
              ? tensor(store(aData, aShape, true), { shape: swap(aShape) }).T
              : tensor(aData, { shape: aShape });
            const b = tb
              ? tensor(store(bData, bShape, true), { shape: swap(bShape) }).T
              : tensor(bData, { shape: bShape });
            const c = matmul(a, b);
            expect(c.shape).toEqual(expected.shape);
            expect(values(c)).toEqual(expected.data);
            // Swapped operand order broadcasts the same way.
            const c2 = matmul(b.transpose(), a.transpose());
            expect(c2.shape).toEqual(swap(expected.shape));
          });
        },
      ),
      { numRuns: 40 },
    );
  });

  it('float64 with float32 promotes to float64; bf16 operands give bf16', () => {
    tidy(() => {
      const c = matmul(tensor([[1, 2]], { dtype: 'float64' }), tensor([[3], [4]]));
      expect(c.dtype).toBe('float64');
      expect(c.itemSync()).toBe(11);
      const h = matmul(tensor([[1, 2]], { dtype: 'bfloat16' }), tensor([[3], [4]], { dtype: 'bfloat16' }));
      expect(h.dtype).toBe('bfloat16');
      expect(h.itemSync()).toBe(11);
    });
  });

  it('errors name both shapes', () => {
    tidy(() => {
      const a = tensor(new Float32Array(32), { shape: [4, 8] });
      const b = tensor(new Float32Array(21), { shape: [7, 3] });
      expect(() => matmul(a, b)).toThrow('matmul: inner dimensions differ: a is [4, 8], b is [7, 3]');
      expect(() => matmul(tensor([1, 2]), tensor([1, 2, 3]))).toThrow(
        'matmul: inner dimensions differ: a is [2], b is [3]',
      );
      expect(() => matmul(tensor(1), tensor([1]))).toThrow(/at least one dimension/);
      const x = tensor(new Float32Array(2 * 2 * 2), { shape: [2, 2, 2] });
      const y = tensor(new Float32Array(3 * 2 * 2), { shape: [3, 2, 2] });
      expect(() => matmul(x, y)).toThrow('matmul (batch dimensions): shapes [2] and [3] cannot be broadcast together');
      expect(() => matmul(tensor([[1]], { dtype: 'int32' }), tensor([[1]]))).toThrow(
        /matmul: expected floating tensors/,
      );
    });
  });

  it('gradients by hand: C = A B, dL/dA = G B^T, dL/dB = A^T G', () => {
    const A = tensor(
      [
        [1, 2],
        [3, 4],
      ],
      { requiresGrad: true },
    );
    const B = tensor(
      [
        [5, 6],
        [7, 8],
      ],
      { requiresGrad: true },
    );
    const G = tensor([
      [1, 0],
      [0, 2],
    ]);
    tidy(() => matmul(A, B).mul(G).sum()).backward();
    // G B^T = [[5, 7], [12, 16]]; A^T G = [[1, 6], [2, 8]]
    expect(values(A.grad!)).toEqual([5, 7, 12, 16]);
    expect(values(B.grad!)).toEqual([1, 6, 2, 8]);
    for (const t of [A, B, G]) {
      t.zeroGrad();
      t.dispose();
    }
  });
});

describe('softmax family', () => {
  const ref = (row: number[]) => {
    const mx = Math.max(...row);
    const e = row.map((v) => Math.exp(v - mx));
    const s = e.reduce((p, v) => p + v, 0);
    return e.map((v) => v / s);
  };

  it('softmax and logSoftmax of rows, and along axis 0', () => {
    tidy(() => {
      const x = tensor([
        [1, 2, 3],
        [0, 0, 1000],
      ]);
      close(softmax(x).dataSync(), [...ref([1, 2, 3]), 0, 0, 1]);
      close(logSoftmax(x).dataSync(), [...ref([1, 2, 3]).map(Math.log), -1000, -1000, 0]);
      const s0 = softmax(
        tensor([
          [1, 2],
          [3, 5],
        ]),
        0,
      );
      const c0 = ref([1, 3]);
      const c1 = ref([2, 5]);
      close(s0.dataSync(), [c0[0]!, c1[0]!, c0[1]!, c1[1]!]);
      expect(() => softmax(tensor([1], { dtype: 'int32' }))).toThrow('softmax: expected a floating tensor, got int32');
    });
  });

  it('crossEntropy: ln 2 for two equal logits; ignore index; mean over counted rows; sum; none', () => {
    tidy(() => {
      const logits = tensor([
        [0, 0],
        [1, 3],
        [2, 2],
      ]);
      const lse = Math.log(Math.exp(1) + Math.exp(3));
      const targets = tensor([0, 0, -100], { dtype: 'int32' });
      const perRow = crossEntropy(logits, targets, { reduction: 'none' });
      close(perRow.dataSync(), [Math.LN2, lse - 1, 0]);
      close([crossEntropy(logits, targets).itemSync()], [(Math.LN2 + lse - 1) / 2]);
      close([crossEntropy(logits, targets, { reduction: 'sum' }).itemSync()], [Math.LN2 + lse - 1]);
      // ignoreIndex set to a class: rows with target 1 are skipped.
      const t2 = tensor([1, 1, 0], { dtype: 'int32' });
      close([crossEntropy(logits, t2, { ignoreIndex: 1 }).itemSync()], [Math.LN2]);
      // All ignored: the mean is 0, not NaN.
      expect(crossEntropy(logits, tensor([-100, -100, -100], { dtype: 'int32' })).itemSync()).toBe(0);
    });
  });

  it('crossEntropy gradient: (softmax - onehot) / count, zero on ignored rows', () => {
    const logits = tensor(
      [
        [0, 0],
        [1, 3],
        [2, 2],
      ],
      { requiresGrad: true },
    );
    const targets = tensor([0, 1, -100], { dtype: 'int32' });
    tidy(() => crossEntropy(logits, targets)).backward();
    const p = ref([1, 3]);
    close(logits.grad!.dataSync(), [(0.5 - 1) / 2, 0.5 / 2, p[0]! / 2, (p[1]! - 1) / 2, 0, 0]);
    logits.zeroGrad();
    logits.dispose();
    targets.dispose();
  });

  it('crossEntropy errors', () => {
    tidy(() => {
      const logits = tensor([
        [0, 0],
        [1, 3],
      ]);
      expect(() => crossEntropy(logits, tensor([0, 1]))).toThrow('crossEntropy: targets must be int32, got float32');
      expect(() => crossEntropy(logits, tensor([0, 1, 1], { dtype: 'int32' }))).toThrow(
        'crossEntropy: targets [3] do not match logits [2, 2] (expected [2])',
      );
    });
  });
});

describe('rmsNorm, rope, siluMul, linear, embedding, dropout, attention', () => {
  it('rmsNorm by hand: x = [3, 4], w = [1, 2], eps = 0', () => {
    tidy(() => {
      const rms = Math.sqrt((9 + 16) / 2);
      close(rmsNorm(tensor([[3, 4]]), tensor([1, 2]), 0).dataSync(), [3 / rms, 8 / rms]);
      expect(() => rmsNorm(tensor([[3, 4]]), tensor([1, 2, 3]))).toThrow(
        'rmsNorm: weight must have shape [2] for input [1, 2], got [3]',
      );
    });
  });

  it('layerNorm by hand: x = [1, 2, 6], w = [1, 2, 3], b = [0, 1, -1]; mean and variance per row', () => {
    tidy(() => {
      // mean 3, biased variance (4 + 1 + 9) / 3.
      const inv = 1 / Math.sqrt(14 / 3 + 1e-5);
      const x = tensor(
        [
          [1, 2, 6],
          [5, 5, 5],
        ],
        { dtype: 'float64' },
      );
      const y = layerNorm(x, tensor([1, 2, 3], { dtype: 'float64' }), tensor([0, 1, -1], { dtype: 'float64' }));
      close(y.dataSync(), [-2 * inv, 1 - 2 * inv, -1 + 9 * inv, 0, 1, -1], 1e-14);
      expect(() => layerNorm(x, tensor([1, 2, 3]), tensor([1, 2]))).toThrow(
        'layerNorm: bias must have shape [3] for input [2, 3], got [2]',
      );
      expect(() => layerNorm(x, tensor([1, 2, 3]), tensor([0, 0, 0]), -1)).toThrow(
        'layerNorm: eps must be >= 0, got -1',
      );
    });
  });

  it('gelu is x/2 (1 + erf(x / sqrt 2)) to float64 accuracy, relative in the left tail; float32 rounds once', () => {
    tidy(() => {
      const xs = [-12, -6, -3.2, -1.5, -0.3, 0, 1e-3, 0.7, 2.5, 5, 40];
      // x/2 erfc(-x / sqrt 2): for x << 0 the value is tiny and 1 + erf(x / sqrt 2) would cancel.
      const reference = (x: number) => 0.5 * x * erfcExact(-x / Math.SQRT2);
      const got64 = gelu(tensor(xs, { dtype: 'float64' })).dataSync();
      for (const [i, x] of xs.entries()) {
        expect(Math.abs((got64[i] as number) - reference(x))).toBeLessThanOrEqual(4e-16 * Math.max(1, Math.abs(x)));
      }
      for (const [i, x] of [-12, -6].entries())
        expect(Math.abs((got64[i] as number) / reference(x) - 1)).toBeLessThan(1e-13);
      const got32 = gelu(tensor(xs)).dataSync();
      for (const [i, x] of xs.entries()) expect(got32[i]).toBe(Math.fround(reference(Math.fround(x))));
    });
  });

  it('rope rotates (x_i, x_{i+h}) pairs by the table angle (rotate_half)', () => {
    tidy(() => {
      const th = 0.3;
      const ph = 1.1;
      // [batch 1, seq 1, heads 1, headDim 4], half = 2: pairs (x0, x2) by th and (x1, x3) by ph.
      const x = tensor([1, 2, 3, 4], { shape: [1, 1, 1, 4] });
      const tables = { cos: tensor([[Math.cos(th), Math.cos(ph)]]), sin: tensor([[Math.sin(th), Math.sin(ph)]]) };
      const y = rope(x, tables);
      close(y.dataSync(), [
        1 * Math.cos(th) - 3 * Math.sin(th),
        2 * Math.cos(ph) - 4 * Math.sin(ph),
        3 * Math.cos(th) + 1 * Math.sin(th),
        4 * Math.cos(ph) + 2 * Math.sin(ph),
      ]);
      expect(() => rope(tensor([1, 2, 3, 4], { shape: [1, 1, 4] }), tables)).toThrow(
        /rope: expected x of shape \[batch, seq, heads, headDim\]/,
      );
      expect(() => rope(tensor(new Float32Array(8), { shape: [1, 2, 1, 4] }), tables)).toThrow(
        'rope: tables must have shape [2, 2], got [1, 2] and [1, 2]',
      );
    });
  });

  it('siluMul = silu(gate) * up', () => {
    tidy(() => {
      const s = (x: number) => x / (1 + Math.exp(-x));
      close(siluMul(tensor([-1, 0.5, 2]), tensor([2, 3, -1])).dataSync(), [2 * s(-1), 3 * s(0.5), -s(2)]);
      expect(() => siluMul(tensor([1, 2]), tensor([1]))).toThrow(
        'siluMul: gate [2] and up [1] must have the same shape',
      );
    });
  });

  it('linear: x W^T + b with W stored [out, in]', () => {
    tidy(() => {
      const x = tensor([[1, 2, 3]]);
      const w = tensor([
        [1, 0, 0],
        [0, 1, 1],
      ]);
      expect(values(linear(x, w, tensor([10, 20])))).toEqual([11, 25]);
      expect(values(linear(tensor([1, 2, 3]), w))).toEqual([1, 5]);
      expect(() => linear(tensor([[1, 2]]), w)).toThrow(
        'linear: input features differ: x is [1, 2], weight is [2, 3] (expected x[..., 3])',
      );
    });
  });

  it('embedding gathers rows; repeated ids accumulate in the table gradient', () => {
    const table = tensor(
      [
        [1, 2],
        [3, 4],
        [5, 6],
      ],
      { requiresGrad: true },
    );
    const ids = tensor(
      [
        [2, 0],
        [2, 2],
      ],
      { dtype: 'int32' },
    );
    tidy(() => {
      const e = embedding(ids, table);
      expect(e.shape).toEqual([2, 2, 2]);
      expect(values(e)).toEqual([5, 6, 1, 2, 5, 6, 5, 6]);
      return e.mul(tensor([1, 10])).sum();
    }).backward();
    expect(values(table.grad!)).toEqual([1, 10, 0, 0, 3, 30]);
    table.zeroGrad();
    table.dispose();
    ids.dispose();
    expect(() => embedding(tensor([0]), tensor([[1]]))).toThrow('embedding: ids must be int32, got float32');
  });

  it('dropout: identity when p = 0 or not training; otherwise 0 or x / (1 - p), about p zeroed', () => {
    tidy(() => {
      manualSeed(7);
      const x = tensor(new Float32Array(10_000).fill(3));
      expect(values(dropout(x, 0))).toEqual(values(x));
      expect(values(dropout(x, 0.9, false))).toEqual(values(x));
      const y = values(dropout(x, 0.25));
      const zeros = y.filter((v) => v === 0).length;
      expect(y.every((v) => v === 0 || Math.abs(v - 4) < 1e-6)).toBe(true);
      // Binomial(10000, 0.25): std = 43.3; allow 5 sigma.
      expect(Math.abs(zeros - 2500)).toBeLessThan(217);
      expect(() => dropout(x, 1)).toThrow('dropout: p must be in [0, 1), got 1');
    });
  });

  it('dropout gradient: the kept elements get 1 / (1 - p), the dropped ones 0', () => {
    manualSeed(11);
    const x = tensor(new Float32Array(64).fill(1), { requiresGrad: true });
    const out = tidy(() => dropout(x, 0.5));
    out.sum().backward();
    // With x = 1 the output is the mask scaled by 2, and so is the gradient.
    const o = values(out);
    expect(o.some((v) => v === 0) && o.some((v) => v === 2)).toBe(true);
    expect(values(x.grad!)).toEqual(o);
    x.zeroGrad();
    x.dispose();
    out.dispose();
  });

  it('scaledDotProductAttention against a plain-JS reference, causal and not, Sq < Sk', () => {
    const rand = prng(42);
    const sq = 2;
    const sk = 3;
    const d = 2;
    const q = Array.from({ length: sq * d }, () => rand() * 2 - 1);
    const k = Array.from({ length: sk * d }, () => rand() * 2 - 1);
    const v = Array.from({ length: sk * d }, () => rand() * 2 - 1);
    const ref = (causal: boolean) => {
      const out: number[] = [];
      for (let i = 0; i < sq; i++) {
        const scores: number[] = [];
        for (let j = 0; j < sk; j++) {
          let s = 0;
          for (let c = 0; c < d; c++) s += q[i * d + c]! * k[j * d + c]!;
          // Query i sees keys j <= i + (sk - sq).
          scores.push(causal && j > i + sk - sq ? -Infinity : s / Math.sqrt(d));
        }
        const mx = Math.max(...scores);
        const e = scores.map((s) => Math.exp(s - mx));
        const tot = e.reduce((a, b) => a + b, 0);
        for (let c = 0; c < d; c++) out.push(e.reduce((acc, w, j) => acc + (w / tot) * v[j * d + c]!, 0));
      }
      return out;
    };
    tidy(() => {
      const Q = tensor(q, { shape: [1, sq, d], dtype: 'float64' });
      const K = tensor(k, { shape: [1, sk, d], dtype: 'float64' });
      const V = tensor(v, { shape: [1, sk, d], dtype: 'float64' });
      close(scaledDotProductAttention(Q, K, V).dataSync(), ref(false), 1e-12);
      close(scaledDotProductAttention(Q, K, V, { causal: true }).dataSync(), ref(true), 1e-12);
    });
  });
  it('causalSelfAttention on [batch, seq, heads, dim] with grouped kv heads, fused and composed, against plain JS', () => {
    const [batch, sq, sk, heads, kvHeads, d] = [2, 3, 5, 4, 2, 3];
    const rand = prng(7);
    const draw = (n: number) => Array.from({ length: n }, () => rand() * 2 - 1);
    const [q, k, v] = [draw(batch * sq * heads * d), draw(batch * sk * kvHeads * d), draw(batch * sk * kvHeads * d)];
    const at = (b: number, s: number, count: number, h: number, len: number) => ((b * len + s) * count + h) * d;
    const expected: number[] = new Array(q.length).fill(0);
    for (let b = 0; b < batch; b++) {
      for (let h = 0; h < heads; h++) {
        const g = Math.floor(h / (heads / kvHeads));
        for (let i = 0; i < sq; i++) {
          const seen = i + sk - sq + 1;
          const scores = Array.from({ length: seen }, (_, j) => {
            let s = 0;
            for (let c = 0; c < d; c++) s += q[at(b, i, heads, h, sq) + c]! * k[at(b, j, kvHeads, g, sk) + c]!;
            return s / Math.sqrt(d);
          });
          const mx = Math.max(...scores);
          const e = scores.map((x) => Math.exp(x - mx));
          const tot = e.reduce((x, y) => x + y, 0);
          for (let c = 0; c < d; c++)
            expected[at(b, i, heads, h, sq) + c] = e.reduce(
              (acc, w, j) => acc + (w / tot) * v[at(b, j, kvHeads, g, sk) + c]!,
              0,
            );
        }
      }
    }
    // A CPU backend without the fused kernel takes the composed path (permute, repeat, softmax).
    class ComposedAttention extends CpuBackend {
      override implements(name: string): boolean {
        return name !== 'causalAttention' && super.implements(name);
      }
    }
    for (const backend of [new CpuBackend(), new ComposedAttention()]) {
      tidy(() => {
        const options = { dtype: 'float64', backend } as const;
        const Q = tensor(q, { ...options, shape: [batch, sq, heads, d] });
        const K = tensor(k, { ...options, shape: [batch, sk, kvHeads, d] });
        const V = tensor(v, { ...options, shape: [batch, sk, kvHeads, d] });
        const out = causalSelfAttention(Q, K, V);
        expect(out.shape).toEqual([batch, sq, heads, d]);
        close(out.dataSync(), expected, 1e-12);
      });
    }
  });

  it('causalSelfAttention refuses mismatched shapes by name', () => {
    tidy(() => {
      const q = zeros([1, 2, 4, 3]);
      expect(() => causalSelfAttention(q, zeros([1, 2, 3, 3]), zeros([1, 2, 3, 3]))).toThrow(/kvHeads dividing 4/);
      expect(() => causalSelfAttention(q, zeros([1, 2, 2, 2]), zeros([1, 2, 2, 2]))).toThrow(
        /causalSelfAttention: k and v/,
      );
      expect(() => causalSelfAttention(zeros([2, 4, 3]), q, q)).toThrow(/causalSelfAttention: q, k and v must be/);
    });
  });

  it('the attention ops refuse an option they do not know, by name', () => {
    tidy(() => {
      const q = zeros([1, 2, 4, 3]);
      expect(() => causalSelfAttention(q, q, q, { scael: 0.5 } as never)).toThrow(
        /causalSelfAttention: unknown option 'scael'/,
      );
      const h = zeros([1, 4, 2, 3]);
      expect(() => scaledDotProductAttention(h, h, h, { casual: true } as never)).toThrow(
        /scaledDotProductAttention: unknown option 'casual'/,
      );
    });
  });
});
