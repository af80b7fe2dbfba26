/**
 * The WebGPU Backend: storages in pooled GPU buffers, kernels recorded into batched command
 * buffers. Core checks every call before it reaches a kernel here (BackendBase), so mistakes throw
 * at the call; the GPU work itself is only waited for by `read` and `sync`.
 */
import type { DType, HostArray, KernelTable, MemoryCategory } from '@galore-ts/core';
import { BackendBase, DTYPE_BYTES, dataError, hostArrayFor } from '@galore-ts/core';
import { BufferPool, type PoolStats } from './buffer-pool.js';
import type { GpuContext, WebGPUAdapterReport, WebGPUOptions } from './device.js';
import { Executor } from './executor.js';
import { adamw } from './kernels/adamw.js';
import { KernelContext } from './kernels/context.js';
import { copy } from './kernels/copy.js';
import { fill, random } from './kernels/creation.js';
import { crossEntropy, crossEntropyBackward } from './kernels/cross-entropy.js';
import { binary, cast, siluMul, siluMulBackward, unary, where } from './kernels/elementwise.js';
import { gelu, geluBackward } from './kernels/gelu.js';
import { gatherRows, scatterAddRows } from './kernels/indexing.js';
import { layerNorm, layerNormBackward } from './kernels/layernorm.js';
import { hostQr, hostSvd } from './kernels/linalg.js';
import { type AnyTiling, DEFAULT_ROWBLOCK, DEFAULT_TILING, matmulWith } from './kernels/matmul.js';
import { dequantizeBlockwise, quantizeBlockwise } from './kernels/quantize.js';
import { argmax, reduce } from './kernels/reduce.js';
import { rmsNorm, rmsNormBackward } from './kernels/rmsnorm.js';
import { rope } from './kernels/rope.js';
import { logSoftmax, logSoftmaxBackward, softmax, softmaxBackward } from './kernels/softmax.js';
import { GpuStorage } from './storage.js';

/**
 * CPU adapters run SIMD lanes, not GPU warps, and get kernels built for that (matmul-subgroup.ts,
 * matmul-rowblock.ts); GPUs get the workgroup-tiled kernel.
 */
function chooseMatmulKernel(report: WebGPUAdapterReport): AnyTiling {
  if (!report.isSoftware) return DEFAULT_TILING;
  if (report.subgroupSize !== null && report.subgroupSize <= 16)
    return { subgroup: report.subgroupSize, rows: 2 * report.subgroupSize, cn: 8 };
  return DEFAULT_ROWBLOCK;
}

export class WebGPUBackend extends BackendBase<GpuStorage> {
  readonly name = 'webgpu';
  /** Adapter name, features and the limits the kernels run with. */
  readonly info: WebGPUAdapterReport;
  private readonly executor: Executor;
  private readonly pool: BufferPool;
  private readonly ctx: KernelContext;
  private gpu: GPU | null;
  private readonly tiling: AnyTiling;
  protected readonly kernels: KernelTable<GpuStorage>;

  constructor(context: GpuContext, options: WebGPUOptions = {}) {
    super();
    this.gpu = context.gpu;
    this.info = context.report;
    this.tiling = options.matmulTiling ?? chooseMatmulKernel(context.report);
    this.executor = new Executor(context.device);
    this.pool = new BufferPool(context.device, options.poolCacheBytes ?? 2 ** 30, (buffers) =>
      this.executor.destroyWhenIdle(buffers),
    );
    const limits = context.report.limits;
    const maxBinding = Math.min(
      limits.maxStorageBufferBindingSize,
      options.maxBindingBytes ?? Number.POSITIVE_INFINITY,
    );
    this.ctx = new KernelContext(
      this.executor,
      this,
      maxBinding,
      limits.maxComputeWorkgroupsPerDimension,
      limits.minStorageBufferOffsetAlignment,
      this.pool,
    );
    this.kernels = this.kernelTable();
  }

  override supportsDType(dtype: DType): boolean {
    return super.supportsDType(dtype) && dtype !== 'float64';
  }

  /** Buffer pool figures (GPU bytes reserved, including cached free buffers) and command counts. */
  stats(): PoolStats & { dispatches: number; submits: number; pipelines: number } {
    return { ...this.pool.stats(), ...this.executor.stats };
  }

  // --- the device side of storage ---

