// The TypeScript layer of the CUDA backend against a recording stand-in for the addon: argument
// order and codes for every kernel family, the memory tracker, and the errors raised before
// anything reaches the GPU. Runs everywhere, GPU or not.
import { CpuBackend } from '@galore-ts/core';
import { describe, expect, it } from 'vitest';
import type { NativeCuda } from '../src/addon.js';
import { CudaBackend } from '../src/backend.js';

type Call = [name: string, ...args: unknown[]];

function fakeNative(): { native: NativeCuda; calls: Call[] } {
  const calls: Call[] = [];
  let nextHandle = 1;
  const native = new Proxy({} as NativeCuda, {
    get(_target, name: string) {
      return (...args: unknown[]) => {
        calls.push([name, ...args]);
        if (name === 'alloc') return nextHandle++;
        if (name === 'download') return Promise.resolve(new ArrayBuffer((args[2] as number) * 4));
        if (name === 'synchronize') return Promise.resolve(new ArrayBuffer(0));
        return undefined;
      };
    },
  });
  return { native, calls };
}

const DEVICE = {
  index: 0,
  name: 'stand-in',
  computeCapability: '9.0',
  totalMemory: 0,
  multiprocessors: 1,
  runtimeVersion: 13000,
  driverVersion: 13000,
  cublas: null,
  cusolver: null,
};

function setup() {
  const { native, calls } = fakeNative();
  const backend = new CudaBackend(native, DEVICE);
  return { backend, calls };
}

