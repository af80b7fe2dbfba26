/** Conformance cases for row gather / scatter-add and the fused kernels. */
import fc from 'fast-check';
import type { AttentionLayout, AttentionParams } from '../../../packages/core/src/backend.js';
import type { DType } from '../../../packages/core/src/dtype.js';
import { floatDType, kernelCase, seed } from '../case.js';
import { type KernelIo, seededValues } from '../io.js';

const indexShape = fc.record({
  rows: fc.integer({ min: 1, max: 12 }),
  dim: fc.integer({ min: 1, max: 24 }),
  count: fc.integer({ min: 0, max: 20 }),
  seed,
});

function drawIds(count: number, rows: number, s: number): number[] {
  return seededValues(count, s, 0, rows).map(Math.floor);
}

export const gatherRowsCase = kernelCase({
  name: 'gatherRows',
  draw: (c) => fc.tuple(floatDType(c), indexShape),
  run: (io, [dtype, p]) => {
    const table = io.upload(dtype, seededValues(p.rows * p.dim, p.seed));
    const out = io.empty(dtype, p.count * p.dim);
    io.backend.run(
      'gatherRows',
      { table, ids: io.upload('int32', drawIds(p.count, p.rows, p.seed + 1)), out },
      { dim: p.dim },
    );
    return { out: { storage: out, tolerance: 'gatherRows' } };
  },
});

export const scatterAddRowsCase = kernelCase({
  name: 'scatterAddRows',
  draw: (c) => fc.tuple(floatDType(c), indexShape),
  run: (io, [dtype, p]) => {
    const out = io.upload(dtype, seededValues(p.rows * p.dim, p.seed));
    const src = io.upload(dtype, seededValues(p.count * p.dim, p.seed + 2));
    io.backend.run(
      'scatterAddRows',
      { src, ids: io.upload('int32', drawIds(p.count, p.rows, p.seed + 1)), out },
      { dim: p.dim },
    );
    return { out: { storage: out, tolerance: 'scatterAddRows' } };
  },
});

const rowsCols = fc.record({ rows: fc.integer({ min: 1, max: 12 }), cols: fc.integer({ min: 1, max: 70 }), seed });
const causalArbitrary = fc.option(
  fc.record({ queryLen: fc.integer({ min: 1, max: 6 }), offset: fc.integer({ min: 0, max: 8 }) }),
  { nil: undefined },
);

export function softmaxCase(log: boolean) {
  const name = log ? 'logSoftmax' : 'softmax';
  return kernelCase({
    name,
    draw: (c) => fc.tuple(floatDType(c), rowsCols, causalArbitrary),
    run: (io, [dtype, p, causal]) => {
      const x = io.upload(dtype, seededValues(p.rows * p.cols, p.seed, -8, 8));
      const out = io.empty(dtype, p.rows * p.cols);
      const params = causal ? { rows: p.rows, cols: p.cols, causal } : { rows: p.rows, cols: p.cols };
      if (log) io.backend.run('logSoftmax', { x, out }, params);
      else io.backend.run('softmax', { x, out }, params);
      return { out: { storage: out, tolerance: name } };
    },
  });
}

