/**
 * What the shared conformance suite does not reach: every matmul kernel (the default picks one per
 * adapter), tensors split across bindings, the host SVD's place in the stream, pooling, batching,
 * memory tracking and the errors a user sees.
 */
import {
  type Backend,
  createCpuBackend,
  type HostArray,
  type MatmulParams,
  philoxFill,
  type Storage,
} from '@galore-ts/core';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type WebGPUBackend, webgpuInfo } from '../src/index.js';
import { DEFAULT_ROWBLOCK, DEFAULT_TILING } from '../src/kernels/matmul.js';
import { openForTest } from './open.js';

const cpu = createCpuBackend();

function upload(backend: Backend, data: Float32Array): Storage {
  const s = backend.alloc(data.length, 'float32', 'activation');
  backend.write(s, data);
  return s;
}

function values(n: number, seed: number, scale = 1): Float32Array {
  let state = seed >>> 0 || 1;
  return Float32Array.from({ length: n }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return (state / 2 ** 32 - 0.5) * 2 * scale;
  });
}

function expectClose(got: HostArray, want: HostArray, abs: number, rel: number, label: string): void {
  expect(got.length, `${label}: length`).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const g = got[i] as number;
    const w = want[i] as number;
    if (!(Math.abs(g - w) <= abs + rel * Math.abs(w))) {
      throw new Error(`${label}: element ${i} is ${g}, CPU gives ${w}`);
    }
  }
}

let gpu: WebGPUBackend | null = null;
let skip = '';
const extra: WebGPUBackend[] = [];

beforeAll(async () => {
  const opened = await openForTest();
  if ('skip' in opened) skip = opened.skip;
  else gpu = opened.backend;
});

afterAll(async () => {
  for (const b of extra) await b.destroy();
  await gpu?.destroy();
});

async function open(options: Parameters<typeof openForTest>[0]): Promise<WebGPUBackend> {
  const opened = await openForTest(options);
  if ('skip' in opened) throw new Error(opened.skip);
  extra.push(opened.backend);
  return opened.backend;
}

describe('device', () => {
  it('webgpuInfo reports the adapter, its features and the limits we use', async (context) => {
    if (!gpu) return context.skip(skip);
    const info = await webgpuInfo();
    if (!info.available) throw new Error(info.reason);
    expect(info.name.length).toBeGreaterThan(0);
    expect(info.limits.maxStorageBufferBindingSize).toBeGreaterThanOrEqual(128 * 1024 * 1024);
    expect(info.limits.maxBufferSize).toBeGreaterThanOrEqual(info.limits.maxStorageBufferBindingSize);
    expect(gpu.info.limits).toEqual(info.limits); // the backend runs with the adapter's real limits
  });
});

describe('matmul kernels', () => {
  const tilings = {
    tiled: DEFAULT_TILING,
    'row-block': DEFAULT_ROWBLOCK,
    subgroup: { subgroup: 8, rows: 16, cn: 8 },
  } as const;
  for (const [name, tiling] of Object.entries(tilings)) {
    it(`${name} kernel matches the CPU for all flags, aligned and unaligned shapes`, async (context) => {
      if (!gpu) return context.skip(skip);
      if ('subgroup' in tiling && gpu.info.subgroupSize !== 8) return context.skip('needs a fixed subgroup size of 8');
      const backend = await open({ matmulTiling: tiling });
      const dims = fc.oneof(fc.integer({ min: 1, max: 70 }), fc.constantFrom(4, 8, 16, 32, 64, 68));
      await fc.assert(
        fc.asyncProperty(
          fc.record({
            batch: fc.integer({ min: 1, max: 3 }),
            m: dims,
            n: dims,
            k: dims,
            transA: fc.boolean(),
            transB: fc.boolean(),
            broadcastB: fc.boolean(),
            accumulate: fc.boolean(),
            seed: fc.integer({ min: 1, max: 1e6 }),
          }),
          async (p) => {
            const params: MatmulParams = {
              batch: p.batch,
              m: p.m,
              n: p.n,
              k: p.k,
              transA: p.transA,
              transB: p.transB,
              aBatchStride: p.m * p.k,
              bBatchStride: p.broadcastB ? 0 : p.k * p.n,
              accumulate: p.accumulate,
            };
            const a = values(p.batch * p.m * p.k, p.seed);
            const b = values((p.broadcastB ? 1 : p.batch) * p.k * p.n, p.seed + 1);
            const o = values(p.batch * p.m * p.n, p.seed + 2);
            const run = async (be: Backend) => {
              const out = upload(be, o);
              be.run('matmul', { a: upload(be, a), b: upload(be, b), out }, params);
              return be.read(out);
            };
            expectClose(await run(backend), await run(cpu), 1e-5, 1e-4, `${name} ${JSON.stringify(params)}`);
          },
        ),
        { numRuns: 25 },
      );
    });
  }

  it('reads bfloat16 and float16 inputs and writes 16-bit outputs rounded once', async (context) => {
    if (!gpu) return context.skip(skip);
    for (const dtype of ['bfloat16', 'float16'] as const) {
      const params: MatmulParams = {
        batch: 1,
        m: 9,
        n: 11,
        k: 13,
        transA: false,
        transB: true,
        aBatchStride: 0,
        bBatchStride: 0,
      };
      const run = async (be: Backend) => {
        const cast = (data: Float32Array) => {
          const f = upload(be, data);
          const h = be.alloc(data.length, dtype, 'activation');
          be.run('cast', { x: f, out: h }, {});
          return h;
        };
        const out = be.alloc(9 * 11, dtype, 'activation');
        be.run('matmul', { a: cast(values(9 * 13, 3)), b: cast(values(11 * 13, 4)), out }, params);
        const wide = be.alloc(9 * 11, 'float32', 'activation');
        be.run('cast', { x: out, out: wide }, {});
        return be.read(wide);
      };
      // Products of 16-bit values are exact in f32; the sums may round differently by one 16-bit ulp.
      expectClose(await run(gpu), await run(cpu), 1e-3, dtype === 'bfloat16' ? 8e-3 : 1e-3, dtype);
    }
  });
});

