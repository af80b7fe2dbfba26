/**
 * @galore-ts/backend-webgpu: the Backend interface on WebGPU through dawn-node (npm `webgpu`),
 * with WGSL kernels. Loaded by core on demand (`--backend webgpu`), so users without a GPU never
 * load dawn.
 */
import type { Backend } from '@galore-ts/core';
import { WebGPUBackend } from './backend.js';
import { openGpu, type WebGPUOptions } from './device.js';

export { WebGPUBackend } from './backend.js';
export type { WebGPUAdapterReport, WebGPUOptions, WebGPUUnavailable } from './device.js';
export { webgpuInfo } from './device.js';

/**
 * Opens the adapter (with its real limits, shader-f16 and timestamp-query when offered) and
 * returns a backend. Call `destroy()` when done: dawn keeps a core busy and the process alive
 * until then.
 */
export async function createWebGPUBackend(options: WebGPUOptions = {}): Promise<Backend & WebGPUBackend> {
  const context = await openGpu(options);
  return new WebGPUBackend(context, options);
}