export function softmaxBackwardCase(log: boolean) {
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
      const dy = io.upload(dtype, seededValues(y.length, p.seed + 1));
      io.backend.run(name, { y: io.upload(dtype, y), dy, dx }, { rows: p.rows, cols: p.cols });
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

export const crossEntropyCase = kernelCase({
  name: 'crossEntropy',
  draw: (c) => fc.tuple(floatDType(c), rowsCols),
  run: (io, [dtype, p]) => {
    const { logits, targets } = crossEntropyInputs(io, dtype, p);
    const loss = io.empty(dtype, p.rows);
    io.backend.run(
      'crossEntropy',
      { logits, targets, loss },
      { rows: p.rows, cols: p.cols, ignoreIndex: IGNORE_INDEX },
    );
    return { loss: { storage: loss, tolerance: 'crossEntropy' } };
  },
});

export const crossEntropyBackwardCase = kernelCase({
  name: 'crossEntropyBackward',
  draw: (c) => fc.tuple(floatDType(c), rowsCols),
  run: (io, [dtype, p]) => {
    const { logits, targets } = crossEntropyInputs(io, dtype, p);
    const dx = io.empty(dtype, p.rows * p.cols);
    io.backend.run(
      'crossEntropyBackward',
      { logits, targets, dloss: io.upload(dtype, seededValues(p.rows, p.seed + 2, 0.5, 2)), dx },
      { rows: p.rows, cols: p.cols, ignoreIndex: IGNORE_INDEX },
    );
    return { dx: { storage: dx, tolerance: 'crossEntropyBackward' } };
  },
});

export const rmsNormCase = kernelCase({
  name: 'rmsNorm',
  draw: (c) => fc.tuple(floatDType(c), rowsCols),
  run: (io, [dtype, p]) => {
    const out = io.empty(dtype, p.rows * p.cols);
    const rstd = io.empty('float32', p.rows);
    const x = io.upload(dtype, seededValues(p.rows * p.cols, p.seed, -3, 3));
    io.backend.run(
      'rmsNorm',
      { x, weight: io.upload(dtype, seededValues(p.cols, p.seed + 1, 0.5, 1.5)), out, rstd },
      { rows: p.rows, cols: p.cols, eps: 1e-5 },
    );
    return { out: { storage: out, tolerance: 'rmsNorm' }, rstd: { storage: rstd, tolerance: 'rmsNorm' } };
  },
});

export const rmsNormBackwardCase = kernelCase({
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
    io.backend.run(
      'rmsNormBackward',
      {
        x: io.upload(dtype, xValues),
        weight: io.upload(dtype, seededValues(p.cols, p.seed + 1, 0.5, 1.5)),
        rstd: io.upload('float32', rstdValues),
        dy: io.upload(dtype, seededValues(p.rows * p.cols, p.seed + 2)),
        dx,
        dweight,
      },
      { rows: p.rows, cols: p.cols },
    );
    return {
      dx: { storage: dx, tolerance: 'rmsNormBackward' },
      dweight: { storage: dweight, tolerance: 'rmsNormBackward' },
    };
  },
});

export const layerNormCase = kernelCase({
  name: 'layerNorm',
  draw: (c) => fc.tuple(floatDType(c), rowsCols),
  run: (io, [dtype, p]) => {
    const out = io.empty(dtype, p.rows * p.cols);
    const mean = io.empty('float32', p.rows);
    const rstd = io.empty('float32', p.rows);
    // Values in [-1, 5]: rows have a mean near 2, so subtracting it matters.
    const x = io.upload(dtype, seededValues(p.rows * p.cols, p.seed, -1, 5));
    io.backend.run(
      'layerNorm',
      {
        x,
        weight: io.upload(dtype, seededValues(p.cols, p.seed + 1, 0.5, 1.5)),
        bias: io.upload(dtype, seededValues(p.cols, p.seed + 2, -1, 1)),
        out,
        mean,
        rstd,
      },
      { rows: p.rows, cols: p.cols, eps: 1e-5 },
    );
    return {
      out: { storage: out, tolerance: 'layerNorm' },
      mean: { storage: mean, tolerance: 'layerNorm' },
      rstd: { storage: rstd, tolerance: 'layerNorm' },
    };
  },
});

export const layerNormBackwardCase = kernelCase({
  name: 'layerNormBackward',
  draw: (c) => fc.tuple(floatDType(c), rowsCols),
  run: (io, [dtype, p]) => {
    const xValues = seededValues(p.rows * p.cols, p.seed, -1, 5);
    // mean and rstd are computed on the host so both backends start from the same statistics.
    const rowsOf = Array.from({ length: p.rows }, (_, r) => xValues.slice(r * p.cols, (r + 1) * p.cols));
    const meanValues = rowsOf.map((row) => row.reduce((s, v) => s + v, 0) / p.cols);
    const rstdValues = rowsOf.map((row, r) => {
      const variance = row.reduce((s, v) => s + (v - (meanValues[r] as number)) ** 2, 0) / p.cols;
      return 1 / Math.sqrt(variance + 1e-5);
    });
    const dx = io.empty(dtype, p.rows * p.cols);
    const dweight = io.filled(dtype, p.cols, 5);
    const dbias = io.filled(dtype, p.cols, 5);
    io.backend.run(
      'layerNormBackward',
      {
        x: io.upload(dtype, xValues),
        weight: io.upload(dtype, seededValues(p.cols, p.seed + 1, 0.5, 1.5)),
        mean: io.upload('float32', meanValues),
        rstd: io.upload('float32', rstdValues),
        dy: io.upload(dtype, seededValues(p.rows * p.cols, p.seed + 2)),
        dx,
        dweight,
        dbias,
      },
      { rows: p.rows, cols: p.cols },
    );
    return {
      dx: { storage: dx, tolerance: 'layerNormBackward' },
      dweight: { storage: dweight, tolerance: 'layerNormBackward' },
      dbias: { storage: dbias, tolerance: 'layerNormBackward' },
    };
  },
});

