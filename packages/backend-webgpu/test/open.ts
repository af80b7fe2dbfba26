/**
 * Opens the WebGPU backend for a test, or says why it cannot (no adapter: see
 * scripts/setup-webgpu-cpu.sh). With GALORE_REQUIRE_WEBGPU=1 a missing adapter fails instead.
 * Tests must `destroy()` what they open: dawn keeps a core busy and the process alive until then.
 */
import { createWebGPUBackend, type WebGPUBackend, type WebGPUOptions } from '../src/index.js';

export async function openForTest(options: WebGPUOptions = {}): Promise<{ backend: WebGPUBackend } | { skip: string }> {
  try {
    return { backend: await createWebGPUBackend(options) };
  } catch (error) {
    if (process.env.GALORE_REQUIRE_WEBGPU === '1') throw error;
    return { skip: `WebGPU unavailable: ${(error as Error).message}` };
  }
}
