import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backend, empty, expectClose, numericGradient, randomValues, storage, values } from './helpers.js';

const rowsCols = fc.record({
  rows: fc.integer({ min: 1, max: 6 }),
  cols: fc.integer({ min: 1, max: 9 }),
  seed: fc.integer(),
});

/** log(sum(exp(x))) over the given entries, computed naively (inputs are small). */
function logSumExp(xs: number[]): number {
  return Math.log(xs.reduce((s, x) => s + Math.exp(x), 0));
}

describe('softmax and log-softmax', () => {
  it('match exp(x) / sum(exp(x)) per row, with the causal mask', () => {
    fc.assert(
      fc.property(
        rowsCols,
        fc.option(fc.record({ queryLen: fc.integer({ min: 1, max: 4 }), offset: fc.integer({ min: 0, max: 4 }) })),
        ({ rows, cols, seed }, causal) => {
          const xs = randomValues(rows * cols, seed, 5);
          const x = storage('float64', xs);
          const params = causal ? { rows, cols, causal } : { rows, cols };
          const probabilities = empty('float64', rows * cols);
          const logProbabilities = empty('float64', rows * cols);
          backend.softmax(x, probabilities, params);
          backend.logSoftmax(x, logProbabilities, params);
          const expectedP: number[] = [];
          const expectedLogP: number[] = [];
          for (let r = 0; r < rows; r++) {
            const row = xs.slice(r * cols, (r + 1) * cols);
            const visible = causal ? row.filter((_, j) => j <= (r % causal.queryLen) + causal.offset) : row;
            const z = visible.reduce((s, v) => s + Math.exp(v), 0);
            row.forEach((v, j) => {
              const seen = j < visible.length;
              expectedP.push(seen ? Math.exp(v) / z : 0);
              expectedLogP.push(seen ? v - Math.log(z) : Number.NEGATIVE_INFINITY);
            });
          }
          expectClose(values(probabilities), expectedP, 1e-15, 1e-13);
          expectClose(values(logProbabilities), expectedLogP, 1e-13, 1e-13);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('is stable for large logits and gives 0 / -Infinity on fully masked rows', () => {
    const x = storage('float32', [1000, 1001, -1000, 0]);
    const p = empty('float32', 4);
    backend.softmax(x, p, { rows: 2, cols: 2 });
    expectClose(values(p), [1 / (1 + Math.E), Math.E / (1 + Math.E), 0, 1], 1e-7);
    const masked = empty('float32', 4);
    backend.logSoftmax(x, masked, { rows: 2, cols: 2, causal: { queryLen: 2, offset: -1 } });
    expect(values(masked)).toEqual([Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY, 0, Number.NEGATIVE_INFINITY]);
  });

  it('backward passes equal finite differences of <dy, softmax(x)> and <dy, logSoftmax(x)>', () => {
    fc.assert(
      fc.property(rowsCols, ({ rows, cols, seed }) => {
        const xs = randomValues(rows * cols, seed, 2);
        const dys = randomValues(rows * cols, seed + 1);
        for (const log of [false, true]) {
          const forward = (v: number[]): number[] => {
            const out = empty('float64', v.length);
            (log ? backend.logSoftmax : backend.softmax).call(backend, storage('float64', v), out, { rows, cols });
            return values(out);
          };
          const y = storage('float64', forward(xs));
          const dx = empty('float64', rows * cols);
          (log ? backend.logSoftmaxBackward : backend.softmaxBackward).call(
            backend,
            y,
            storage('float64', dys),
            dx,
            rows,
            cols,
          );
          const expected = numericGradient((v) => forward(v).reduce((s, yi, i) => s + yi * (dys[i] as number), 0), xs);
          expectClose(values(dx), expected, 1e-7);
        }
      }),
      { numRuns: 25 },
    );
  });
});

describe('cross-entropy', () => {
  it('equals -log softmax at the target, 0 for ignored rows, and its gradient matches finite differences', () => {
    fc.assert(
      fc.property(rowsCols, fc.integer(), ({ rows, cols, seed }, targetSeed) => {
        const ignoreIndex = -100;
        const targets = randomValues(rows, targetSeed).map((u, r) =>
          r % 3 === 2 ? ignoreIndex : Math.floor(((u + 1) / 2) * cols),
        );
        const xs = randomValues(rows * cols, seed, 4);
        const t = storage('int32', targets);
        const lossOf = (v: number[]): number[] => {
          const loss = empty('float64', rows);
          backend.crossEntropy(storage('float64', v), t, loss, rows, cols, ignoreIndex);
          return values(loss);
        };
        const expected = targets.map((target, r) => {
          if (target === ignoreIndex) return 0;
          const row = xs.slice(r * cols, (r + 1) * cols);
          return logSumExp(row) - (row[target] as number);
        });
        expectClose(lossOf(xs), expected, 1e-12, 1e-12);
        const dlossValues = randomValues(rows, seed + 7);
        const dx = empty('float64', rows * cols);
        backend.crossEntropyBackward(
          storage('float64', xs),
          t,
          storage('float64', dlossValues),
          dx,
          rows,
          cols,
          ignoreIndex,
        );
        const numeric = numericGradient(
          (v) => lossOf(v).reduce((s, l, r) => s + l * (dlossValues[r] as number), 0),
          xs,
        );
        expectClose(values(dx), numeric, 1e-7);
      }),
      { numRuns: 30 },
    );
  });

  it('refuses targets that are neither a class nor the ignore index', () => {
    const logits = storage('float32', [0, 0, 0, 0]);
    expect(() => backend.crossEntropy(logits, storage('int32', [1, 2]), empty('float32', 2), 2, 2, -100)).toThrow(
      /targets\[1\] = 2 is neither a class in 0..1 nor ignoreIndex -100/,
    );
  });
});

describe('rmsNorm', () => {
  it('forward matches x / sqrt(mean(x^2) + eps) * w and stores rstd', () => {
    fc.assert(
      fc.property(rowsCols, ({ rows, cols, seed }) => {
        const xs = randomValues(rows * cols, seed, 3);
        const ws = randomValues(cols, seed + 1, 2);
        const eps = 1e-5;
        const out = empty('float64', rows * cols);
        const rstd = empty('float64', rows);
        backend.rmsNorm(storage('float64', xs), storage('float64', ws), out, rstd, rows, cols, eps);
        const expected: number[] = [];
        const expectedRstd: number[] = [];
        for (let r = 0; r < rows; r++) {
          const row = xs.slice(r * cols, (r + 1) * cols);
          const rms = Math.sqrt(row.reduce((s, v) => s + v * v, 0) / cols + eps);
          expectedRstd.push(1 / rms);
          for (const [j, v] of row.entries()) expected.push((v / rms) * (ws[j] as number));
        }
        expectClose(values(out), expected, 1e-13, 1e-13);
        expectClose(values(rstd), expectedRstd, 0, 1e-14);
      }),
      { numRuns: 40 },
    );
  });

  it('backward matches finite differences for dx and dweight', () => {
    fc.assert(
      fc.property(rowsCols, ({ rows, cols, seed }) => {
        const xs = randomValues(rows * cols, seed, 2);
        const ws = randomValues(cols, seed + 1, 2);
        const dys = randomValues(rows * cols, seed + 2);
        const eps = 1e-3;
        const objective = (xv: number[], wv: number[]): number => {
          const out = empty('float64', rows * cols);
          backend.rmsNorm(storage('float64', xv), storage('float64', wv), out, empty('float64', rows), rows, cols, eps);
          return values(out).reduce((s, y, i) => s + y * (dys[i] as number), 0);
        };
        const rstd = empty('float64', rows);
        backend.rmsNorm(
          storage('float64', xs),
          storage('float64', ws),
          empty('float64', rows * cols),
          rstd,
          rows,
          cols,
          eps,
        );
        const dx = empty('float64', rows * cols);
        const dweight = storage('float64', new Array(cols).fill(123));
        backend.rmsNormBackward(
          storage('float64', xs),
          storage('float64', ws),
          rstd,
          storage('float64', dys),
          dx,
          dweight,
          rows,
          cols,
        );
        expectClose(
          values(dx),
          numericGradient((v) => objective(v, ws), xs),
          1e-6,
        );
        expectClose(
          values(dweight),
          numericGradient((v) => objective(xs, v), ws),
          1e-6,
        );
      }),
      { numRuns: 25 },
    );
  });
});

describe('rope', () => {
  /** Reference via complex multiplication: (lo + i hi) * e^{i theta}. */
  function referenceRope(
    xs: number[],
    angles: number[],
    shape: { batch: number; seq: number; heads: number; headDim: number },
    sign: number,
  ): number[] {
    const { batch, seq, heads, headDim } = shape;
    const half = headDim / 2;
    const out = xs.slice();
    for (let b = 0; b < batch; b++)
      for (let t = 0; t < seq; t++)
        for (let h = 0; h < heads; h++) {
          const base = ((b * seq + t) * heads + h) * headDim;
          for (let i = 0; i < half; i++) {
            const theta = sign * (angles[t * half + i] as number);
            const [re, im] = [xs[base + i] as number, xs[base + i + half] as number];
            out[base + i] = re * Math.cos(theta) - im * Math.sin(theta);
            out[base + i + half] = re * Math.sin(theta) + im * Math.cos(theta);
          }
        }
    return out;
  }

  it('rotates pairs (i, i + headDim/2) by the position angle, and inverse undoes it', () => {
    fc.assert(
      fc.property(
        fc.record({
          batch: fc.integer({ min: 1, max: 2 }),
          seq: fc.integer({ min: 1, max: 5 }),
          heads: fc.integer({ min: 1, max: 3 }),
          halfDim: fc.integer({ min: 1, max: 4 }),
        }),
        fc.integer(),
        ({ batch, seq, heads, halfDim }, seed) => {
          const headDim = halfDim * 2;
          const shape = { batch, seq, heads, headDim };
          const xs = randomValues(batch * seq * heads * headDim, seed);
          const angles = Array.from(
            { length: seq * halfDim },
            (_, k) => Math.floor(k / halfDim) * 10000 ** (-(k % halfDim) / halfDim),
          );
          const cos = storage('float64', angles.map(Math.cos));
          const sin = storage('float64', angles.map(Math.sin));
          const out = empty('float64', xs.length);
          backend.rope(storage('float64', xs), cos, sin, out, { ...shape, inverse: false });
          expectClose(values(out), referenceRope(xs, angles, shape, 1), 1e-14);
          const back = empty('float64', xs.length);
          backend.rope(out, cos, sin, back, { ...shape, inverse: true });
          expectClose(values(back), xs, 1e-14);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('refuses an odd head dimension', () => {
    const x = empty('float32', 3);
    expect(() =>
      backend.rope(x, x, x, empty('float32', 3), { batch: 1, seq: 1, heads: 1, headDim: 3, inverse: false }),
    ).toThrow(/headDim must be even; got 3/);
  });
});

describe('siluMul', () => {
  it('forward is g * sigmoid(g) * u and backward matches finite differences', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.integer(), (size, seed) => {
        const gs = randomValues(size, seed, 6);
        const us = randomValues(size, seed + 1, 2);
        const dys = randomValues(size, seed + 2);
        const forward = (g: number[], u: number[]): number[] => {
          const out = empty('float64', size);
          backend.siluMul(storage('float64', g), storage('float64', u), out);
          return values(out);
        };
        expectClose(
          forward(gs, us),
          gs.map((g, i) => (g / (1 + Math.exp(-g))) * (us[i] as number)),
          1e-15,
          1e-14,
        );
        const dgate = empty('float64', size);
        const dup = empty('float64', size);
        backend.siluMulBackward(storage('float64', gs), storage('float64', us), storage('float64', dys), dgate, dup);
        const objective = (g: number[], u: number[]) =>
          forward(g, u).reduce((s, y, i) => s + y * (dys[i] as number), 0);
        expectClose(
          values(dgate),
          numericGradient((g) => objective(g, us), gs),
          1e-7,
        );
        expectClose(
          values(dup),
          numericGradient((u) => objective(gs, u), us),
          1e-7,
        );
      }),
      { numRuns: 30 },
    );
  });
});

describe('adamw', () => {
  /** PyTorch's formulation (torch/optim/adamw.py, single tensor): denom = sqrt(v) / sqrt(bc2) + eps. */
  function referenceStep(
    p: number,
    g: number,
    m: number,
    v: number,
    h: { lr: number; beta1: number; beta2: number; eps: number; weightDecay: number },
    step: number,
  ) {
    const decayed = p - h.lr * h.weightDecay * p;
    const m1 = m + (g - m) * (1 - h.beta1);
    const v1 = v * h.beta2 + g * g * (1 - h.beta2);
    const denom = Math.sqrt(v1) / Math.sqrt(1 - h.beta2 ** step) + h.eps;
    return { p: decayed - (h.lr / (1 - h.beta1 ** step)) * (m1 / denom), m: m1, v: v1 };
  }

  it('three steps match the PyTorch formulation in float64, and float32 stays within round-off', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 30 }),
        fc.integer(),
        fc.double({ min: 0, max: 0.1, noNaN: true }),
        (size, seed, weightDecay) => {
          const h = { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay };
          let expected = randomValues(size, seed).map((p) => ({ p, m: 0, v: 0 }));
          const storages = (dtype: 'float64' | 'float32') => ({
            p: storage(
              dtype,
              expected.map((e) => e.p),
            ),
            m: empty(dtype, size),
            v: empty(dtype, size),
          });
          const f64 = storages('float64');
          const f32 = storages('float32');
          for (let step = 1; step <= 3; step++) {
            const grads = randomValues(size, seed + step);
            const params = { ...h, biasCorrection1: 1 - h.beta1 ** step, biasCorrection2: 1 - h.beta2 ** step };
            backend.adamw(f64.p, storage('float64', grads), f64.m, f64.v, params);
            backend.adamw(f32.p, storage('float32', grads), f32.m, f32.v, params);
            expected = expected.map((e, i) => referenceStep(e.p, grads[i] as number, e.m, e.v, h, step));
          }
          expectClose(
            values(f64.p),
            expected.map((e) => e.p),
            1e-14,
            1e-12,
          );
          expectClose(
            values(f64.m),
            expected.map((e) => e.m),
            1e-15,
            1e-12,
          );
          expectClose(
            values(f64.v),
            expected.map((e) => e.v),
            1e-15,
            1e-12,
          );
          expectClose(
            values(f32.p),
            expected.map((e) => e.p),
            1e-6,
            1e-6,
          );
        },
      ),
      { numRuns: 30 },
    );
  });

  it('refuses aliased states and a zero bias correction', () => {
    const p = storage('float32', [1]);
    const g = storage('float32', [1]);
    const params = {
      lr: 1,
      beta1: 0.9,
      beta2: 0.99,
      eps: 1e-8,
      weightDecay: 0,
      biasCorrection1: 0.1,
      biasCorrection2: 0.01,
    };
    expect(() => backend.adamw(p, g, g, empty('float32', 1), params)).toThrow(/four different storages/);
    expect(() =>
      backend.adamw(p, g, empty('float32', 1), empty('float32', 1), { ...params, biasCorrection2: 0 }),
    ).toThrow(/biasCorrection2 must be > 0/);
  });
});

describe('8-bit blockwise quantisation', () => {
  /** A signed, non-uniform 256-entry codebook in [-1, 1] (denser near 0, like dynamic quantisation). */
  const codebook = Array.from({ length: 256 }, (_, i) => {
    const t = (i - 127.5) / 127.5;
    return Math.fround(Math.sign(t) * Math.abs(t) ** 2);
  }).sort((a, b) => a - b);

  /** Largest gap between the entries neighbouring `value` (the bound says half of it). */
  function localGap(value: number): number {
    let j = codebook.findIndex((c) => c >= value);
    if (j < 0) j = codebook.length - 1;
    const lower = Math.max(0, j - 1);
    const upper = Math.min(codebook.length - 1, j + 1);
    return Math.max(
      (codebook[j] as number) - (codebook[lower] as number),
      (codebook[upper] as number) - (codebook[j] as number),
    );
  }

  it('round trip error is at most absmax * half the local codebook gap, and codes are nearest', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 300 }),
        fc.integer({ min: 1, max: 64 }),
        fc.integer(),
        fc.double({ min: 1e-3, max: 1e3, noNaN: true }),
        (size, blockSize, seed, scale) => {
          const xs = randomValues(size, seed, scale);
          const blocks = Math.ceil(size / blockSize);
          const x = storage('float32', xs);
          const book = storage('float32', codebook);
          const codes = empty('uint8', size);
          const absmax = empty('float32', blocks);
          backend.quantizeBlockwise(x, book, codes, absmax, { blockSize });
          const out = empty('float32', size);
          backend.dequantizeBlockwise(codes, book, absmax, out, { blockSize });
          const stored = values(x);
          const scales = values(absmax);
          const restored = values(out);
          const codeValues = values(codes);
          stored.forEach((v, i) => {
            const block = Math.floor(i / blockSize);
            const blockValues = stored.slice(block * blockSize, (block + 1) * blockSize);
            expect(scales[block]).toBe(Math.max(...blockValues.map(Math.abs)));
            const s = scales[block] as number;
            const normalised = s === 0 ? 0 : v / s;
            expect(Math.abs(v - (restored[i] as number))).toBeLessThanOrEqual(
              (s * localGap(normalised)) / 2 + s * 1e-6,
            );
            // No other entry is strictly nearer than the chosen one.
            const chosen = Math.abs((codebook[codeValues[i] as number] as number) - normalised);
            const best = Math.min(...codebook.map((c) => Math.abs(c - normalised)));
            expect(chosen).toBeLessThanOrEqual(best + 1e-7);
          });
        },
      ),
      { numRuns: 40 },
    );
  });

  it('quantises an all-zero block to the code nearest 0 with absmax 0', () => {
    const codes = empty('uint8', 4);
    const absmax = empty('float32', 1);
    backend.quantizeBlockwise(storage('float32', [0, 0, 0, 0]), storage('float32', codebook), codes, absmax, {
      blockSize: 4,
    });
    expect(values(absmax)).toEqual([0]);
    const out = empty('float32', 4);
    backend.dequantizeBlockwise(codes, storage('float32', codebook), absmax, out, { blockSize: 4 });
    expect(values(out).map((v) => v + 0)).toEqual([0, 0, 0, 0]);
  });

  it('refuses an unsorted codebook and a wrong absmax size', () => {
    const x = storage('float32', [1, 2, 3]);
    const codes = empty('uint8', 3);
    expect(() =>
      backend.quantizeBlockwise(x, storage('float32', [0, 1, 0.5]), codes, empty('float32', 2), { blockSize: 2 }),
    ).toThrow(/codebook must be sorted ascending; entry 2/);
    expect(() =>
      backend.quantizeBlockwise(x, storage('float32', codebook), codes, empty('float32', 1), { blockSize: 2 }),
    ).toThrow(/absmax has 1 elements; expected ceil\(x.size \/ blockSize\) = 2/);
  });
});