describe('CudaBackend (TypeScript layer)', () => {
  it('allocates through the addon and reports bytes to the tracker by category', () => {
    const { backend, calls } = setup();
    const s = backend.alloc(10, 'bfloat16', 'optimizer');
    expect(calls.at(-1)).toEqual(['alloc', 20]);
    expect(backend.tracker.snapshot().live.optimizer).toBe(20);
    backend.retag(s, 'gradient');
    expect(backend.tracker.snapshot().live).toMatchObject({ optimizer: 0, gradient: 20 });
    backend.free(s);
    expect(calls.at(-1)).toEqual(['free', 1]);
    expect(backend.tracker.snapshot().totalLive).toBe(0);
  });

  it('gives empty storages no device memory', () => {
    const { backend, calls } = setup();
    const s = backend.alloc(0, 'float32', 'activation');
    expect(calls).toEqual([]);
    backend.free(s);
    expect(calls).toEqual([]);
  });

  it('refuses float64 and bad sizes with what it expected', () => {
    const { backend } = setup();
    expect(backend.supportsDType('float64')).toBe(false);
    expect(() => backend.alloc(4, 'float64', 'activation')).toThrow(
      /cuda.alloc: float64 is not supported on the cuda backend/,
    );
    expect(() => backend.alloc(-1, 'float32', 'activation')).toThrow(/non-negative integer; got -1/);
  });

  it('checks host arrays on write', () => {
    const { backend } = setup();
    const s = backend.alloc(3, 'bfloat16', 'activation');
    expect(() => backend.write(s, new Float32Array(3))).toThrow(
      /bfloat16 storage takes a Uint16Array.*got Float32Array/,
    );
    expect(() => backend.write(s, new Uint16Array(2))).toThrow(/data has 2 elements; the storage holds 3/);
  });

  it('returns reads as the dtype host array', async () => {
    const { backend } = setup();
    const s = backend.alloc(5, 'int32', 'activation');
    const data = await backend.read(s);
    expect(data).toBeInstanceOf(Int32Array);
    expect(data.length).toBe(5);
  });

  it('rejects freed and foreign storages', () => {
    const { backend } = setup();
    const s = backend.alloc(2, 'float32', 'activation');
    backend.free(s);
    expect(() => backend.run('fill', { out: s }, { value: 1 })).toThrow(
      /fill: out \(storage #\d+ \(float32\[2\]\)\) was already freed/,
    );
    expect(() => backend.free(s)).toThrow(/already freed/);
    const cpu = new CpuBackend();
    const foreign = cpu.alloc(2, 'float32', 'activation');
    expect(() => backend.run('fill', { out: foreign }, { value: 1 })).toThrow(
      /out must be a storage of this cuda backend; got storage #\d+ \(float32\[2\]\) of the cpu backend/,
    );
  });

  it('passes buffers as handle, dtype code, size and parameters in the addon order', () => {
    const { backend, calls } = setup();
    const a = backend.alloc(6, 'bfloat16', 'activation'); // handle 1, code 1
    const b = backend.alloc(6, 'bfloat16', 'activation'); // handle 2
    const out = backend.alloc(4, 'float32', 'activation'); // handle 3, code 0
    backend.run(
      'matmul',
      { a, b, out },
      {
        batch: 1,
        m: 2,
        n: 2,
        k: 3,
        transA: true,
        transB: false,
        aBatchStride: 6,
        bBatchStride: 0,
      },
    );
    expect(calls.at(-1)).toEqual(['matmul', 1, 1, 6, 2, 1, 6, 3, 0, 4, 1, 2, 2, 3, true, false, 6, 0, false]);
    const flags = backend.alloc(6, 'uint8', 'activation'); // handle 4, code 4
    const small = backend.alloc(2, 'float32', 'activation'); // handle 5
    const moment = backend.alloc(6, 'float32', 'activation'); // handle 6
    const moment2 = backend.alloc(6, 'float32', 'activation'); // handle 7
    backend.run('binary', { a, b, out: flags }, { op: 'ge', shape: [2, 3], aStrides: [3, 1], bStrides: [0, 1] });
    expect(calls.at(-1)).toEqual(['binary', 12, 1, 1, 6, 2, 1, 6, 4, 4, 6, [2, 3], [3, 1], [0, 1]]);
    backend.run('unary', { x: a, out: b }, { op: 'cos' });
    expect(calls.at(-1)?.slice(0, 2)).toEqual(['unary', 14]);
    backend.run('reduce', { x: a, out: small }, { op: 'min', outer: 2, reduce: 3, inner: 1 });
    expect(calls.at(-1)).toEqual(['reduce', 2, 1, 1, 6, 5, 0, 2, 2, 3, 1]);
    backend.run('softmax', { x: a, out: b }, { rows: 2, cols: 3, causal: { queryLen: 2, offset: 1 } });
    expect(calls.at(-1)).toEqual(['softmax', 1, 1, 6, 2, 1, 6, 2, 3, 2, 1, false]);
    backend.run('logSoftmax', { x: a, out: b }, { rows: 2, cols: 3 });
    expect(calls.at(-1)).toEqual(['softmax', 1, 1, 6, 2, 1, 6, 2, 3, 0, 0, true]);
    backend.run('random', { out }, { distribution: 'normal', seed: [5, 6], offset: 2 ** 40, a: 0, b: 1 });
    expect(calls.at(-1)).toEqual(['random', 3, 0, 4, 1, 5, 6, 2 ** 40, 0, 1]);
    backend.run(
      'copy',
      { src: a, dst: b },
      {
        srcView: { shape: [3, 2], strides: [1, 3], offset: 0 },
        dstView: { shape: [3, 2], strides: [2, 1], offset: 0 },
      },
    );
    expect(calls.at(-1)).toEqual(['copy', 1, 1, 6, [3, 2], [1, 3], 0, 2, 1, 6, [2, 1], 0]);
    backend.run(
      'adamw',
      { param: a, grad: b, m: moment, v: moment2 },
      {
        lr: 0.1,
        beta1: 0.9,
        beta2: 0.99,
        eps: 1e-8,
        weightDecay: 0.01,
        biasCorrection1: 0.1,
        biasCorrection2: 0.01,
      },
    );
    expect(calls.at(-1)?.slice(13)).toEqual([0.1, 0.9, 0.99, 1e-8, 0.01, 0.1, 0.01]);
    // LayerNorm of [2, 3]: x, weight, bias, out, mean, rstd in declared order, then rows, cols, eps.
    const weight = backend.alloc(3, 'float32', 'activation'); // handle 8
    const bias = backend.alloc(3, 'float32', 'activation'); // handle 9
    const rstd = backend.alloc(2, 'float32', 'activation'); // handle 10
    backend.run('layerNorm', { x: a, weight, bias, out: b, mean: small, rstd }, { rows: 2, cols: 3, eps: 1e-5 });
    expect(calls.at(-1)).toEqual(['layerNorm', 1, 1, 6, 8, 0, 3, 9, 0, 3, 2, 1, 6, 5, 0, 2, 10, 0, 2, 2, 3, 1e-5]);
  });

  it('validates parameters the addon cannot see', () => {
    const { backend } = setup();
    const s = backend.alloc(4, 'float32', 'activation');
    expect(() =>
      backend.run('random', { out: s }, { distribution: 'uniform', seed: [-1, 0], offset: 0, a: 0, b: 1 }),
    ).toThrow(/random: seed must be two unsigned 32-bit words \[low, high\]; got \[-1,0\]/);
    expect(() =>
      backend.run(
        'softmax',
        { x: s, out: backend.alloc(4, 'float32', 'activation') },
        { rows: 2, cols: 2, causal: { queryLen: 0, offset: 0 } },
      ),
    ).toThrow(/causal.queryLen must be a positive integer; got 0/);
    expect(() =>
      backend.run('where', { cond: s, a: s, b: s, out: s }, { shape: [4], aStrides: [1], bStrides: [1] } as never),
    ).toThrow(/condStrides is required/);
    expect(() =>
      backend.run(
        'copy',
        { src: s, dst: backend.alloc(4, 'float32', 'activation') },
        { srcView: { shape: [4], strides: [1], offset: 0 }, dstView: { shape: [2, 2], strides: [2, 1], offset: 0 } },
      ),
    ).toThrow(/copy: src view shape \[4\] differs from dst view shape \[2, 2\]/);
  });

  it('is unusable after destroy', () => {
    const { native, calls } = fakeNative();
    let destroyed = 0;
    const backend = new CudaBackend(native, DEVICE, () => destroyed++);
    backend.destroy();
    backend.destroy();
    expect(calls.filter(([name]) => name === 'shutdown')).toHaveLength(1);
    expect(destroyed).toBe(1);
    expect(() => backend.alloc(1, 'float32', 'activation')).toThrow(/cuda.alloc: the cuda backend was destroyed/);
  });
});
