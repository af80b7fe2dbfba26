/** Tensor creation, reading, lifetime (dispose / retain / shareAs), lazy transposes and error messages. */
import { describe, expect, it } from 'vitest';
import {
  add,
  arange,
  createCpuBackend,
  eye,
  fromRaw,
  full,
  getBackend,
  ones,
  onesLike,
  scalar,
  type Tensor,
  tensor,
  tidy,
  zeros,
  zerosLike,
} from '../../src/index.js';

const values = (t: Tensor): number[] => [...t.dataSync()];

/** Bytes live on the default backend. */
const liveBytes = () => getBackend().tracker.snapshot().totalLive;

describe('creation', () => {
  it('infers shape and dtype from nested arrays and typed arrays', () => {
    tidy(() => {
      const a = tensor([
        [1, 2, 3],
        [4, 5, 6],
      ]);
      expect(a.shape).toEqual([2, 3]);
      expect(a.dtype).toBe('float32');
      expect(a.rank).toBe(2);
      expect(a.size).toBe(6);
      expect(values(a)).toEqual([1, 2, 3, 4, 5, 6]);
      expect(tensor(new Float64Array([1, 2])).dtype).toBe('float64');
      expect(tensor(new Int32Array([1, 2])).dtype).toBe('int32');
      expect(tensor(new Uint8Array([1, 2])).dtype).toBe('uint8');
      const s = tensor(7);
      expect(s.shape).toEqual([]);
      expect(s.itemSync()).toBe(7);
      expect(tensor([1, 2, 3, 4], { shape: [2, 2] }).shape).toEqual([2, 2]);
      expect(tensor([]).shape).toEqual([0]);
    });
  });

  it('rejects ragged arrays, wrong sizes and unknown dtypes with clear messages', () => {
    expect(() => tensor([[1, 2], [3]])).toThrow(
      'tensor: ragged nested array: expected 2 entries at depth 1 (shape [2, 2])',
    );
    expect(() => tensor([1, 2, 3], { shape: [2, 2] })).toThrow(
      'tensor: 3 values do not fill shape [2, 2] (4 elements)',
    );
    expect(() => tensor([1], { dtype: 'float8' as never })).toThrow(/tensor: unknown dtype "float8"; expected one of/);
    expect(() => zeros([2, -1])).toThrow('full: a shape must be an array of non-negative integers, got [2,-1]');
  });

  it('full / zeros / ones / *Like / scalar / arange / eye / fromRaw', () => {
    tidy(() => {
      expect(values(full([2, 2], 3.5))).toEqual([3.5, 3.5, 3.5, 3.5]);
      expect(values(zeros([3]))).toEqual([0, 0, 0]);
      const o = ones([2], { dtype: 'int32' });
      expect(o.dtype).toBe('int32');
      expect(values(o)).toEqual([1, 1]);
      const z = zerosLike(tensor([[1, 2]], { dtype: 'float64' }));
      expect(z.dtype).toBe('float64');
      expect(z.shape).toEqual([1, 2]);
      expect(values(onesLike(z))).toEqual([1, 1]);
      expect(scalar(2).shape).toEqual([]);
      const r = arange(5);
      expect(r.dtype).toBe('int32');
      expect(values(r)).toEqual([0, 1, 2, 3, 4]);
      expect(values(arange(1, 2, 0.25))).toEqual([1, 1.25, 1.5, 1.75]);
      expect(arange(1, 2, 0.25).dtype).toBe('float32');
      expect(values(arange(5, 0, -2))).toEqual([5, 3, 1]);
      expect(() => arange(0, 1, 0)).toThrow('arange: step must not be 0');
      expect(values(eye(2))).toEqual([1, 0, 0, 1]);
      // bf16 bits 0x3f80 = 1.0, 0xc000 = -2.0.
      const raw = fromRaw(new Uint16Array([0x3f80, 0xc000]), [2], 'bfloat16');
      expect(values(raw)).toEqual([1, -2]);
    });
  });

  it('requiresGrad option and requiresGrad_ guard integer tensors', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    expect(x.requiresGrad).toBe(true);
    expect(x.isLeaf).toBe(true);
    expect(() => tensor([1], { dtype: 'int32', requiresGrad: true })).toThrow(
      'requiresGrad_: only floating tensors can require grad, got int32',
    );
    const y = tidy(() => x.mul(2));
    expect(y.isLeaf).toBe(false);
    expect(() => y.requiresGrad_(false)).toThrow(/only leaf tensors can change requiresGrad/);
    x.dispose();
    y.dispose();
  });
});

