/**
 * One conformance case per kernel (per op for unary, binary and reduce). A case draws parameters
 * with fast-check, runs the kernel through a KernelIo, and names the outputs to compare together
 * with their key in the tolerance table. The same parameters run on the backend under test and
 * on the CPU reference.
 */
import fc from 'fast-check';
import type { Backend, BinaryOp, Storage, UnaryOp } from '../../packages/core/src/backend.js';
import type { DType } from '../../packages/core/src/dtype.js';
import type { KernelIo } from './io.js';
import { seededValues } from './io.js';
import { broadcastOperand, contiguousStrides, shapeArbitrary, sizeOf } from './layouts.js';

export interface CaseContext {
  /** Floating dtypes the backend under test stores (float32 always; 16-bit and float64 if supported). */
  floatDTypes: DType[];
  /** Every dtype the backend under test stores. */
  allDTypes: DType[];
}

export interface Output {
  storage: Storage;
  /** Key into TOLERANCES. */
  tolerance: string;
}

export interface KernelCase<P> {
  name: string;
  draw(context: CaseContext): fc.Arbitrary<P>;
  run(io: KernelIo, params: P): Record<string, Output>;
  /** Replaces the default output-by-output comparison where outputs are not unique (SVD) or discrete. */
  compare?(
    got: Record<string, number[]>,
    want: Record<string, number[]>,
    params: P,
    compareOutput: CompareOutput,
  ): void;
}

export type CompareOutput = (label: string, got: number[], want: number[], toleranceKey: string, dtype: DType) => void;

export type AnyKernelCase = KernelCase<unknown>;

function kernelCase<P>(definition: KernelCase<P>): AnyKernelCase {
  return definition as unknown as AnyKernelCase;
}

const seed = fc.noShrink(fc.integer());
const floatDType = (c: CaseContext) => fc.constantFrom(...c.floatDTypes);

// --- creation and conversion ---

const fillCase = kernelCase({
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
    io.backend.fill(out, integral ? Math.abs(Math.trunc(p.quarters / 4)) : p.quarters / 4);
    return { out: { storage: out, tolerance: 'fill' } };
  },
});

function randomCase(distribution: 'uniform' | 'normal') {
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
      io.backend.random(out, { distribution, seed: p.key, offset: p.offset, a, b });
      return { out: { storage: out, tolerance: `random(${distribution})` } };
    },
  });
}

const castCase = kernelCase({
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
    io.backend.cast(io.upload(p.from, values), out);
    return { out: { storage: out, tolerance: 'cast' } };
  },
});

const copyCase = kernelCase({
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
    io.backend.copy(src, { shape: p.shape, strides: srcStrides, offset: p.srcOffset }, dst, {
      shape: p.shape,
      strides: contiguousStrides(p.shape),
      offset: p.dstOffset,
    });
    return { dst: { storage: dst, tolerance: 'copy' } };
  },
});

// --- elementwise ---

/** Input ranges where each op is well conditioned (and inside GPU accuracy guarantees). */
const UNARY_RANGES: Record<UnaryOp, [number, number]> = {
  neg: [-10, 10],
  exp: [-10, 10],
  log: [0.05, 20],
  sqrt: [0, 20],
  rsqrt: [0.05, 20],
  abs: [-10, 10],
  sigmoid: [-12, 12],
  silu: [-12, 12],
  tanh: [-6, 6],
  relu: [-10, 10],
  sign: [-2, 2],
  square: [-10, 10],
  reciprocal: [0.1, 10],
  sin: [-Math.PI, Math.PI],
  cos: [-Math.PI, Math.PI],
};

function unaryCase(op: UnaryOp) {
  return kernelCase({
    name: `unary(${op})`,
    draw: (c) => fc.record({ dtype: floatDType(c), size: fc.integer({ min: 0, max: 300 }), seed }),
    run: (io, p) => {
      const [low, high] = UNARY_RANGES[op];
      const values = seededValues(p.size, p.seed, low, high);
      // sign and relu must also see exact zeros.
      if (values.length > 2) values[1] = 0;
      const out = io.empty(p.dtype, p.size);
      io.backend.unary(op, io.upload(p.dtype, values), out);
      return { out: { storage: out, tolerance: `unary(${op})` } };
    },
  });
}

