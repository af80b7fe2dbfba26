/**
 * Loading the native addon and describing its functions. The addon is a plain CommonJS module
 * built by scripts/build-addon.mjs into build/Release/galore_cuda.node; it is loaded lazily, so
 * importing this package costs nothing on a machine without CUDA.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** Where the build puts the addon; the same path from src/ (tests) and dist/ (published). */
export const ADDON_PATH = fileURLToPath(new URL('../build/Release/galore_cuda.node', import.meta.url));
const BUILD_STATUS_PATH = fileURLToPath(new URL('../build/status.json', import.meta.url));

/** A storage as the addon takes it: handle, dtype code, element count. */
export type NativeBuffer = readonly [handle: number, dtype: number, size: number];

export interface NativeDeviceInfo {
  name: string;
  computeCapability: string;
  totalMemory: number;
  multiprocessors: number;
  runtimeVersion: number;
  driverVersion: number;
  /** The cuBLAS / cuSOLVER library loaded with dlopen, or null when our own kernels serve. */
  cublas: string | null;
  cusolver: string | null;
}

export interface NativeMemoryStats {
  /** Bytes in blocks handed out (rounded block sizes). */
  allocated: number;
  /** Bytes freed by tensors and kept for reuse. */
  cached: number;
  /** Bytes obtained from cudaMalloc. */
  reserved: number;
  peakReserved: number;
  cudaMallocs: number;
}

/** An argument of a kernel export: a buffer's three numbers, a scalar, a flag or a shape. */
export type NativeArg = number | boolean | readonly number[];

/**
 * The addon's kernel exports (csrc/binding.cpp), one per kernel family. Each takes its buffers
 * (spread as three numbers each) and parameters in the order csrc/galore_cuda.h declares; the
 * binding checks the count and types of what it is given. backend.ts derives that order from the
 * kernel declarations in core, so it is written down once.
 */
export const NATIVE_KERNELS = [
  'fill',
  'random',
  'cast',
  'copy',
  'unary',
  'binary',
  'where',
  'reduce',
  'argmax',
  'matmul',
  'svd',
  'qr',
  'gatherRows',
  'scatterAddRows',
  'softmax',
  'softmaxBackward',
  'crossEntropy',
  'crossEntropyBackward',
  'rmsNorm',
  'rmsNormBackward',
  'layerNorm',
  'layerNormBackward',
  'rope',
  'siluMul',
  'siluMulBackward',
  'gelu',
  'geluBackward',
  'adamw',
  'quantizeBlockwise',
  'dequantizeBlockwise',
] as const;

export type NativeKernelName = (typeof NATIVE_KERNELS)[number];

/** The addon's exports (csrc/binding.cpp); buffers are spread as three numbers. */
export interface NativeCuda extends Record<NativeKernelName, (...args: NativeArg[]) => void> {
  deviceCount(): { count: number; error: string | null; runtimeVersion: number };
  init(device: number): NativeDeviceInfo;
  shutdown(): void;
  useLibraries(enable: boolean): void;
  alloc(bytes: number): number;
  free(handle: number): void;
  memoryStats(): NativeMemoryStats;
  emptyCache(): void;
  upload(...args: [...NativeBuffer, ArrayBufferView]): void;
  download(...args: NativeBuffer): Promise<ArrayBuffer>;
  synchronize(): Promise<ArrayBuffer>;
}

/** What the package can do on this machine, and if nothing, why. */
export interface CudaStatus {
  /** The addon file exists (the build ran and succeeded). */
  built: boolean;
  /** The addon loaded into this process. */
  loaded: boolean;
  /** CUDA devices visible (0 without a driver). */
  deviceCount: number;
  /** Why the backend cannot be used (null when it can). */
  reason: string | null;
  /** The CUDA runtime version the addon was built with (e.g. 13000), when it loaded. */
  runtimeVersion?: number;
}

let cached: { native: NativeCuda } | { error: string } | undefined;

function buildSkipReason(): string {
  try {
    const status = JSON.parse(readFileSync(BUILD_STATUS_PATH, 'utf8')) as { built?: boolean; reason?: string | null };
    if (status.built === false && status.reason) return `the CUDA addon was not built: ${status.reason}`;
  } catch {
    // no status file: the build never ran
  }
  return `the CUDA addon was not built (${ADDON_PATH} is missing); run \`npm run build:addon -w @galore-ts/backend-cuda\` on a machine with nvcc and CMake`;
}

/** The addon, or a sentence saying why it is not available. Loaded once per process. */
export function loadAddon(): { native: NativeCuda } | { error: string } {
  if (cached) return cached;
  if (!existsSync(ADDON_PATH)) return { error: buildSkipReason() }; // not cached: a build may still come
  try {
    const require = createRequire(import.meta.url);
    cached = { native: require(ADDON_PATH) as NativeCuda };
  } catch (error) {
    cached = { error: `the CUDA addon failed to load from ${ADDON_PATH}: ${(error as Error).message}` };
  }
  return cached;
}

export function cudaStatus(): CudaStatus {
  const built = existsSync(ADDON_PATH);
  const addon = loadAddon();
  if ('error' in addon) return { built, loaded: false, deviceCount: 0, reason: addon.error };
  const { count, error, runtimeVersion } = addon.native.deviceCount();
  return { built, loaded: true, deviceCount: count, reason: error, runtimeVersion };
}