describe('storages larger than one binding', () => {
  const SIZE = 40_000; // 160 KB of float32 against a 64 KiB binding limit

  it('same-index kernels split into chunks and match the CPU', async (context) => {
    if (!gpu) return context.skip(skip);
    const small = await open({ maxBindingBytes: 64 * 1024 });
    const run = async (be: Backend) => {
      const x = upload(be, values(SIZE, 1, 3));
      const y = be.alloc(SIZE, 'float32', 'activation');
      be.run('unary', { x, out: y }, { op: 'exp' });
      const half = be.alloc(SIZE, 'bfloat16', 'activation');
      be.run('cast', { x: y, out: half }, {});
      const back = be.alloc(SIZE, 'float32', 'activation');
      be.run('cast', { x: half, out: back }, {});
      const m = be.alloc(SIZE, 'float32', 'optimizer');
      const v = be.alloc(SIZE, 'float32', 'optimizer');
      be.run('fill', { out: m }, { value: 0.5 });
      be.run('random', { out: v }, { distribution: 'uniform', seed: [3, 4], offset: 10, a: 0, b: 1 });
      be.run(
        'adamw',
        { param: back, grad: x, m, v },
        {
          lr: 0.01,
          beta1: 0.9,
          beta2: 0.999,
          eps: 1e-8,
          weightDecay: 0.1,
          biasCorrection1: 0.1,
          biasCorrection2: 0.001,
        },
      );
      return [await be.read(back), await be.read(m), await be.read(v)];
    };
    const [got, want] = [await run(small), await run(cpu)];
    expectClose(got[0] as HostArray, want[0] as HostArray, 1e-5, 1e-4, 'param');
    expectClose(got[1] as HostArray, want[1] as HostArray, 1e-6, 1e-5, 'm');
    expectClose(got[2] as HostArray, want[2] as HostArray, 1e-6, 1e-5, 'v');
  });

  it('other kernels refuse with an error that names the limit', async (context) => {
    if (!gpu) return context.skip(skip);
    const small = await open({ maxBindingBytes: 64 * 1024 });
    const x = small.alloc(SIZE, 'float32', 'activation');
    const y = small.alloc(SIZE, 'float32', 'activation');
    expect(() => small.run('softmax', { x, out: y }, { rows: 1, cols: SIZE })).toThrow(
      /maxStorageBufferBindingSize = 65536 bytes/,
    );
  });

  it('an allocation over maxBufferSize fails naming that limit', async (context) => {
    if (!gpu) return context.skip(skip);
    expect(() => gpu?.alloc(2 ** 33, 'float32', 'other')).toThrow(/maxBufferSize/);
  });
});

