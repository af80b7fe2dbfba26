/**
 * Device setup through dawn-node (npm package `webgpu`): one adapter, one device with the adapter's
 * real limits (not WebGPU's conservative defaults) and the optional features we use.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AnyTiling } from './kernels/matmul.js';

export interface WebGPUOptions {
  /** 'high-performance' picks a discrete GPU over an integrated one when both exist. */
  powerPreference?: 'low-power' | 'high-performance';
  /** Extra dawn toggles as `key=value` strings for `create()`, e.g. 'backend=vulkan'. */
  dawnFlags?: readonly string[];
  /**
   * Lower the storage-binding limit the kernels plan with (bytes). For tests of the split path;
   * the device keeps its real limit.
   */
  maxBindingBytes?: number;
  /** Bytes of freed buffers the pool keeps for reuse before destroying them (default 1 GiB). */
  poolCacheBytes?: number;
  /** Matmul tile shape; the default suits both lavapipe and discrete GPUs (see bench/webgpu.ts). */
  matmulTiling?: AnyTiling;
}

/** The adapter limits and features the backend runs with, as `webgpuInfo()` reports them. */
export interface WebGPUAdapterReport {
  available: true;
  name: string;
  vendor: string;
  architecture: string;
  description: string;
  /** Whether this is a CPU implementation (lavapipe, SwiftShader). */
  isSoftware: boolean;
  features: string[];
  shaderF16: boolean;
  timestampQuery: boolean;
  /** Lanes per subgroup when the adapter has one fixed size and the subgroups feature; else null. */
  subgroupSize: number | null;
  limits: {
    maxStorageBufferBindingSize: number;
    maxBufferSize: number;
    maxComputeWorkgroupStorageSize: number;
    maxComputeInvocationsPerWorkgroup: number;
    maxComputeWorkgroupsPerDimension: number;
    maxStorageBuffersPerShaderStage: number;
    minStorageBufferOffsetAlignment: number;
    minUniformBufferOffsetAlignment: number;
  };
}

export interface WebGPUUnavailable {
  available: false;
  reason: string;
}

export interface GpuContext {
  /** The object `create()` returned; Node keeps running while it is referenced. */
  gpu: GPU;
  device: GPUDevice;
  report: WebGPUAdapterReport;
}

/** Limits we raise to what the adapter offers. */
const REQUESTED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
] as const;

const OPTIONAL_FEATURES = ['shader-f16', 'timestamp-query', 'subgroups'] as const;

/**
 * dawn-node warns on every start when XDG_RUNTIME_DIR is unset (its Vulkan loader looks there).
 * Point it at a private temporary folder for this process only.
 */
function ensureRuntimeDir(): void {
  if (process.env.XDG_RUNTIME_DIR) return;
  process.env.XDG_RUNTIME_DIR = mkdtempSync(join(tmpdir(), 'galore-webgpu-'));
}

type DawnModule = { create(flags: string[]): GPU };

async function loadDawn(): Promise<DawnModule> {
  try {
    return (await import('webgpu')) as unknown as DawnModule;
  } catch (error) {
    throw new Error(
      `WebGPU backend: cannot load dawn-node (npm package "webgpu"): ${(error as Error).message}. ` +
        'Install it with `npm install webgpu`.',
    );
  }
}

function dawnFlags(options: WebGPUOptions): string[] {
  const flags = [...(options.dawnFlags ?? [])];
  // NVIDIA's Vulkan driver only exposes shader-f16 through dawn when this toggle is on.
  if (process.platform === 'linux' && !flags.some((f) => f.startsWith('enable-dawn-features='))) {
    flags.push('enable-dawn-features=vulkan_enable_f16_on_nvidia');
  }
  return flags;
}

function fixedSubgroupSize(info: GPUAdapterInfo, device: GPUDevice): number | null {
  const sizes = info as unknown as { subgroupMinSize?: number; subgroupMaxSize?: number };
  if (!device.features.has('subgroups')) return null;
  if (!sizes.subgroupMinSize || sizes.subgroupMinSize !== sizes.subgroupMaxSize) return null;
  return sizes.subgroupMinSize;
}

function describeAdapter(adapter: GPUAdapter, device: GPUDevice): WebGPUAdapterReport {
  const info = adapter.info;
  const description = info.description ?? '';
  const vendor = info.vendor ?? '';
  const name = description || [vendor, info.architecture, info.device].filter(Boolean).join(' ') || 'unknown adapter';
  const features = [...device.features].map(String).sort();
  const l = device.limits;
  return {
    available: true,
    name,
    vendor,
    architecture: info.architecture ?? '',
    description,
    isSoftware: /llvmpipe|lavapipe|swiftshader|software/i.test(`${description} ${vendor} ${info.architecture}`),
    features,
    shaderF16: device.features.has('shader-f16'),
    timestampQuery: device.features.has('timestamp-query'),
    subgroupSize: fixedSubgroupSize(info, device),
    limits: {
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
      maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
      minStorageBufferOffsetAlignment: l.minStorageBufferOffsetAlignment,
      minUniformBufferOffsetAlignment: l.minUniformBufferOffsetAlignment,
    },
  };
}

/** Opens the adapter and a device with its full limits; throws with the reason when there is none. */
export async function openGpu(options: WebGPUOptions = {}): Promise<GpuContext> {
  ensureRuntimeDir();
  const dawn = await loadDawn();
  const gpu = dawn.create(dawnFlags(options));
  const adapter = await gpu.requestAdapter(
    options.powerPreference ? { powerPreference: options.powerPreference } : undefined,
  );
  if (!adapter) {
    throw new Error(
      'WebGPU backend: no adapter found. On a machine without a GPU, install a CPU Vulkan driver ' +
        '(Debian bookworm: scripts/setup-webgpu-cpu.sh installs lavapipe from bookworm-backports).',
    );
  }
  const requiredLimits: Record<string, number> = {};
  for (const key of REQUESTED_LIMITS) {
    const value = (adapter.limits as unknown as Record<string, number | undefined>)[key];
    if (typeof value === 'number') requiredLimits[key] = value;
  }
  const requiredFeatures = OPTIONAL_FEATURES.filter((f) => adapter.features.has(f)) as GPUFeatureName[];
  const device = await adapter.requestDevice({ requiredLimits, requiredFeatures });
  return { gpu, device, report: describeAdapter(adapter, device) };
}

/**
 * Adapter name, features and limits in one call, or why WebGPU is unavailable. Opens and closes
 * a device, so call it once, not per operation.
 */
export async function webgpuInfo(options: WebGPUOptions = {}): Promise<WebGPUAdapterReport | WebGPUUnavailable> {
  let context: GpuContext;
  try {
    context = await openGpu(options);
  } catch (error) {
    return { available: false, reason: (error as Error).message };
  }
  context.device.destroy();
  return context.report;
}
