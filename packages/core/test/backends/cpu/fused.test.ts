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
          backend.run('softmax', { x, out: probabilities }, params);
          backend.run('logSoftmax', { x, out: logProbabilities }, params);
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
    backend.run('softmax', { x, out: p }, { rows: 2, cols: 2 });
    expectClose(values(p), [1 / (1 + Math.E), Math.E / (1 + Math.E), 0, 1], 1e-7);
    const masked = empty('float32', 4);
    backend.run('logSoftmax', { x, out: masked }, { rows: 2, cols: 2, causal: { queryLen: 2, offset: -1 } });
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
            backend.run(log ? 'logSoftmax' : 'softmax', { x: storage('float64', v), out }, { rows, cols });
            return values(out);
          };
          const y = storage('float64', forward(xs));
          const dx = empty('float64', rows * cols);
          const dy = storage('float64', dys);
          backend.run(log ? 'logSoftmaxBackward' : 'softmaxBackward', { y, dy, dx }, { rows, cols });
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
          backend.run('crossEntropy', { logits: storage('float64', v), targets: t, loss }, { rows, cols, ignoreIndex });
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
        backend.run(
          'crossEntropyBackward',
          { logits: storage('float64', xs), targets: t, dloss: storage('float64', dlossValues), dx },
          { rows, cols, ignoreIndex },
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
    expect(() =>
      backend.run(
        'crossEntropy',
        { logits, targets: storage('int32', [1, 2]), loss: empty('float32', 2) },
        { rows: 2, cols: 2, ignoreIndex: -100 },
      ),
    ).toThrow(/crossEntropy: target 2 is out of range \(expected 0 <= target < cols, or the ignore index\)/);
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
        backend.run(
          'rmsNorm',
          { x: storage('float64', xs), weight: storage('float64', ws), out, rstd },
          { rows, cols, eps },
        );
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
          backend.run(
            'rmsNorm',
            { x: storage('float64', xv), weight: storage('float64', wv), out, rstd: empty('float64', rows) },
            { rows, cols, eps },
          );
          return values(out).reduce((s, y, i) => s + y * (dys[i] as number), 0);
        };
        const rstd = empty('float64', rows);
        backend.run(
          'rmsNorm',
          { x: storage('float64', xs), weight: storage('float64', ws), out: empty('float64', rows * cols), rstd },
          { rows, cols, eps },
        );
        const dx = empty('float64', rows * cols);
        const dweight = storage('float64', new Array(cols).fill(123));
        backend.run(
          'rmsNormBackward',
          { x: storage('float64', xs), weight: storage('float64', ws), rstd, dy: storage('float64', dys), dx, dweight },
          { rows, cols },
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
          backend.run('rope', { x: storage('float64', xs), cos, sin, out }, { ...shape, inverse: false });
          expectClose(values(out), referenceRope(xs, angles, shape, 1), 1e-14);
          const back = empty('float64', xs.length);
          backend.run('rope', { x: out, cos, sin, out: back }, { ...shape, inverse: true });
          expectClose(values(back), xs, 1e-14);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('refuses an odd head dimension', () => {
    const x = empty('float32', 3);
    expect(() =>
      backend.run(
        'rope',
        { x, cos: x, sin: x, out: empty('float32', 3) },
        { batch: 1, seq: 1, heads: 1, headDim: 3, inverse: false },
      ),
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
          backend.run('siluMul', { gate: storage('float64', g), up: storage('float64', u), out }, {});
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
        backend.run(
          'siluMulBackward',
          { gate: storage('float64', gs), up: storage('float64', us), dy: storage('float64', dys), dgate, dup },
          {},
        );
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
            backend.run('adamw', { param: f64.p, grad: storage('float64', grads), m: f64.m, v: f64.v }, params);
            backend.run('adamw', { param: f32.p, grad: storage('float32', grads), m: f32.m, v: f32.v }, params);
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
    expect(() => backend.run('adamw', { param: p, grad: g, m: g, v: empty('float32', 1) }, params)).toThrow(
      /four different storages/,
    );
    expect(() =>
      backend.run(
        'adamw',
        { param: p, grad: g, m: empty('float32', 1), v: empty('float32', 1) },
        { ...params, biasCorrection2: 0 },
      ),
    ).toThrow(/biasCorrection2 must be > 0/);
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
          backend.run('gatherRows', { table, ids: idStorage, out: gathered }, { dim });
          expect(values(gathered)).toEqual(ids.flatMap((id) => tableValues.slice(id * dim, (id + 1) * dim)));
          const src = randomValues(ids.length * dim, seed + 1);
          const initial = randomValues(rows * dim, seed + 2);
          const out = storage('float64', initial);
          backend.run('scatterAddRows', { src: storage('float64', src), ids: idStorage, out }, { dim });
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
    backend.run('gatherRows', { table, ids: storage('int32', [1]), out }, { dim: 2 });
    expect(values(out)).toEqual([3.25, 4]);
    expect(() => backend.run('gatherRows', { table, ids: storage('int32', [2]), out }, { dim: 2 })).toThrow(
      /gatherRows: id 2 is out of range for the table/,
    );
  });
});