  protected createStorage(size: number, dtype: DType, category: MemoryCategory): GpuStorage {
    const bytes = size * DTYPE_BYTES[dtype];
    const limit = this.info.limits.maxBufferSize;
    if (bytes > limit) {
      throw new RangeError(
        `webgpu.alloc: ${dtype}[${size}] needs ${bytes} bytes; this adapter's maxBufferSize is ${limit} bytes`,
      );
    }
    const device = this.executor.device;
    device.pushErrorScope('out-of-memory');
    const buffer = this.pool.acquire(Math.max(bytes, 4));
    this.executor.watch(
      device.popErrorScope().then((error) => {
        if (error) {
          const live = this.tracker.snapshot().totalLive;
          this.executor.fail(
            new Error(
              `WebGPU out of memory allocating ${bytes} bytes for ${dtype}[${size}] (${live} bytes live): ${error.message}`,
            ),
            true,
          );
        }
      }),
    );
    return new GpuStorage(this, size, dtype, category, buffer);
  }

  protected override releaseStorage(s: GpuStorage): void {
    // In stream order after every kernel already called on it, so reuse cannot overtake them.
    const buffer = s.detach();
    this.executor.run(() => this.pool.release(buffer));
  }

  protected upload(s: GpuStorage, data: HostArray): void {
    const snapshot = data.slice(); // the caller may reuse its array before a deferred upload runs
    const buffer = s.buffer;
    this.executor.run(() => this.executor.upload(buffer, snapshot));
  }

  protected download(s: GpuStorage): Promise<HostArray> {
    const buffer = s.buffer;
    return this.executor.inOrder(async () => {
      const bytes = await this.executor.download(buffer, 0, s.byteLength);
      await this.reportDataErrors();
      const out = hostArrayFor(s.dtype, s.size);
      new Uint8Array(out.buffer).set(new Uint8Array(bytes));
      return out;
    });
  }

  protected waitIdle(): Promise<void> {
    return this.executor.inOrder(async () => {
      await this.executor.drain();
      await this.reportDataErrors();
    });
  }

  /** Throws core's data error for the first bad value a kernel flagged on the device. */
  private async reportDataErrors(): Promise<void> {
    const flagged = await this.ctx.takeFlag();
    if (flagged) throw dataError(flagged[0], flagged[1]);
  }

  protected override checkDevice(): void {
    this.executor.check();
  }

  /** Waits for the GPU, destroys the device and lets go of dawn, so the process can exit. */
  protected override async shutdown(): Promise<void> {
    await this.executor.inOrder(async () => {});
    await this.executor.destroy();
    this.gpu = null;
  }

  // --- kernels: each is recorded in stream order ---

  private kernelTable(): KernelTable<GpuStorage> {
    const c = this.ctx;
    // Each kernel receives the context and its declared io and params, recorded in stream order.
    const recorded =
      <I, P>(impl: (ctx: KernelContext, io: I, params: P) => void) =>
      (io: I, params: P) =>
        this.executor.run(() => impl(c, io, params));
    return {
      fill: recorded(fill),
      random: recorded(random),
      cast: recorded(cast),
      copy: recorded(copy),
      unary: recorded(unary),
      binary: recorded(binary),
      where: recorded(where),
      reduce: recorded(reduce),
      argmax: recorded(argmax),
      matmul: recorded(matmulWith(this.tiling)),
      // Host fallbacks: a host step in stream order runs the CPU backend's kernel on a download.
      svd: recorded(hostSvd),
      qr: recorded(hostQr),
      gatherRows: recorded(gatherRows),
      scatterAddRows: recorded(scatterAddRows),
      softmax: recorded(softmax),
      logSoftmax: recorded(logSoftmax),
      softmaxBackward: recorded(softmaxBackward),
      logSoftmaxBackward: recorded(logSoftmaxBackward),
      crossEntropy: recorded(crossEntropy),
      crossEntropyBackward: recorded(crossEntropyBackward),
      rmsNorm: recorded(rmsNorm),
      rmsNormBackward: recorded(rmsNormBackward),
      layerNorm: recorded(layerNorm),
      layerNormBackward: recorded(layerNormBackward),
      rope: recorded(rope),
      siluMul: recorded(siluMul),
      siluMulBackward: recorded(siluMulBackward),
      gelu: recorded(gelu),
      geluBackward: recorded(geluBackward),
      adamw: recorded(adamw),
      // GaLore's 8-bit codec (declared by @galore-ts/galore), implemented under its kernel names.
      quantizeBlockwise: recorded(quantizeBlockwise),
      dequantizeBlockwise: recorded(dequantizeBlockwise),
    };
  }
}