const COMPARISONS: readonly BinaryOp[] = ['eq', 'ne', 'lt', 'le', 'gt', 'ge'];
/** Ops that integer tensors use (indices, masks); division is left to floats. */
const INTEGER_BINARY: readonly BinaryOp[] = ['add', 'sub', 'mul', 'maximum', 'minimum', ...COMPARISONS];

function binaryInputs(op: BinaryOp, dtype: DType, size: number, s: number, which: 'a' | 'b'): number[] {
  if (dtype === 'int32') return seededValues(size, s, -1000, 1000).map(Math.round);
  if (op === 'pow') return which === 'a' ? seededValues(size, s, 0.1, 4) : seededValues(size, s, -2, 2);
  if (op === 'div' && which === 'b') return seededValues(size, s, 0.25, 4).map((v, i) => (i % 2 ? -v : v));
  // Quarter steps make equal elements common, so eq/ne/le/ge see ties.
  return seededValues(size, s, -4, 4).map((v) => Math.round(v * 4) / 4);
}

function binaryCase(op: BinaryOp) {
  return kernelCase({
    name: `binary(${op})`,
    draw: (c) => {
      const dtypes =
        INTEGER_BINARY.includes(op) && c.allDTypes.includes('int32')
          ? [...c.floatDTypes, 'int32' as DType]
          : c.floatDTypes;
      return fc.record({
        dtype: fc.constantFrom(...dtypes),
        layout: shapeArbitrary.chain((shape) =>
          fc.tuple(fc.constant(shape), broadcastOperand(shape), broadcastOperand(shape)),
        ),
        seed,
      });
    },
    run: (io, p) => {
      const [shape, a, b] = p.layout;
      const sa = io.upload(p.dtype, binaryInputs(op, p.dtype, a.size, p.seed, 'a'));
      const sb = io.upload(p.dtype, binaryInputs(op, p.dtype, b.size, p.seed + 1, 'b'));
      const out = io.empty(COMPARISONS.includes(op) ? 'uint8' : p.dtype, sizeOf(shape));
      io.backend.binary(op, sa, sb, out, { shape, aStrides: a.strides, bStrides: b.strides });
      return { out: { storage: out, tolerance: `binary(${op})` } };
    },
  });
}

const whereCase = kernelCase({
  name: 'where',
  draw: (c) =>
    fc.record({
      dtype: floatDType(c),
      layout: shapeArbitrary.chain((shape) =>
        fc.tuple(fc.constant(shape), broadcastOperand(shape), broadcastOperand(shape), broadcastOperand(shape)),
      ),
      seed,
    }),
  run: (io, p) => {
    const [shape, cond, a, b] = p.layout;
    const sc = io.upload(
      'uint8',
      seededValues(cond.size, p.seed).map((v) => (v > 0 ? 1 : 0)),
    );
    const sa = io.upload(p.dtype, seededValues(a.size, p.seed + 1));
    const sb = io.upload(p.dtype, seededValues(b.size, p.seed + 2));
    const out = io.empty(p.dtype, sizeOf(shape));
    io.backend.where(sc, sa, sb, out, { shape, aStrides: a.strides, bStrides: b.strides, condStrides: cond.strides });
    return { out: { storage: out, tolerance: 'where' } };
  },
});

// --- reductions ---

const reduceLayout = fc.record({
  outer: fc.integer({ min: 1, max: 6 }),
  reduce: fc.integer({ min: 1, max: 40 }),
  inner: fc.integer({ min: 1, max: 6 }),
});

function reduceCase(op: 'sum' | 'max' | 'min') {
  return kernelCase({
    name: `reduce(${op})`,
    draw: (c) => {
      const dtypes =
        op !== 'min' && c.allDTypes.includes('int32') ? [...c.floatDTypes, 'int32' as DType] : c.floatDTypes;
      return fc.record({ dtype: fc.constantFrom(...dtypes), layout: reduceLayout, seed });
    },
    run: (io, p) => {
      const { outer, reduce, inner } = p.layout;
      const values = seededValues(outer * reduce * inner, p.seed, -10, 10);
      const x = io.upload(p.dtype, p.dtype === 'int32' ? values.map(Math.round) : values);
      const out = io.empty(p.dtype, outer * inner);
      io.backend.reduce(op, x, out, p.layout);
      return { out: { storage: out, tolerance: `reduce(${op})` } };
    },
  });
}