describe('execution', () => {
  it('uniform random numbers are exactly the Philox reference of random.ts', async (context) => {
    if (!gpu) return context.skip(skip);
    const out = gpu.alloc(1001, 'float32', 'activation');
    gpu.run(
      'random',
      { out },
      { distribution: 'uniform', seed: [0xdeadbeef, 0x12345678], offset: 2 ** 32 - 3, a: 0, b: 1 },
    );
    const want = new Float32Array(1001);
    philoxFill(want, 'uniform', [0xdeadbeef, 0x12345678], 2 ** 32 - 3, 0, 1);
    expect(Array.from(await gpu.read(out))).toEqual(Array.from(want));
  });

  it('the host SVD runs in stream order: later kernels see its results, earlier frees wait', async (context) => {
    if (!gpu) return context.skip(skip);
    const run = async (be: Backend) => {
      const a = upload(be, values(6 * 4, 9));
      const u = be.alloc(6 * 4, 'float32', 'activation');
      const s = be.alloc(4, 'float32', 'activation');
      const vt = be.alloc(16, 'float32', 'activation');
      be.run('svd', { a, u, s, vt }, { m: 6, n: 4 });
      be.free(a); // while the host step may still be reading it
      const doubled = be.alloc(6 * 4, 'float32', 'activation');
      be.run('binary', { a: u, b: u, out: doubled }, { op: 'add', shape: [24], aStrides: [1], bStrides: [1] });
      return [await be.read(doubled), await be.read(s)];
    };
    const [got, want] = [await run(gpu), await run(cpu)];
    expectClose(got[0] as HostArray, want[0] as HostArray, 1e-6, 1e-6, '2u');
    expectClose(got[1] as HostArray, want[1] as HostArray, 1e-6, 1e-6, 's');
  });

  it('records many kernels per submit, reuses pooled buffers and tracks memory by category', async (context) => {
    if (!gpu) return context.skip(skip);
    const backend = await open({});
    const x = upload(backend, values(1000, 2));
    await backend.sync();
    const before = backend.stats();
    for (let i = 0; i < 200; i++) {
      const y = backend.alloc(1000, 'float32', 'activation');
      backend.run('unary', { x, out: y }, { op: 'exp' });
      backend.free(y);
    }
    await backend.sync();
    const after = backend.stats();
    expect(after.dispatches - before.dispatches).toBe(200);
    expect(after.submits - before.submits).toBeLessThanOrEqual(2);
    expect(after.buffersCreated - before.buffersCreated).toBeLessThanOrEqual(1);
    const g = backend.alloc(1000, 'float32', 'gradient');
    backend.retag(g, 'optimizer');
    const snapshot = backend.tracker.snapshot();
    expect(snapshot.live.optimizer).toBe(4000);
    expect(snapshot.live.gradient).toBe(0);
    expect(snapshot.peak.activation).toBe(8000);
  });
});

describe('errors', () => {
  it('names what was expected and what came', async (context) => {
    if (!gpu) return context.skip(skip);
    const g = gpu;
    const x = g.alloc(4, 'float32', 'activation');
    const foreign = cpu.alloc(4, 'float32', 'activation');
    expect(() => g.run('unary', { x: foreign, out: x }, { op: 'exp' })).toThrow(
      /x must be a storage of this webgpu backend; got storage #\d+ \(float32\[4\]\) of the cpu backend/,
    );
    expect(() => g.run('unary', { x, out: g.alloc(5, 'float32', 'activation') }, { op: 'exp' })).toThrow(
      /out has 5 elements; expected x.size = 4/,
    );
    expect(() => g.write(x, new Int32Array(4))).toThrow(/float32 storage takes a Float32Array; got Int32Array/);
    expect(() => g.alloc(4, 'float64', 'other')).toThrow(/float64 is not supported/);
    g.free(x);
    expect(() => g.run('fill', { out: x }, { value: 1 })).toThrow(/already freed/);
  });

  it('a lost device becomes an error, not a hang', async (context) => {
    if (!gpu) return context.skip(skip);
    const backend = await open({});
    const x = upload(backend, values(8, 1));
    (backend as unknown as { executor: { device: GPUDevice } }).executor.device.destroy();
    await expect(backend.read(x)).rejects.toThrow(/device lost/i);
  });

  it('is unusable after destroy()', async (context) => {
    if (!gpu) return context.skip(skip);
    const backend = await open({});
    await backend.destroy();
    expect(() => backend.alloc(1, 'float32', 'other')).toThrow(/the webgpu backend was destroyed/);
  });
});