describe('gatherRows and scatterAddRows', () => {
  it('gather copies rows by id; scatter-add sums rows with repeated ids', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.nat(), { minLength: 0, maxLength: 12 }),
        fc.integer(),
        (rows, dim, rawIds, seed) => {
          const ids = rawIds.map((i) => i % rows);
          const tableValues = randomValues(rows * dim, seed);
          const table = storage('float64', tableValues);
          const idStorage = storage('int32', ids);
          const gathered = empty('float64', ids.length * dim);
          backend.gatherRows(table, idStorage, gathered, dim);
          expect(values(gathered)).toEqual(ids.flatMap((id) => tableValues.slice(id * dim, (id + 1) * dim)));
          const src = randomValues(ids.length * dim, seed + 1);
          const initial = randomValues(rows * dim, seed + 2);
          const out = storage('float64', initial);
          backend.scatterAddRows(storage('float64', src), idStorage, out, dim);
          const expected = initial.slice();
          ids.forEach((id, i) => {
            for (let j = 0; j < dim; j++)
              expected[id * dim + j] = (expected[id * dim + j] as number) + (src[i * dim + j] as number);
          });
          expectClose(values(out), expected, 1e-15, 1e-14);
        },
      ),
      { numRuns: 50 },
    );
  });

  it('keeps bfloat16 rows bit-exact on gather and refuses ids out of range', () => {
    const table = storage('bfloat16', [1.5, -2, 3.25, 4]);
    const out = empty('bfloat16', 2);
    backend.gatherRows(table, storage('int32', [1]), out, 2);
    expect(values(out)).toEqual([3.25, 4]);
    expect(() => backend.gatherRows(table, storage('int32', [2]), out, 2)).toThrow(
      /ids\[0\] = 2 is outside the table's rows 0..1/,
    );
  });
});