const argmaxCase = kernelCase({
  name: 'argmax',
  draw: (c) => fc.record({ dtype: floatDType(c), layout: reduceLayout, seed }),
  run: (io, p) => {
    const { outer, reduce, inner } = p.layout;
    // Coarse values make ties, where the first maximum must win.
    const values = seededValues(outer * reduce * inner, p.seed, -4, 4).map(Math.round);
    const out = io.empty('int32', outer * inner);
    io.backend.argmax(io.upload(p.dtype, values), out, p.layout);
    return { out: { storage: out, tolerance: 'argmax' } };
  },
});

// --- linear algebra ---

const matmulCase = kernelCase({
  name: 'matmul',
  draw: (c) =>
    fc.record({
      dtype: floatDType(c),
      batch: fc.integer({ min: 1, max: 3 }),
      m: fc.integer({ min: 1, max: 40 }),
      n: fc.integer({ min: 1, max: 40 }),
      k: fc.integer({ min: 1, max: 80 }),
      transA: fc.boolean(),
      transB: fc.boolean(),
      broadcastA: fc.boolean(),
      broadcastB: fc.boolean(),
      accumulate: fc.boolean(),
      seed,
    }),
  run: (io, p) => {
    const a = io.upload(p.dtype, seededValues((p.broadcastA ? 1 : p.batch) * p.m * p.k, p.seed));
    const b = io.upload(p.dtype, seededValues((p.broadcastB ? 1 : p.batch) * p.k * p.n, p.seed + 1));
    const out = io.upload(p.dtype, seededValues(p.batch * p.m * p.n, p.seed + 2));
    io.backend.matmul(a, b, out, {
      batch: p.batch,
      m: p.m,
      n: p.n,
      k: p.k,
      transA: p.transA,
      transB: p.transB,
      aBatchStride: p.broadcastA ? 0 : p.m * p.k,
      bBatchStride: p.broadcastB ? 0 : p.k * p.n,
      accumulate: p.accumulate,
    });
    return { out: { storage: out, tolerance: 'matmul' } };
  },
});

const svdCase = kernelCase({
  name: 'svd',
  draw: () => fc.record({ m: fc.integer({ min: 1, max: 24 }), n: fc.integer({ min: 1, max: 24 }), seed }),
  run: (io, p) => {
    const k = Math.min(p.m, p.n);
    const u = io.empty('float32', p.m * k);
    const s = io.empty('float32', k);
    const vt = io.empty('float32', k * p.n);
    io.backend.svd(io.upload('float32', seededValues(p.m * p.n, p.seed)), p.m, p.n, u, s, vt);
    return {
      u: { storage: u, tolerance: 'svd.vectors' },
      s: { storage: s, tolerance: 'svd.s' },
      vt: { storage: vt, tolerance: 'svd.vectors' },
    };
  },
  /**
   * Singular values must agree; U diag(S) Vt must reproduce the reference's; and singular vectors
   * are compared only where their singular value is well separated (elsewhere they are not unique).
   */
  compare: (got, want, p, compareOutput) => {
    const { m, n } = p;
    const k = Math.min(m, n);
    const [gu, gs, gvt, wu, ws, wvt] = [got.u, got.s, got.vt, want.u, want.s, want.vt] as number[][] as [
      number[],
      number[],
      number[],
      number[],
      number[],
      number[],
    ];
    compareOutput('s', gs, ws, 'svd.s', 'float32');
    const reconstruct = (u: number[], s: number[], vt: number[]) =>
      Array.from({ length: m * n }, (_, at) => {
        const [i, j] = [Math.floor(at / n), at % n];
        let sum = 0;
        for (let r = 0; r < k; r++) sum += (u[i * k + r] as number) * (s[r] as number) * (vt[r * n + j] as number);
        return sum;
      });
    compareOutput('U diag(S) Vt', reconstruct(gu, gs, gvt), reconstruct(wu, ws, wvt), 'svd.reconstruction', 'float32');
    const largest = ws[0] ?? 0;
    for (let r = 0; r < k; r++) {
      const sr = ws[r] as number;
      const gap = Math.min(
        r > 0 ? (ws[r - 1] as number) - sr : Number.POSITIVE_INFINITY,
        r < k - 1 ? sr - (ws[r + 1] as number) : sr,
      );
      if (gap < 0.05 * largest) continue;
      const column = (u: number[]) => Array.from({ length: m }, (_, i) => u[i * k + r] as number);
      compareOutput(`u[:, ${r}]`, column(gu), column(wu), 'svd.vectors', 'float32');
      compareOutput(
        `vt[${r}, :]`,
        gvt.slice(r * n, (r + 1) * n),
        wvt.slice(r * n, (r + 1) * n),
        'svd.vectors',
        'float32',
      );
    }
  },
});

