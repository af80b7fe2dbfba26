import { describe, expect, it, vi } from 'vitest';
import type { Storage } from '../../../src/backend.js';
import { createMetaBackend } from '../../../src/backends/meta/index.js';
import type { DType } from '../../../src/dtype.js';

const ADAM = {
  lr: 1e-3,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  weightDecay: 0,
  biasCorrection1: 0.1,
  biasCorrection2: 0.001,
};

function setup() {
  const meta = createMetaBackend();
  const t = (size: number, dtype: DType = 'float32'): Storage => meta.alloc(size, dtype, 'activation');
  return { meta, t };
}

describe('meta backend: kernels accept consistent arguments and do nothing', () => {
  it('runs every kernel on well-formed arguments and reports no allocation of its own', async () => {
    const meta = createMetaBackend();
    let allocatedByTest = 0;
    const t = (size: number, dtype: DType = 'float32'): Storage => {
      allocatedByTest++;
      return meta.alloc(size, dtype, 'activation');
    };
    const allocated = vi.spyOn(meta.tracker, 'allocated');
    const freed = vi.spyOn(meta.tracker, 'freed');
    const retagged = vi.spyOn(meta.tracker, 'retagged');
    const x = t(6);
    const y = t(6);
    meta.run('fill', { out: x }, { value: 1 });
    meta.run(
      'random',
      { out: x },
      {
        distribution: 'normal',
        seed: [1, 0],
        offset: 0,
        a: 0,
        b: 1,
      },
    );
    meta.run('cast', { x, out: t(6, 'bfloat16') }, {});
    meta.run(
      'copy',
      { src: x, dst: y },
      {
        srcView: { shape: [3, 2], strides: [1, 3], offset: 0 },
        dstView: {
          shape: [3, 2],
          strides: [2, 1],
          offset: 0,
        },
      },
    );
    meta.run('unary', { x, out: y }, { op: 'exp' });
    meta.run('binary', { a: x, b: t(2), out: y }, { op: 'add', shape: [3, 2], aStrides: [2, 1], bStrides: [0, 1] });
    meta.run('binary', { a: x, b: y, out: t(6, 'uint8') }, { op: 'lt', shape: [6], aStrides: [1], bStrides: [1] });
    meta.run(
      'where',
      { cond: t(6, 'uint8'), a: x, b: y, out: t(6) },
      {
        shape: [6],
        aStrides: [1],
        bStrides: [1],
        condStrides: [1],
      },
    );
    meta.run('reduce', { x, out: t(2) }, { op: 'sum', outer: 2, reduce: 3, inner: 1 });
    meta.run('argmax', { x, out: t(2, 'int32') }, { outer: 2, reduce: 3, inner: 1 });
    meta.run(
      'matmul',
      { a: t(2 * 3 * 4), b: t(4 * 5), out: t(2 * 3 * 5) },
      {
        batch: 2,
        m: 3,
        n: 5,
        k: 4,
        transA: false,
        transB: true,
        aBatchStride: 12,
        bBatchStride: 0,
      },
    );
    meta.run('svd', { a: t(12), u: t(9), s: t(3), vt: t(12) }, { m: 3, n: 4 });
    meta.run('qr', { a: t(12), q: t(12), r: t(9) }, { m: 4, n: 3 });
    meta.run('gatherRows', { table: t(40), ids: t(3, 'int32'), out: t(12) }, { dim: 4 });
    meta.run('scatterAddRows', { src: t(12), ids: t(3, 'int32'), out: t(40) }, { dim: 4 });
    meta.run(
      'softmax',
      { x, out: y },
      {
        rows: 2,
        cols: 3,
        causal: { queryLen: 2, offset: 1 },
      },
    );
    meta.run('logSoftmax', { x, out: y }, { rows: 2, cols: 3 });
    meta.run('softmaxBackward', { y: x, dy: y, dx: t(6) }, { rows: 2, cols: 3 });
    meta.run('logSoftmaxBackward', { y: x, dy: y, dx: t(6) }, { rows: 2, cols: 3 });
    meta.run(
      'crossEntropy',
      { logits: x, targets: t(2, 'int32'), loss: t(2) },
      { rows: 2, cols: 3, ignoreIndex: -100 },
    );
    meta.run(
      'crossEntropyBackward',
      { logits: x, targets: t(2, 'int32'), dloss: t(2), dx: t(6) },
      { rows: 2, cols: 3, ignoreIndex: -100 },
    );
    meta.run('rmsNorm', { x, weight: t(3), out: y, rstd: t(2) }, { rows: 2, cols: 3, eps: 1e-6 });
    meta.run('rmsNormBackward', { x, weight: t(3), rstd: t(2), dy: y, dx: t(6), dweight: t(3) }, { rows: 2, cols: 3 });
    meta.run(
      'layerNorm',
      { x, weight: t(3), bias: t(3), out: y, mean: t(2), rstd: t(2) },
      { rows: 2, cols: 3, eps: 1e-5 },
    );
    meta.run(
      'layerNormBackward',
      { x, weight: t(3), mean: t(2), rstd: t(2), dy: y, dx: t(6), dweight: t(3), dbias: t(3) },
      { rows: 2, cols: 3 },
    );
    meta.run(
      'rope',
      { x: t(2 * 3 * 2 * 4), cos: t(3 * 2), sin: t(3 * 2), out: t(48) },
      {
        batch: 2,
        seq: 3,
        heads: 2,
        headDim: 4,
        inverse: false,
      },
    );
    meta.run('siluMul', { gate: x, up: y, out: t(6) }, {});
    meta.run('siluMulBackward', { gate: x, up: y, dy: t(6), dgate: t(6), dup: t(6) }, {});
    meta.run('gelu', { x, out: t(6) }, {});
    meta.run('geluBackward', { x, dy: y, dx: t(6) }, {});
    meta.run('adamw', { param: x, grad: y, m: t(6), v: t(6) }, ADAM);
    await meta.sync();
    // The only allocations the tracker saw are the test's own: kernels allocate nothing.
    expect(allocated).toHaveBeenCalledTimes(allocatedByTest);
    expect(freed).not.toHaveBeenCalled();
    expect(retagged).not.toHaveBeenCalled();
    expect(meta.tracker.snapshot().liveAllocations).toBe(allocatedByTest);
  });
});

