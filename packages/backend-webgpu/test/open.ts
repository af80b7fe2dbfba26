/**
 * Opens the WebGPU backend for a test, or says why it cannot (no adapter: see
 * scripts/setup-webgpu-cpu.sh). With GALORE_REQUIRE_WEBGPU=1 a missing adapter fails instead.
 * Tests must `destroy()` what they open: dawn keeps a core busy and the process alive until then.
 */
import { afterAll, beforeAll, expect } from 'vitest';
import { createWebGPUBackend, type WebGPUBackend, type WebGPUOptions } from '../src/index.js';

export async function openForTest(options: WebGPUOptions = {}): Promise<{ backend: WebGPUBackend } | { skip: string }> {
  try {
    return { backend: await createWebGPUBackend(options) };
  } catch (error) {
    if (process.env.GALORE_REQUIRE_WEBGPU === '1') throw error;
    return { skip: `WebGPU unavailable: ${(error as Error).message}` };
  }
}

/**
 * Opens WebGPU once for the enclosing describe block and destroys it after. `get()` returns the
 * backend, or skips the calling test with the reason when there is none.
 */
export function webgpuForSuite(): { get: (context: { skip: (note?: string) => void }) => WebGPUBackend } {
  let backend: WebGPUBackend | null = null;
  let skip = '';
  beforeAll(async () => {
    const opened = await openForTest();
    if ('skip' in opened) skip = opened.skip;
    else backend = opened.backend;
  });
  afterAll(async () => {
    await backend?.destroy();
  });
  return {
    get: (context) => {
      if (!backend) context.skip(skip);
      return backend!;
    },
  };
}

/**
 * Asserts that every step's WebGPU loss is within `tolerance` (relative) of the CPU loss, and
 * returns the worst relative difference for the log line.
 */
export function expectLossesClose(
  gpuLosses: readonly number[],
  cpuLosses: readonly number[],
  tolerance: number,
): number {
  expect(gpuLosses).toHaveLength(cpuLosses.length);
  let worst = 0;
  gpuLosses.forEach((loss, step) => {
    const want = cpuLosses[step] as number;
    const difference = Math.abs(loss - want);
    worst = Math.max(worst, difference / Math.abs(want));
    expect(difference, `step ${step}: webgpu ${loss}, cpu ${want}`).toBeLessThanOrEqual(tolerance * Math.abs(want));
  });
  return worst;
}