const qrCase = kernelCase({
  name: 'qr',
  draw: () => fc.record({ a: fc.integer({ min: 1, max: 24 }), b: fc.integer({ min: 1, max: 24 }), seed }),
  run: (io, p) => {
    const [m, n] = p.a >= p.b ? [p.a, p.b] : [p.b, p.a];
    // A dominant diagonal keeps the matrix well conditioned, so Q and R are unique to round-off.
    const values = seededValues(m * n, p.seed).map((v, at) =>
      Math.floor(at / n) === at % n ? v + 2 + Math.sqrt(n) : v,
    );
    const q = io.empty('float32', m * n);
    const r = io.empty('float32', n * n);
    io.backend.qr(io.upload('float32', values), m, n, q, r);
    return { q: { storage: q, tolerance: 'qr' }, r: { storage: r, tolerance: 'qr' } };
  },
});

// --- indexing ---

const indexShape = fc.record({
  rows: fc.integer({ min: 1, max: 12 }),
  dim: fc.integer({ min: 1, max: 24 }),
  count: fc.integer({ min: 0, max: 20 }),
  seed,
});

function drawIds(count: number, rows: number, s: number): number[] {
  return seededValues(count, s, 0, rows).map(Math.floor);
}

const gatherRowsCase = kernelCase({
  name: 'gatherRows',
  draw: (c) => fc.tuple(floatDType(c), indexShape),
  run: (io, [dtype, p]) => {
    const table = io.upload(dtype, seededValues(p.rows * p.dim, p.seed));
    const out = io.empty(dtype, p.count * p.dim);
    io.backend.gatherRows(table, io.upload('int32', drawIds(p.count, p.rows, p.seed + 1)), out, p.dim);
    return { out: { storage: out, tolerance: 'gatherRows' } };
  },
});

const scatterAddRowsCase = kernelCase({
  name: 'scatterAddRows',
  draw: (c) => fc.tuple(floatDType(c), indexShape),
  run: (io, [dtype, p]) => {
    const out = io.upload(dtype, seededValues(p.rows * p.dim, p.seed));
    const src = io.upload(dtype, seededValues(p.count * p.dim, p.seed + 2));
    io.backend.scatterAddRows(src, io.upload('int32', drawIds(p.count, p.rows, p.seed + 1)), out, p.dim);
    return { out: { storage: out, tolerance: 'scatterAddRows' } };
  },
});

// --- fused kernels ---

const rowsCols = fc.record({ rows: fc.integer({ min: 1, max: 12 }), cols: fc.integer({ min: 1, max: 70 }), seed });
const causalArbitrary = fc.option(
  fc.record({ queryLen: fc.integer({ min: 1, max: 6 }), offset: fc.integer({ min: 0, max: 8 }) }),
  { nil: undefined },
);

function softmaxCase(log: boolean) {
  const name = log ? 'logSoftmax' : 'softmax';
  return kernelCase({
    name,
    draw: (c) => fc.tuple(floatDType(c), rowsCols, causalArbitrary),
    run: (io, [dtype, p, causal]) => {
      const x = io.upload(dtype, seededValues(p.rows * p.cols, p.seed, -8, 8));
      const out = io.empty(dtype, p.rows * p.cols);
      const params = causal ? { rows: p.rows, cols: p.cols, causal } : { rows: p.rows, cols: p.cols };
      if (log) io.backend.logSoftmax(x, out, params);
      else io.backend.softmax(x, out, params);
      return { out: { storage: out, tolerance: name } };
    },
  });
}