describe('meta backend: kernels reject inconsistent arguments clearly', () => {
  it('elementwise sizes and dtypes', () => {
    const { meta, t } = setup();
    expect(() => meta.run('unary', { x: t(6), out: t(5) }, { op: 'exp' })).toThrow(
      'unary: out has 5 elements; expected x.size = 6',
    );
    expect(() => meta.run('unary', { x: t(6), out: t(6) }, { op: 'cube' as never })).toThrow(
      /unary: unknown unary op "cube"; expected one of neg, exp/,
    );
    expect(() => meta.run('cast', { x: t(6), out: t(7, 'bfloat16') }, {})).toThrow(/cast: out has 7 elements/);
    expect(() => meta.run('siluMulBackward', { gate: t(6), up: t(6), dy: t(6), dgate: t(6), dup: t(4) }, {})).toThrow(
      'siluMulBackward: dup has 4 elements; expected gate.size = 6',
    );
    expect(() => meta.run('adamw', { param: t(6), grad: t(6), m: t(6), v: t(6, 'int32') }, ADAM)).toThrow(
      'adamw: v must be float32, float64, bfloat16 or float16; got int32',
    );
    expect(() => meta.run('adamw', { param: t(6), grad: t(6), m: t(6), v: t(6) }, { ...ADAM, lr: Number.NaN })).toThrow(
      /adamw: lr must be a finite number/,
    );
    expect(() =>
      meta.run(
        'random',
        { out: t(4, 'int32') },
        {
          distribution: 'uniform',
          seed: [0, 0],
          offset: 0,
          a: 0,
          b: 1,
        },
      ),
    ).toThrow(/random: out must be float32, float64, bfloat16 or float16; got int32/);
    expect(() =>
      meta.run(
        'random',
        { out: t(4) },
        {
          distribution: 'uniform',
          seed: [-1, 0],
          offset: 0,
          a: 0,
          b: 1,
        },
      ),
    ).toThrow(/seed must be two unsigned 32-bit words/);
  });

  it('broadcast layouts', () => {
    const { meta, t } = setup();
    const layout = { shape: [3, 2], aStrides: [2, 1], bStrides: [0, 1] };
    expect(() => meta.run('binary', { a: t(6), b: t(2), out: t(5) }, { op: 'add', ...layout })).toThrow(
      'binary: out has 5 elements; expected product of shape [3, 2] = 6',
    );
    expect(() => meta.run('binary', { a: t(6), b: t(1), out: t(6) }, { op: 'add', ...layout })).toThrow(
      /binary: b window \[shape 3x2, strides 0,1, offset 0\] reaches elements 0\.\.1, outside its storage of 1 elements/,
    );
    expect(() => meta.run('binary', { a: t(6), b: t(2), out: t(6) }, { op: 'add', ...layout, aStrides: [1] })).toThrow(
      /binary: a has 1 strides; expected one entry per dimension \(2\)/,
    );
    expect(() => meta.run('binary', { a: t(6), b: t(2), out: t(6) }, { op: 'eq', ...layout })).toThrow(
      'binary: out must be uint8; got float32',
    );
    expect(() =>
      meta.run('where', { cond: t(6, 'uint8'), a: t(6), b: t(6), out: t(6) }, {
        shape: [6],
        aStrides: [1],
        bStrides: [1],
      } as never),
    ).toThrow('where: condStrides is required');
  });

  it('copy windows', () => {
    const { meta, t } = setup();
    const view = { shape: [2, 3], strides: [3, 1], offset: 0 };
    expect(() =>
      meta.run('copy', { src: t(6), dst: t(6) }, { srcView: { ...view, offset: 1 }, dstView: view }),
    ).toThrow(/copy: src view window .* reaches elements 1\.\.6, outside its storage of 6 elements/);
    expect(() =>
      meta.run(
        'copy',
        { src: t(6), dst: t(6) },
        {
          srcView: view,
          dstView: {
            shape: [3, 2],
            strides: [2, 1],
            offset: 0,
          },
        },
      ),
    ).toThrow('copy: src view shape [2, 3] differs from dst view shape [3, 2]');
    expect(() =>
      meta.run('copy', { src: t(6), dst: t(6) }, { srcView: { ...view, strides: [-3, 1] }, dstView: view }),
    ).toThrow(/reaches elements -3\.\.2/);
    // An empty window touches nothing, wherever it points.
    meta.run(
      'copy',
      { src: t(1), dst: t(1) },
      {
        srcView: { shape: [0, 5], strides: [5, 1], offset: 0 },
        dstView: {
          shape: [0, 5],
          strides: [5, 1],
          offset: 0,
        },
      },
    );
  });

  it('reductions and matmul', () => {
    const { meta, t } = setup();
    expect(() => meta.run('reduce', { x: t(6), out: t(3) }, { op: 'sum', outer: 2, reduce: 3, inner: 1 })).toThrow(
      'reduce: out has 3 elements; expected outer * inner = 2',
    );
    expect(() => meta.run('argmax', { x: t(6), out: t(2) }, { outer: 2, reduce: 3, inner: 1 })).toThrow(
      'argmax: out must be int32; got float32',
    );
    const mm = {
      batch: 2,
      m: 3,
      n: 5,
      k: 4,
      transA: true,
      transB: false,
      aBatchStride: 12,
      bBatchStride: 20,
    };
    expect(() => meta.run('matmul', { a: t(23), b: t(40), out: t(30) }, mm)).toThrow(
      'matmul: a has 23 elements; expected at least (batch - 1) * aBatchStride + m * k = 24',
    );
    expect(() => meta.run('matmul', { a: t(24), b: t(39), out: t(30) }, mm)).toThrow(
      /matmul: b has 39 elements; expected at least/,
    );
    expect(() => meta.run('matmul', { a: t(24), b: t(40), out: t(31) }, mm)).toThrow(
      'matmul: out has 31 elements; expected batch * m * n = 30',
    );
    expect(() => meta.run('matmul', { a: t(24), b: t(40), out: t(30) }, { ...mm, m: 2.5 })).toThrow(
      'matmul: m must be a non-negative integer; got 2.5',
    );
    expect(() => meta.run('matmul', { a: t(24), b: t(40), out: t(30) }, { ...mm, batch: 0 })).toThrow(
      'matmul: out has 30 elements; expected batch * m * n = 0',
    );
  });

  it('linear algebra, indexing and fused kernels', () => {
    const { meta, t } = setup();
    expect(() => meta.run('svd', { a: t(12), u: t(12), s: t(3), vt: t(12) }, { m: 3, n: 4 })).toThrow(
      'svd: u has 12 elements; expected m * min(m, n) = 9',
    );
    expect(() => meta.run('qr', { a: t(12), q: t(12), r: t(16) }, { m: 3, n: 4 })).toThrow(
      'qr: needs m >= n (thin QR of a tall or square matrix); got m = 3, n = 4',
    );
    expect(() => meta.run('gatherRows', { table: t(40), ids: t(3), out: t(12) }, { dim: 4 })).toThrow(
      'gatherRows: ids must be int32; got float32',
    );
    expect(() => meta.run('gatherRows', { table: t(41), ids: t(3, 'int32'), out: t(12) }, { dim: 4 })).toThrow(
      'gatherRows: table has 41 elements, not a whole number of rows of dim 4',
    );
    expect(() => meta.run('scatterAddRows', { src: t(12), ids: t(3, 'int32'), out: t(40) }, { dim: 0 })).toThrow(
      'scatterAddRows: dim must be a positive integer; got 0',
    );
    expect(() => meta.run('softmax', { x: t(6), out: t(6) }, { rows: 3, cols: 3 })).toThrow(
      'softmax: x has 6 elements; expected rows * cols = 9',
    );
    expect(() =>
      meta.run('crossEntropy', { logits: t(6), targets: t(2), loss: t(2) }, { rows: 2, cols: 3, ignoreIndex: -100 }),
    ).toThrow('crossEntropy: targets must be int32; got float32');
    expect(() =>
      meta.run(
        'crossEntropy',
        { logits: t(6), targets: t(2, 'int32'), loss: t(3) },
        { rows: 2, cols: 3, ignoreIndex: -100 },
      ),
    ).toThrow('crossEntropy: loss has 3 elements; expected rows = 2');
    expect(() =>
      meta.run('rmsNorm', { x: t(6), weight: t(2), out: t(6), rstd: t(2) }, { rows: 2, cols: 3, eps: 1e-6 }),
    ).toThrow('rmsNorm: weight has 2 elements; expected cols = 3');
    expect(() =>
      meta.run(
        'layerNorm',
        { x: t(6), weight: t(3), bias: t(2), out: t(6), mean: t(2), rstd: t(2) },
        { rows: 2, cols: 3, eps: 1e-5 },
      ),
    ).toThrow('layerNorm: bias has 2 elements; expected cols = 3');
    const shared = t(3);
    expect(() =>
      meta.run(
        'layerNormBackward',
        { x: t(6), weight: t(3), mean: t(2), rstd: t(2), dy: t(6), dx: t(6), dweight: shared, dbias: shared },
        { rows: 2, cols: 3 },
      ),
    ).toThrow(/layerNormBackward: .*dweight.*dbias/);
    expect(() => meta.run('geluBackward', { x: t(6), dy: t(6), dx: t(4) }, {})).toThrow(
      'geluBackward: dx has 4 elements; expected x.size = 6',
    );
    expect(() =>
      meta.run(
        'rope',
        { x: t(12), cos: t(3), sin: t(3), out: t(12) },
        {
          batch: 1,
          seq: 2,
          heads: 2,
          headDim: 3,
          inverse: false,
        },
      ),
    ).toThrow('rope: headDim must be even; got 3');
    expect(() =>
      meta.run(
        'rope',
        { x: t(16), cos: t(3), sin: t(4), out: t(16) },
        {
          batch: 1,
          seq: 2,
          heads: 2,
          headDim: 4,
          inverse: false,
        },
      ),
    ).toThrow('rope: cos has 3 elements; expected seq * headDim / 2 = 4');
  });

  it('accepts a 7B-scale matmul instantly, with no memory', () => {
    const { meta } = setup();
    const tokens = 4 * 2048;
    const a = meta.alloc(tokens * 4096, 'bfloat16', 'activation');
    const w = meta.alloc(11008 * 4096, 'bfloat16', 'parameter');
    const out = meta.alloc(tokens * 11008, 'bfloat16', 'activation');
    meta.run(
      'matmul',
      { a, b: w, out },
      {
        batch: 1,
        m: tokens,
        n: 11008,
        k: 4096,
        transA: false,
        transB: true,
        aBatchStride: 0,
        bBatchStride: 0,
      },
    );
    expect(meta.tracker.snapshot().totalLive).toBe(2 * (tokens * 4096 + 11008 * 4096 + tokens * 11008));
  });
});

