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
    meta.fill(x, 1);
    meta.random(x, {
      distribution: 'normal',
      seed: [1, 0],
      offset: 0,
      a: 0,
      b: 1,
    });
    meta.cast(x, t(6, 'bfloat16'));
    meta.copy(x, { shape: [3, 2], strides: [1, 3], offset: 0 }, y, {
      shape: [3, 2],
      strides: [2, 1],
      offset: 0,
    });
    meta.unary('exp', x, y);
    meta.binary('add', x, t(2), y, {
      shape: [3, 2],
      aStrides: [2, 1],
      bStrides: [0, 1],
    });
    meta.binary('lt', x, y, t(6, 'uint8'), {
      shape: [6],
      aStrides: [1],
      bStrides: [1],
    });
    meta.where(t(6, 'uint8'), x, y, t(6), {
      shape: [6],
      aStrides: [1],
      bStrides: [1],
      condStrides: [1],
    });
    meta.reduce('sum', x, t(2), { outer: 2, reduce: 3, inner: 1 });
    meta.argmax(x, t(2, 'int32'), { outer: 2, reduce: 3, inner: 1 });
    meta.matmul(t(2 * 3 * 4), t(4 * 5), t(2 * 3 * 5), {
      batch: 2,
      m: 3,
      n: 5,
      k: 4,
      transA: false,
      transB: true,
      aBatchStride: 12,
      bBatchStride: 0,
    });
    meta.svd(t(12), 3, 4, t(9), t(3), t(12));
    meta.qr(t(12), 4, 3, t(12), t(9));
    meta.gatherRows(t(40), t(3, 'int32'), t(12), 4);
    meta.scatterAddRows(t(12), t(3, 'int32'), t(40), 4);
    meta.softmax(x, y, {
      rows: 2,
      cols: 3,
      causal: { queryLen: 2, offset: 1 },
    });
    meta.logSoftmax(x, y, { rows: 2, cols: 3 });
    meta.softmaxBackward(x, y, t(6), 2, 3);
    meta.logSoftmaxBackward(x, y, t(6), 2, 3);
    meta.crossEntropy(x, t(2, 'int32'), t(2), 2, 3, -100);
    meta.crossEntropyBackward(x, t(2, 'int32'), t(2), t(6), 2, 3, -100);
    meta.rmsNorm(x, t(3), y, t(2), 2, 3, 1e-6);
    meta.rmsNormBackward(x, t(3), t(2), y, t(6), t(3), 2, 3);
    meta.rope(t(2 * 3 * 2 * 4), t(3 * 2), t(3 * 2), t(48), {
      batch: 2,
      seq: 3,
      heads: 2,
      headDim: 4,
      inverse: false,
    });
    meta.siluMul(x, y, t(6));
    meta.siluMulBackward(x, y, t(6), t(6), t(6));
    meta.adamw(x, y, t(6), t(6), ADAM);
    meta.quantizeBlockwise(t(10), t(256), t(10, 'uint8'), t(3), {
      blockSize: 4,
    });
    meta.dequantizeBlockwise(t(10, 'uint8'), t(256), t(3), t(10), {
      blockSize: 4,
    });
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
    expect(() => meta.unary('exp', t(6), t(5))).toThrow(
      'meta.unary(exp): out has 5 elements, expected the same as x (6)',
    );
    expect(() => meta.unary('cube' as never, t(6), t(6))).toThrow(
      /meta\.unary\(cube\): unknown op "cube"; expected one of neg, exp/,
    );
    expect(() => meta.cast(t(6), t(7, 'bfloat16'))).toThrow(/meta\.cast: out has 7 elements/);
    expect(() => meta.siluMulBackward(t(6), t(6), t(6), t(6), t(4))).toThrow(
      'meta.siluMulBackward: dup has 4 elements, expected the same as gate (6)',
    );
    expect(() => meta.adamw(t(6), t(6), t(6), t(6, 'int32'), ADAM)).toThrow(
      'meta.adamw: v must have a floating dtype, got int32',
    );
    expect(() => meta.adamw(t(6), t(6), t(6), t(6), { ...ADAM, lr: Number.NaN })).toThrow(
      /params\.lr must be a finite number/,
    );
    expect(() =>
      meta.random(t(4, 'int32'), {
        distribution: 'uniform',
        seed: [0, 0],
        offset: 0,
        a: 0,
        b: 1,
      }),
    ).toThrow(/meta\.random: out must have a floating dtype, got int32/);
    expect(() =>
      meta.random(t(4), {
        distribution: 'uniform',
        seed: [-1, 0],
        offset: 0,
        a: 0,
        b: 1,
      }),
    ).toThrow(/seed must be two unsigned 32-bit words/);
  });

  it('broadcast layouts', () => {
    const { meta, t } = setup();
    const layout = { shape: [3, 2], aStrides: [2, 1], bStrides: [0, 1] };
    expect(() => meta.binary('add', t(6), t(2), t(5), layout)).toThrow(
      'meta.binary(add): out has 5 elements, expected product of layout.shape [3, 2] = 6',
    );
    expect(() => meta.binary('add', t(6), t(1), t(6), layout)).toThrow(
      /meta\.binary\(add\): b window \[shape 3x2, strides 0,1, offset 0\] reaches elements 0\.\.1, but the storage has 1/,
    );
    expect(() => meta.binary('add', t(6), t(2), t(6), { ...layout, aStrides: [1] })).toThrow(
      /a strides have 1 entries, expected one per dimension \(2\)/,
    );
    expect(() => meta.binary('eq', t(6), t(2), t(6), layout)).toThrow(
      'meta.binary(eq): out must be uint8, got float32',
    );
    expect(() =>
      meta.where(t(6, 'uint8'), t(6), t(6), t(6), {
        shape: [6],
        aStrides: [1],
        bStrides: [1],
      }),
    ).toThrow('meta.where: layout.condStrides is required');
  });

  it('copy windows', () => {
    const { meta, t } = setup();
    const view = { shape: [2, 3], strides: [3, 1], offset: 0 };
    expect(() => meta.copy(t(6), { ...view, offset: 1 }, t(6), view)).toThrow(
      /meta\.copy: srcView window .* reaches elements 1\.\.6, but the storage has 6/,
    );
    expect(() =>
      meta.copy(t(6), view, t(6), {
        shape: [3, 2],
        strides: [2, 1],
        offset: 0,
      }),
    ).toThrow('meta.copy: srcView shape [2, 3] differs from dstView shape [3, 2]');
    expect(() => meta.copy(t(6), { ...view, strides: [-3, 1] }, t(6), view)).toThrow(/reaches elements -3\.\.2/);
    // An empty window touches nothing, wherever it points.
    meta.copy(t(1), { shape: [0, 5], strides: [5, 1], offset: 0 }, t(1), {
      shape: [0, 5],
      strides: [5, 1],
      offset: 0,
    });
  });

  it('reductions and matmul', () => {
    const { meta, t } = setup();
    expect(() => meta.reduce('sum', t(6), t(3), { outer: 2, reduce: 3, inner: 1 })).toThrow(
      'meta.reduce(sum): out has 3 elements, expected outer*inner (2*1) = 2',
    );
    expect(() => meta.argmax(t(6), t(2), { outer: 2, reduce: 3, inner: 1 })).toThrow(
      'meta.argmax: out must be int32, got float32',
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
    expect(() => meta.matmul(t(23), t(40), t(30), mm)).toThrow(
      'meta.matmul: a has 23 elements, but 2 batches of 4x3 at stride 12 need 24',
    );
    expect(() => meta.matmul(t(24), t(39), t(30), mm)).toThrow(/meta\.matmul: b has 39 elements, but 2 batches of 4x5/);
    expect(() => meta.matmul(t(24), t(40), t(31), mm)).toThrow(
      'meta.matmul: out has 31 elements, expected batch*m*n (2*3*5) = 30',
    );
    expect(() => meta.matmul(t(24), t(40), t(30), { ...mm, m: 2.5 })).toThrow(
      'meta.matmul: m must be a non-negative integer, got 2.5',
    );
    expect(() => meta.matmul(t(24), t(40), t(30), { ...mm, batch: 0 })).toThrow(
      'meta.matmul: batch must be positive, got 0',
    );
  });

  it('linear algebra, indexing and fused kernels', () => {
    const { meta, t } = setup();
    expect(() => meta.svd(t(12), 3, 4, t(12), t(3), t(12))).toThrow(
      'meta.svd: u has 12 elements, expected m*min(m,n) (3*3) = 9',
    );
    expect(() => meta.qr(t(12), 3, 4, t(12), t(16))).toThrow('meta.qr: thin QR needs m >= n, got m=3, n=4');
    expect(() => meta.gatherRows(t(40), t(3), t(12), 4)).toThrow('meta.gatherRows: ids must be int32, got float32');
    expect(() => meta.gatherRows(t(41), t(3, 'int32'), t(12), 4)).toThrow(
      'meta.gatherRows: table has 41 elements, not a whole number of rows of dim 4',
    );
    expect(() => meta.scatterAddRows(t(12), t(3, 'int32'), t(40), 0)).toThrow(
      'meta.scatterAddRows: dim must be positive, got 0',
    );
    expect(() => meta.softmax(t(6), t(6), { rows: 3, cols: 3 })).toThrow(
      'meta.softmax: x has 6 elements, expected rows*cols (3*3) = 9',
    );
    expect(() => meta.crossEntropy(t(6), t(2), t(2), 2, 3, -100)).toThrow(
      'meta.crossEntropy: targets must be int32, got float32',
    );
    expect(() => meta.crossEntropy(t(6), t(2, 'int32'), t(3), 2, 3, -100)).toThrow(
      'meta.crossEntropy: loss has 3 elements, expected rows = 2',
    );
    expect(() => meta.rmsNorm(t(6), t(2), t(6), t(2), 2, 3, 1e-6)).toThrow(
      'meta.rmsNorm: weight has 2 elements, expected cols = 3',
    );
    expect(() =>
      meta.rope(t(12), t(3), t(3), t(12), {
        batch: 1,
        seq: 2,
        heads: 2,
        headDim: 3,
        inverse: false,
      }),
    ).toThrow('meta.rope: headDim must be even, got 3');
    expect(() =>
      meta.rope(t(16), t(3), t(4), t(16), {
        batch: 1,
        seq: 2,
        heads: 2,
        headDim: 4,
        inverse: false,
      }),
    ).toThrow('meta.rope: cos has 3 elements, expected seq*headDim/2 (2*2) = 4');
    expect(() =>
      meta.quantizeBlockwise(t(10), t(256), t(10, 'uint8'), t(2), {
        blockSize: 4,
      }),
    ).toThrow('meta.quantizeBlockwise: absmax has 2 elements, expected ceil(size/blockSize) (ceil(10/4)) = 3');
    expect(() =>
      meta.dequantizeBlockwise(t(10, 'uint8'), t(255), t(3), t(10), {
        blockSize: 4,
      }),
    ).toThrow('meta.dequantizeBlockwise: codebook has 255 elements, expected one entry per 8-bit code = 256');
  });

  it('accepts a 7B-scale matmul instantly, with no memory', () => {
    const { meta } = setup();
    const tokens = 4 * 2048;
    const a = meta.alloc(tokens * 4096, 'bfloat16', 'activation');
    const w = meta.alloc(11008 * 4096, 'bfloat16', 'parameter');
    const out = meta.alloc(tokens * 11008, 'bfloat16', 'activation');
    meta.matmul(a, w, out, {
      batch: 1,
      m: tokens,
      n: 11008,
      k: 4096,
      transA: false,
      transB: true,
      aBatchStride: 0,
      bBatchStride: 0,
    });
    expect(meta.tracker.snapshot().totalLive).toBe(2 * (tokens * 4096 + 11008 * 4096 + tokens * 11008));
  });
});