function softmaxBackwardCase(log: boolean) {
  const name = log ? 'logSoftmaxBackward' : 'softmaxBackward';
  return kernelCase({
    name,
    draw: (c) => fc.tuple(floatDType(c), rowsCols),
    run: (io, [dtype, p]) => {
      // y comes from the reference formula on the host so both backends see identical y.
      const y: number[] = [];
      const x = seededValues(p.rows * p.cols, p.seed, -4, 4);
      for (let r = 0; r < p.rows; r++) {
        const row = x.slice(r * p.cols, (r + 1) * p.cols);
        const logZ = Math.log(row.reduce((s, v) => s + Math.exp(v), 0));
        for (const v of row) y.push(log ? v - logZ : Math.exp(v - logZ));
      }
      const dx = io.empty(dtype, p.rows * p.cols);
      const backward = log ? io.backend.logSoftmaxBackward : io.backend.softmaxBackward;
      backward.call(
        io.backend,
        io.upload(dtype, y),
        io.upload(dtype, seededValues(y.length, p.seed + 1)),
        dx,
        p.rows,
        p.cols,
      );
      return { dx: { storage: dx, tolerance: name } };
    },
  });
}

const IGNORE_INDEX = -100;

function crossEntropyInputs(io: KernelIo, dtype: DType, p: { rows: number; cols: number; seed: number }) {
  const targets = seededValues(p.rows, p.seed + 1, 0, p.cols).map((v, r) =>
    r % 4 === 3 ? IGNORE_INDEX : Math.floor(v),
  );
  return {
    logits: io.upload(dtype, seededValues(p.rows * p.cols, p.seed, -6, 6)),
    targets: io.upload('int32', targets),
  };
}

const crossEntropyCase = kernelCase({
  name: 'crossEntropy',
  draw: (c) => fc.tuple(floatDType(c), rowsCols),
  run: (io, [dtype, p]) => {
    const { logits, targets } = crossEntropyInputs(io, dtype, p);
    const loss = io.empty(dtype, p.rows);
    io.backend.crossEntropy(logits, targets, loss, p.rows, p.cols, IGNORE_INDEX);
    return { loss: { storage: loss, tolerance: 'crossEntropy' } };
  },
});

const crossEntropyBackwardCase = kernelCase({
  name: 'crossEntropyBackward',
  draw: (c) => fc.tuple(floatDType(c), rowsCols),
  run: (io, [dtype, p]) => {
    const { logits, targets } = crossEntropyInputs(io, dtype, p);
    const dx = io.empty(dtype, p.rows * p.cols);
    io.backend.crossEntropyBackward(
      logits,
      targets,
      io.upload(dtype, seededValues(p.rows, p.seed + 2, 0.5, 2)),
      dx,
      p.rows,
      p.cols,
      IGNORE_INDEX,
    );
    return { dx: { storage: dx, tolerance: 'crossEntropyBackward' } };
  },
});

const rmsNormCase = kernelCase({
  name: 'rmsNorm',
  draw: (c) => fc.tuple(floatDType(c), rowsCols),
  run: (io, [dtype, p]) => {
    const out = io.empty(dtype, p.rows * p.cols);
    const rstd = io.empty('float32', p.rows);
    const x = io.upload(dtype, seededValues(p.rows * p.cols, p.seed, -3, 3));
    io.backend.rmsNorm(
      x,
      io.upload(dtype, seededValues(p.cols, p.seed + 1, 0.5, 1.5)),
      out,
      rstd,
      p.rows,
      p.cols,
      1e-5,
    );
    return { out: { storage: out, tolerance: 'rmsNorm' }, rstd: { storage: rstd, tolerance: 'rmsNorm' } };
  },
});

