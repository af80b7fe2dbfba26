/**
 * @galore-ts/backend-cuda: the Backend interface on NVIDIA GPUs through a Node-API addon with our
 * own CUDA kernels (cuBLAS / cuSOLVER are used when present, loaded at run time). Loaded by core
 * on demand (`--backend cuda`); on a machine without the addon, a driver or a device,
 * `createCudaBackend()` rejects with the reason and `cudaStatus()` reports it.
 */
import type { Backend } from '@galore-ts/core';
import { loadAddon } from './addon.js';
import { CudaBackend } from './backend.js';

export { ADDON_PATH, type CudaStatus, cudaStatus, type NativeDeviceInfo, type NativeMemoryStats } from './addon.js';
export { CudaBackend, type CudaDeviceInfo } from './backend.js';
export { CudaStorage } from './storage.js';

export interface CudaBackendOptions {
  /** Device index (default 0, or GALORE_CUDA_DEVICE). */
  device?: number;
  /** Use cuBLAS / cuSOLVER when they load (default true); false runs our own kernels only. */
  useLibraries?: boolean;
}

// The addon has one device context and one stream per process, so one backend lives at a time.
let live: CudaBackend | undefined;

/**
 * Opens a CUDA device and returns its backend; rejects with a sentence saying why when the addon
 * was not built, did not load, or finds no driver or device. While a backend is alive, later
 * calls for the same device return it.
 */
export async function createCudaBackend(options: CudaBackendOptions = {}): Promise<Backend & CudaBackend> {
  const device = options.device ?? Number(process.env.GALORE_CUDA_DEVICE ?? 0);
  if (!Number.isInteger(device) || device < 0) {
    throw new RangeError(`createCudaBackend: device must be a non-negative integer; got ${device}`);
  }
  const addon = loadAddon();
  if ('error' in addon) throw new Error(`cannot create the CUDA backend: ${addon.error}`);
  const { native } = addon;
  if (live) {
    if (live.device.index !== device) {
      throw new Error(
        `createCudaBackend: a CUDA backend is already open on device ${live.device.index}; destroy() it first`,
      );
    }
    return live;
  }
  const { count, error } = native.deviceCount();
  if (error !== null || count === 0)
    throw new Error(`cannot create the CUDA backend: ${error ?? 'no CUDA device is visible'}`);
  if (device >= count) {
    throw new RangeError(`createCudaBackend: device ${device} does not exist (${count} CUDA device(s) visible)`);
  }
  let info: ReturnType<typeof native.init>;
  try {
    info = native.init(device);
  } catch (cause) {
    throw new Error(`cannot create the CUDA backend: ${(cause as Error).message}`, { cause });
  }
  const backend = new CudaBackend(native, { ...info, index: device }, () => {
    live = undefined;
  });
  if (options.useLibraries === false) backend.useLibraries(false);
  live = backend;
  return backend;
}
