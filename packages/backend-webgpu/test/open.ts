/**
 * Opens the WebGPU backend for a test, or says why it cannot (no adapter: see
 * scripts/setup-webgpu-cpu.sh). With GALORE_REQUIRE_WEBGPU=1 a missing adapter fails instead.
 * Tests must `destroy()` what they open: dawn keeps a core busy and the process alive until then.
 */
import { afterAll, beforeAll } from 'vitest';
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

export { expectLossesClose } from '../../../test/llama-curve.js';