const rmsNormBackwardCase = kernelCase({
  name: 'rmsNormBackward',
  draw: (c) => fc.tuple(floatDType(c), rowsCols),
  run: (io, [dtype, p]) => {
    const xValues = seededValues(p.rows * p.cols, p.seed, -3, 3);
    // rstd is computed on the host so both backends start from the same factor.
    const rstdValues = Array.from({ length: p.rows }, (_, r) => {
      const row = xValues.slice(r * p.cols, (r + 1) * p.cols);
      return 1 / Math.sqrt(row.reduce((s, v) => s + v * v, 0) / p.cols + 1e-5);
    });
    const dx = io.empty(dtype, p.rows * p.cols);
    const dweight = io.filled(dtype, p.cols, 5);
    io.backend.rmsNormBackward(
      io.upload(dtype, xValues),
      io.upload(dtype, seededValues(p.cols, p.seed + 1, 0.5, 1.5)),
      io.upload('float32', rstdValues),
      io.upload(dtype, seededValues(p.rows * p.cols, p.seed + 2)),
      dx,
      dweight,
      p.rows,
      p.cols,
    );
    return {
      dx: { storage: dx, tolerance: 'rmsNormBackward' },
      dweight: { storage: dweight, tolerance: 'rmsNormBackward' },
    };
  },
});

const ropeCase = kernelCase({
  name: 'rope',
  draw: (c) =>
    fc.record({
      dtype: floatDType(c),
      batch: fc.integer({ min: 1, max: 2 }),
      seq: fc.integer({ min: 1, max: 9 }),
      heads: fc.integer({ min: 1, max: 4 }),
      halfDim: fc.integer({ min: 1, max: 16 }),
      inverse: fc.boolean(),
      seed,
    }),
  run: (io, p) => {
    const headDim = p.halfDim * 2;
    const angles = Array.from(
      { length: p.seq * p.halfDim },
      (_, at) => Math.floor(at / p.halfDim) * 10000 ** (-(at % p.halfDim) / p.halfDim),
    );
    const x = io.upload(p.dtype, seededValues(p.batch * p.seq * p.heads * headDim, p.seed));
    const out = io.empty(p.dtype, p.batch * p.seq * p.heads * headDim);
    io.backend.rope(x, io.upload(p.dtype, angles.map(Math.cos)), io.upload(p.dtype, angles.map(Math.sin)), out, {
      batch: p.batch,
      seq: p.seq,
      heads: p.heads,
      headDim,
      inverse: p.inverse,
    });
    return { out: { storage: out, tolerance: 'rope' } };
  },
});

const elementCount = fc.record({ size: fc.integer({ min: 0, max: 300 }), seed });

const siluMulCase = kernelCase({
  name: 'siluMul',
  draw: (c) => fc.tuple(floatDType(c), elementCount),
  run: (io, [dtype, p]) => {
    const out = io.empty(dtype, p.size);
    io.backend.siluMul(
      io.upload(dtype, seededValues(p.size, p.seed, -8, 8)),
      io.upload(dtype, seededValues(p.size, p.seed + 1, -2, 2)),
      out,
    );
    return { out: { storage: out, tolerance: 'siluMul' } };
  },
});

const siluMulBackwardCase = kernelCase({
  name: 'siluMulBackward',
  draw: (c) => fc.tuple(floatDType(c), elementCount),
  run: (io, [dtype, p]) => {
    const dgate = io.empty(dtype, p.size);
    const dup = io.empty(dtype, p.size);
    io.backend.siluMulBackward(
      io.upload(dtype, seededValues(p.size, p.seed, -8, 8)),
      io.upload(dtype, seededValues(p.size, p.seed + 1, -2, 2)),
      io.upload(dtype, seededValues(p.size, p.seed + 2)),
      dgate,
      dup,
    );
    return {
      dgate: { storage: dgate, tolerance: 'siluMulBackward' },
      dup: { storage: dup, tolerance: 'siluMulBackward' },
    };
  },
});

const adamwCase = kernelCase({
  name: 'adamw',
  draw: (c) =>
    fc.record({
      paramDType: floatDType(c),
      size: fc.integer({ min: 0, max: 300 }),
      step: fc.integer({ min: 1, max: 1000 }),
      weightDecay: fc.constantFrom(0, 0.01, 0.1),
      seed,
    }),
  run: (io, p) => {
    const [beta1, beta2] = [0.9, 0.999];
    const param = io.upload(p.paramDType, seededValues(p.size, p.seed));
    const m = io.upload('float32', seededValues(p.size, p.seed + 1, -0.1, 0.1));
    const v = io.upload('float32', seededValues(p.size, p.seed + 2, 0, 0.01));
    io.backend.adamw(param, io.upload(p.paramDType, seededValues(p.size, p.seed + 3)), m, v, {
      lr: 1e-3,
      beta1,
      beta2,
      eps: 1e-8,
      weightDecay: p.weightDecay,
      biasCorrection1: 1 - beta1 ** p.step,
      biasCorrection2: 1 - beta2 ** p.step,
    });
    return {
      param: { storage: param, tolerance: 'adamw' },
      m: { storage: m, tolerance: 'adamw' },
      v: { storage: v, tolerance: 'adamw' },
    };
  },
});

