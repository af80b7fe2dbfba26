import { createCpuBackend } from '@galore-ts/core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createWebGPUBackend, type WebGPUBackend } from '../src/index.js';

let gpu: WebGPUBackend;
beforeAll(async () => {
  gpu = await createWebGPUBackend();
  console.log(gpu.info.name);
});
afterAll(async () => {
  await gpu?.destroy();
});

it('matmul', async () => {
  const cpu = createCpuBackend();
  const m = 37, n = 29, k = 45;
  const av = Float32Array.from({ length: m * k }, () => Math.random() - 0.5);
  const bv = Float32Array.from({ length: k * n }, () => Math.random() - 0.5);
  const run = async (be: typeof cpu | WebGPUBackend) => {
    const a = be.alloc(m * k, 'float32', 'other');
    const b = be.alloc(k * n, 'float32', 'other');
    const o = be.alloc(m * n, 'float32', 'other');
    be.write(a, av);
    be.write(b, bv);
    be.matmul(a, b, o, { batch: 1, m, n, k, transA: false, transB: false, aBatchStride: 0, bBatchStride: 0 });
    return (await be.read(o)) as Float32Array;
  };
  const want = await run(cpu);
  const got = await run(gpu);
  for (let i = 0; i < want.length; i++) expect(got[i]).toBeCloseTo(want[i] as number, 4);
});