export const ropeCase = kernelCase({
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
    io.backend.run(
      'rope',
      { x, cos: io.upload(p.dtype, angles.map(Math.cos)), sin: io.upload(p.dtype, angles.map(Math.sin)), out },
      {
        batch: p.batch,
        seq: p.seq,
        heads: p.heads,
        headDim,
        inverse: p.inverse,
      },
    );
    return { out: { storage: out, tolerance: 'rope' } };
  },
});

const elementCount = fc.record({ size: fc.integer({ min: 0, max: 300 }), seed });

export const siluMulCase = kernelCase({
  name: 'siluMul',
  draw: (c) => fc.tuple(floatDType(c), elementCount),
  run: (io, [dtype, p]) => {
    const out = io.empty(dtype, p.size);
    io.backend.run(
      'siluMul',
      {
        gate: io.upload(dtype, seededValues(p.size, p.seed, -8, 8)),
        up: io.upload(dtype, seededValues(p.size, p.seed + 1, -2, 2)),
        out,
      },
      {},
    );
    return { out: { storage: out, tolerance: 'siluMul' } };
  },
});

export const siluMulBackwardCase = kernelCase({
  name: 'siluMulBackward',
  draw: (c) => fc.tuple(floatDType(c), elementCount),
  run: (io, [dtype, p]) => {
    const dgate = io.empty(dtype, p.size);
    const dup = io.empty(dtype, p.size);
    io.backend.run(
      'siluMulBackward',
      {
        gate: io.upload(dtype, seededValues(p.size, p.seed, -8, 8)),
        up: io.upload(dtype, seededValues(p.size, p.seed + 1, -2, 2)),
        dy: io.upload(dtype, seededValues(p.size, p.seed + 2)),
        dgate,
        dup,
      },
      {},
    );
    return {
      dgate: { storage: dgate, tolerance: 'siluMulBackward' },
      dup: { storage: dup, tolerance: 'siluMulBackward' },
    };
  },
});

export const geluCase = kernelCase({
  name: 'gelu',
  draw: (c) => fc.tuple(floatDType(c), elementCount),
  run: (io, [dtype, p]) => {
    const out = io.empty(dtype, p.size);
    io.backend.run('gelu', { x: io.upload(dtype, seededValues(p.size, p.seed, -8, 8)), out }, {});
    return { out: { storage: out, tolerance: 'gelu' } };
  },
});

export const geluBackwardCase = kernelCase({
  name: 'geluBackward',
  draw: (c) => fc.tuple(floatDType(c), elementCount),
  run: (io, [dtype, p]) => {
    const dx = io.empty(dtype, p.size);
    io.backend.run(
      'geluBackward',
      {
        x: io.upload(dtype, seededValues(p.size, p.seed, -8, 8)),
        dy: io.upload(dtype, seededValues(p.size, p.seed + 1)),
        dx,
      },
      {},
    );
    return { dx: { storage: dx, tolerance: 'geluBackward' } };
  },
});