describe('reading values', () => {
  it('data(), item(), tolist() and the sync forms', async () => {
    const x = tensor([
      [1, 2],
      [3, 4],
    ]);
    expect([...(await x.data())]).toEqual([1, 2, 3, 4]);
    expect(await x.tolist()).toEqual([
      [1, 2],
      [3, 4],
    ]);
    await expect(x.item()).rejects.toThrow('item: expected a tensor with one element, got shape [2, 2]');
    expect(() => x.itemSync()).toThrow('itemSync: expected a tensor with one element, got shape [2, 2]');
    const s = tensor(2.5);
    expect(await s.item()).toBe(2.5);
    expect(await s.tolist()).toBe(2.5);
    x.dispose();
    s.dispose();
  });

  it('16-bit floats read back as float32 numbers', () => {
    tidy(() => {
      expect(values(tensor([1.5, -0.25], { dtype: 'float16' }))).toEqual([1.5, -0.25]);
      // 1/3 in bf16: 8 significant bits.
      const b = tensor([1 / 3], { dtype: 'bfloat16' }).dataSync()[0]!;
      expect(Math.abs(b - 1 / 3)).toBeLessThan(2 ** -9);
      expect(b).not.toBe(Math.fround(1 / 3));
    });
  });

  it('toString prints values, shape, dtype and the grad function', () => {
    const x = tensor(
      [
        [1, 2],
        [3, 4],
      ],
      { requiresGrad: true },
    );
    expect(x.toString()).toBe(
      'tensor([[1.0000, 2.0000],\n        [3.0000, 4.0000]], shape=[2, 2], dtype=float32, requires_grad=true)',
    );
    const y = x.mul(2);
    expect(y.toString()).toContain('grad_fn=mul');
    expect(tensor([1, 2], { dtype: 'int32' }).toString()).toBe('tensor([1, 2], shape=[2], dtype=int32)');
    x.dispose();
    expect(x.toString()).toBe('tensor(<disposed>, shape=[2, 2], dtype=float32)');
    y.dispose();
  });
});

describe('lifetime', () => {
  it('dispose frees the storage once, is idempotent, and use after dispose says so', () => {
    const before = liveBytes();
    const x = tensor([1, 2, 3]);
    expect(liveBytes() - before).toBe(12);
    x.dispose();
    expect(x.isDisposed).toBe(true);
    expect(liveBytes()).toBe(before);
    x.dispose();
    expect(liveBytes()).toBe(before);
    expect(() => x.dataSync()).toThrow('Tensor [3] float32 was used after dispose()');
    expect(() => add(x, 1)).toThrow(/used after dispose/);
    expect(() => x.reshape(3)).toThrow(/used after dispose/);
  });

  it('shareAs / retain / detach / reshape share one storage, freed with the last handle', () => {
    const before = liveBytes();
    const x = tensor([1, 2, 3, 4], { requiresGrad: true });
    const r = x.reshape(2, 2);
    const d = x.detach();
    const k = x.retain();
    expect(d.requiresGrad).toBe(false);
    expect(d.gradFn).toBeNull();
    expect(r.storage).toBe(x.storage);
    expect(d.storage).toBe(x.storage);
    expect(liveBytes() - before).toBe(16);
    x.dispose();
    r.dispose();
    d.dispose();
    expect(values(k)).toEqual([1, 2, 3, 4]);
    expect(liveBytes() - before).toBe(16);
    k.dispose();
    expect(liveBytes()).toBe(before);
  });

  it('a lazy transpose keeps its source alive and materialises once for non-matmul reads', () => {
    const before = liveBytes();
    const x = tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    const t = x.T;
    expect(t.transposeOf).not.toBeNull();
    expect(t.matmulOperand().transposed).toBe(true);
    // No copy yet: only x's 24 bytes are live.
    expect(liveBytes() - before).toBe(24);
    x.dispose();
    expect(liveBytes() - before).toBe(24); // t still holds the storage
    expect(values(t)).toEqual([1, 4, 2, 5, 3, 6]);
    // Materialised: the copy replaces the source, which t released.
    expect(t.transposeOf).toBeNull();
    expect(t.matmulOperand().transposed).toBe(false);
    expect(liveBytes() - before).toBe(24);
    t.dispose();
    expect(liveBytes()).toBe(before);
  });

  it('a lazy transpose disposed before use frees its source reference', () => {
    const before = liveBytes();
    const x = tensor([
      [1, 2],
      [3, 4],
    ]);
    const t = x.T;
    x.dispose();
    expect(liveBytes() - before).toBe(16);
    t.dispose();
    expect(t.isDisposed).toBe(true);
    expect(liveBytes()).toBe(before);
    expect(() => t.dataSync()).toThrow(/used after dispose/);
  });

  it('ops refuse tensors from two different backends, naming both', () => {
    const other = createCpuBackend();
    const a = tensor([1, 2]);
    const b = tensor([3, 4], { backend: other });
    expect(b.backend).toBe(other);
    expect(() => add(a, b)).toThrow('add: tensors are on different backends (cpu and cpu); move one with toBackend()');
    a.dispose();
    b.dispose();
    expect(other.tracker.snapshot().totalLive).toBe(0);
  });

  it('errors name shapes: broadcasting', () => {
    tidy(() => {
      expect(() => add(tensor([1, 2, 3]), tensor([1, 2]))).toThrow(
        'add: shapes [3] and [2] cannot be broadcast together',
      );
      expect(() => tensor([[1, 2]]).mul(tensor([[1], [2], [3]]).reshape(1, 3))).toThrow(
        'mul: shapes [1, 2] and [1, 3] cannot be broadcast together',
      );
    });
  });
});