/** A sorted signed 256-entry codebook, denser near zero (the shape of bitsandbytes' dynamic map). */
export const TEST_CODEBOOK: readonly number[] = Array.from({ length: 256 }, (_, i) => {
  const t = (i - 127.5) / 127.5;
  return Math.fround(Math.sign(t) * t * t);
});

const quantizeShape = fc.record({
  size: fc.integer({ min: 1, max: 600 }),
  blockSize: fc.constantFrom(1, 7, 64, 256),
  seed,
});

const quantizeCase = kernelCase({
  name: 'quantizeBlockwise',
  draw: (c) => fc.tuple(floatDType(c), quantizeShape),
  run: (io, [dtype, p]) => {
    const codes = io.empty('uint8', p.size);
    const absmax = io.empty('float32', Math.ceil(p.size / p.blockSize));
    io.backend.quantizeBlockwise(
      io.upload(dtype, seededValues(p.size, p.seed, -3, 3)),
      io.upload('float32', TEST_CODEBOOK),
      codes,
      absmax,
      {
        blockSize: p.blockSize,
      },
    );
    return {
      codes: { storage: codes, tolerance: 'quantizeBlockwise.codes' },
      absmax: { storage: absmax, tolerance: 'quantizeBlockwise.absmax' },
    };
  },
});

const dequantizeCase = kernelCase({
  name: 'dequantizeBlockwise',
  draw: (c) => fc.tuple(floatDType(c), quantizeShape),
  run: (io, [dtype, p]) => {
    const out = io.empty(dtype, p.size);
    const codes = io.upload('uint8', seededValues(p.size, p.seed, 0, 256).map(Math.floor));
    const absmax = io.upload('float32', seededValues(Math.ceil(p.size / p.blockSize), p.seed + 1, 0, 5));
    io.backend.dequantizeBlockwise(codes, io.upload('float32', TEST_CODEBOOK), absmax, out, { blockSize: p.blockSize });
    return { out: { storage: out, tolerance: 'dequantizeBlockwise' } };
  },
});

const UNARY_OPS = Object.keys(UNARY_RANGES) as UnaryOp[];
const BINARY_OPS: readonly BinaryOp[] = ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', ...COMPARISONS];

/** Every kernel of the Backend interface, in interface order. */
export const KERNEL_CASES: readonly AnyKernelCase[] = [
  fillCase,
  randomCase('uniform'),
  randomCase('normal'),
  castCase,
  copyCase,
  ...UNARY_OPS.map(unaryCase),
  ...BINARY_OPS.map(binaryCase),
  whereCase,
  reduceCase('sum'),
  reduceCase('max'),
  reduceCase('min'),
  argmaxCase,
  matmulCase,
  svdCase,
  qrCase,
  gatherRowsCase,
  scatterAddRowsCase,
  softmaxCase(false),
  softmaxCase(true),
  softmaxBackwardCase(false),
  softmaxBackwardCase(true),
  crossEntropyCase,
  crossEntropyBackwardCase,
  rmsNormCase,
  rmsNormBackwardCase,
  ropeCase,
  siluMulCase,
  siluMulBackwardCase,
  adamwCase,
  quantizeCase,
  dequantizeCase,
];

export function caseContext(backend: Backend): CaseContext {
  const candidates: DType[] = ['float32', 'bfloat16', 'float16', 'float64'];
  const floatDTypes = candidates.filter((d) => backend.supportsDType(d));
  const allDTypes = [...floatDTypes, ...(['int32', 'uint8'] as const).filter((d) => backend.supportsDType(d))];
  return { floatDTypes, allDTypes };
}