describe('attention kernel checks (shared by every backend)', () => {
  const p = { batch: 1, heads: 2, kvHeads: 1, queryLen: 3, keyLen: 3, dim: 2, scale: 1, layout: 'heads' as const };
  const storages = (t: (size: number, dtype?: DType) => Storage) => ({
    q: t(12),
    k: t(6),
    v: t(6),
    dout: t(12),
    dq: t(12),
    dk: t(6),
    dv: t(6),
  });

  it('accepts distinct storages, and an input passed twice (k as v)', () => {
    const { meta, t } = setup();
    const s = storages(t);
    expect(() => meta.run('causalAttentionBackward', s, p)).not.toThrow();
    expect(() => meta.run('causalAttentionBackward', { ...s, v: s.k }, p)).not.toThrow();
    expect(() => meta.run('causalAttention', { q: s.q, k: s.k, v: s.v, out: s.dq }, p)).not.toThrow();
  });

  it('refuses an output that is an input or another output, naming both', () => {
    const { meta, t } = setup();
    const s = storages(t);
    expect(() => meta.run('causalAttentionBackward', { ...s, dq: s.q }, p)).toThrow(
      'causalAttentionBackward: dq and q must be different storages (the kernel cannot run in place)',
    );
    expect(() => meta.run('causalAttentionBackward', { ...s, dv: s.dk }, p)).toThrow(
      'causalAttentionBackward: dk and dv must be different storages',
    );
    expect(() => meta.run('causalAttention', { q: s.q, k: s.k, v: s.v, out: s.q }, p)).toThrow(
      'causalAttention: out and q must be different storages',
    );
  });

  it('refuses mixed dtypes and wrong sizes by role', () => {
    const { meta, t } = setup();
    const s = storages(t);
    expect(() => meta.run('causalAttentionBackward', { ...s, dk: t(6, 'float64') }, p)).toThrow(
      'causalAttentionBackward: dk must be float32; got float64',
    );
    expect(() => meta.run('causalAttentionBackward', { ...s, dout: t(10) }, p)).toThrow(
      'causalAttentionBackward: dout has 10 elements; expected batch * queryLen * heads * dim = 12',
    );
  });
});