export const adamwCase = kernelCase({
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
    io.backend.run(
      'adamw',
      { param, grad: io.upload(p.paramDType, seededValues(p.size, p.seed + 3)), m, v },
      {
        lr: 1e-3,
        beta1,
        beta2,
        eps: 1e-8,
        weightDecay: p.weightDecay,
        biasCorrection1: 1 - beta1 ** p.step,
        biasCorrection2: 1 - beta2 ** p.step,
      },
    );
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

export const quantizeCase = kernelCase({
  name: 'quantizeBlockwise',
  draw: (c) => fc.tuple(floatDType(c), quantizeShape),
  run: (io, [dtype, p]) => {
    const codes = io.empty('uint8', p.size);
    const absmax = io.empty('float32', Math.ceil(p.size / p.blockSize));
    io.backend.run(
      'quantizeBlockwise',
      {
        x: io.upload(dtype, seededValues(p.size, p.seed, -3, 3)),
        codebook: io.upload('float32', TEST_CODEBOOK),
        codes,
        absmax,
      },
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

export const dequantizeCase = kernelCase({
  name: 'dequantizeBlockwise',
  draw: (c) => fc.tuple(floatDType(c), quantizeShape),
  run: (io, [dtype, p]) => {
    const out = io.empty(dtype, p.size);
    const codes = io.upload('uint8', seededValues(p.size, p.seed, 0, 256).map(Math.floor));
    const absmax = io.upload('float32', seededValues(Math.ceil(p.size / p.blockSize), p.seed + 1, 0, 5));
    io.backend.run(
      'dequantizeBlockwise',
      { codes, codebook: io.upload('float32', TEST_CODEBOOK), absmax, out },
      { blockSize: p.blockSize },
    );
    return { out: { storage: out, tolerance: 'dequantizeBlockwise' } };
  },
});

interface AttentionDraw {
  dtype: DType;
  batch: number;
  kvHeads: number;
  group: number;
  queryLen: number;
  extraKeys: number;
  dim: number;
  scale: number;
  layout: AttentionLayout;
  seed: number;
}

const attentionShape = (c: Parameters<typeof floatDType>[0]): fc.Arbitrary<AttentionDraw> =>
  fc.record({
    dtype: floatDType(c),
    batch: fc.integer({ min: 1, max: 2 }),
    kvHeads: fc.integer({ min: 1, max: 2 }),
    // Query heads per kv head: grouped-query attention when over 1.
    group: fc.integer({ min: 1, max: 3 }),
    queryLen: fc.integer({ min: 1, max: 40 }),
    // Keys before the queries (a cache) or fewer keys than queries (rows that see none).
    extraKeys: fc.integer({ min: -2, max: 4 }),
    dim: fc.integer({ min: 1, max: 16 }),
    scale: fc.constantFrom(0.25, 1),
    layout: fc.constantFrom<AttentionLayout>('sequence', 'heads'),
    seed,
  });

function attentionInputs(io: KernelIo, p: AttentionDraw) {
  const keyLen = Math.max(1, p.queryLen + p.extraKeys);
  const heads = p.kvHeads * p.group;
  const { batch, kvHeads, queryLen, dim, scale, layout } = p;
  const params: AttentionParams = { batch, queryLen, keyLen, heads, kvHeads, dim, scale, layout };
  const [querySize, keySize] = [batch * heads * queryLen * dim, batch * kvHeads * keyLen * dim];
  const inputs = {
    q: io.upload(p.dtype, seededValues(querySize, p.seed, -2, 2)),
    k: io.upload(p.dtype, seededValues(keySize, p.seed + 1, -2, 2)),
    v: io.upload(p.dtype, seededValues(keySize, p.seed + 2)),
  };
  return { params, inputs, querySize, keySize };
}

export const causalAttentionCase = kernelCase({
  name: 'causalAttention',
  draw: attentionShape,
  run: (io, p) => {
    const { params, inputs, querySize } = attentionInputs(io, p);
    const out = io.empty(p.dtype, querySize);
    io.backend.run('causalAttention', { ...inputs, out }, params);
    return { out: { storage: out, tolerance: 'causalAttention' } };
  },
});

export const causalAttentionBackwardCase = kernelCase({
  name: 'causalAttentionBackward',
  draw: attentionShape,
  run: (io, p) => {
    const { params, inputs, querySize, keySize } = attentionInputs(io, p);
    const dout = io.upload(p.dtype, seededValues(querySize, p.seed + 3));
    // Outputs start non-zero: the kernel must overwrite them.
    const dq = io.filled(p.dtype, querySize, 3);
    const dk = io.filled(p.dtype, keySize, 3);
    const dv = io.filled(p.dtype, keySize, 3);
    io.backend.run('causalAttentionBackward', { ...inputs, dout, dq, dk, dv }, params);
    const tolerance = 'causalAttentionBackward';
    return { dq: { storage: dq, tolerance }, dk: { storage: dk, tolerance }, dv: { storage: dv, tolerance } };
  },
});
