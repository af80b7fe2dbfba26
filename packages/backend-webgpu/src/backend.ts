/**
 * The WebGPU Backend: storages in pooled GPU buffers, kernels recorded into batched command
 * buffers. Argument checks run when a kernel is called, so mistakes throw at the call; the GPU
 * work itself is only waited for by `read` and `sync`.
 */
import type {
  AdamWParams,
  Backend,
  BinaryOp,
  BroadcastLayout,
  DType,
  HostArray,
  MatmulParams,
  MemoryCategory,
  QuantizeParams,
  RandomParams,
  ReduceLayout,
  ReduceOp,
  RopeParams,
  SoftmaxParams,
  Storage,
  UnaryOp,
  View,
} from '@galore-ts/core';
import { assertDType, DTYPE_BYTES, hostArrayFor, MemoryTracker } from '@galore-ts/core';
import { BufferPool, type PoolStats } from './buffer-pool.js';
import type { GpuContext, WebGPUAdapterReport, WebGPUOptions } from './device.js';
import { alignUp, Executor } from './executor.js';
import { adamw } from './kernels/adamw.js';
import { KernelContext } from './kernels/context.js';
import { copy } from './kernels/copy.js';
import { fill, random } from './kernels/creation.js';
import { crossEntropy, crossEntropyBackward } from './kernels/cross-entropy.js';
import { binary, cast, siluMul, siluMulBackward, unary, where } from './kernels/elementwise.js';
import { gatherRows, scatterAddRows } from './kernels/indexing.js';
import { hostQr, hostSvd } from './kernels/linalg.js';
import { type AnyTiling, DEFAULT_ROWBLOCK, DEFAULT_TILING, matmul } from './kernels/matmul.js';
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

const MEMORY_CATEGORIES: readonly MemoryCategory[] = ['parameter', 'gradient', 'optimizer', 'activation', 'other'];

export class WebGPUBackend implements Backend {
  readonly name = 'webgpu';
  readonly tracker = new MemoryTracker();
  readonly computes = true;
  /** Adapter name, features and the limits the kernels run with. */
  readonly info: WebGPUAdapterReport;
  private readonly executor: Executor;
  private readonly pool: BufferPool;
  private readonly ctx: KernelContext;
  private gpu: GPU | null;
  private destroyed = false;
  private readonly tiling: AnyTiling;

  constructor(context: GpuContext, options: WebGPUOptions = {}) {
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
  }

  supportsDType(dtype: DType): boolean {
    return dtype !== 'float64';
  }

  /** Buffer pool figures (GPU bytes reserved, including cached free buffers) and command counts. */
  stats(): PoolStats & { dispatches: number; submits: number; pipelines: number } {
    return { ...this.pool.stats(), ...this.executor.stats };
  }

  // --- storage ---

  alloc(size: number, dtype: DType, category: MemoryCategory): Storage {
    this.live();
    assertDType(dtype, 'WebGPUBackend.alloc');
    if (!this.supportsDType(dtype))
      throw new TypeError('WebGPUBackend.alloc: float64 is not supported (WGSL has no f64); use float32');
    if (!Number.isSafeInteger(size) || size < 0)
      throw new RangeError(`WebGPUBackend.alloc: size must be a non-negative integer; got ${size}`);
    if (!MEMORY_CATEGORIES.includes(category)) {
      throw new TypeError(
        `WebGPUBackend.alloc: unknown memory category ${JSON.stringify(category)}; expected one of ${MEMORY_CATEGORIES.join(', ')}`,
      );
    }
    const bytes = size * DTYPE_BYTES[dtype];
    const limit = this.info.limits.maxBufferSize;
    if (bytes > limit) {
      throw new RangeError(
        `WebGPUBackend.alloc: ${dtype}[${size}] needs ${bytes} bytes; this adapter's maxBufferSize is ${limit} bytes`,
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
    const storage = new GpuStorage(this, size, dtype, category, buffer);
    this.tracker.allocated(storage.byteLength, category);
    return storage;
  }

  free(storage: Storage): void {
    const s = this.ctx.storage(storage, 'WebGPUBackend.free', 'storage');
    this.tracker.freed(s.byteLength, s.category);
    s.markFreed();
    // In stream order after every kernel already called on it, so reuse cannot overtake them.
    this.executor.run(() => this.pool.release(s.detach()));
  }

  retag(storage: Storage, category: MemoryCategory): void {
    const s = this.ctx.storage(storage, 'WebGPUBackend.retag', 'storage');
    if (!MEMORY_CATEGORIES.includes(category))
      throw new TypeError(`WebGPUBackend.retag: unknown memory category ${JSON.stringify(category)}`);
    this.tracker.retagged(s.byteLength, s.category, category);
    s.setCategory(category);
  }

  write(storage: Storage, data: HostArray): void {
    const s = this.ctx.storage(storage, 'WebGPUBackend.write', 'storage');
    const expected = hostArrayFor(s.dtype, 0).constructor;
    if (!(data instanceof expected)) {
      const got = (data as object | null)?.constructor?.name ?? typeof data;
      throw new TypeError(`WebGPUBackend.write: ${s.dtype} storage takes a ${expected.name}; got ${got}`);
    }
    if (data.length !== s.size)
      throw new RangeError(`WebGPUBackend.write: storage has ${s.size} elements; data has ${data.length}`);
    const snapshot = data.slice(); // the caller may reuse its array before a deferred upload runs
    const buffer = s.buffer;
    this.executor.run(() => this.executor.upload(buffer, snapshot));
  }

  read(storage: Storage): Promise<HostArray> {
    try {
      const s = this.ctx.storage(storage, 'WebGPUBackend.read', 'storage');
      const buffer = s.buffer;
      return this.executor.inOrder(async () => {
        const bytes = await this.executor.download(buffer, 0, s.byteLength);
        const out = hostArrayFor(s.dtype, s.size);
        new Uint8Array(out.buffer).set(new Uint8Array(bytes));
        return out;
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  sync(): Promise<void> {
    if (this.destroyed) return Promise.reject(new Error('WebGPUBackend: used after destroy()'));
    return this.executor.inOrder(() => this.executor.drain());
  }

  /** Waits for the GPU, destroys the device and lets go of dawn, so the process can exit. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    await this.executor.inOrder(async () => {});
    await this.executor.destroy();
    this.gpu = null;
  }

  private live(): void {
    if (this.destroyed) throw new Error('WebGPUBackend: used after destroy()');
    this.executor.check();
  }

  /** Narrows storages and records `record` in stream order. */
  private enqueue(record: () => void): void {
    this.live();
    this.executor.run(record);
  }

  private s(storage: Storage, kernel: string, role: string): GpuStorage {
    return this.ctx.storage(storage, `WebGPUBackend.${kernel}`, role);
  }

  // --- creation and conversion ---

  fill(out: Storage, value: number): void {
    const o = this.s(out, 'fill', 'out');
    this.enqueue(() => fill(this.ctx, o, value));
  }

  random(out: Storage, params: RandomParams): void {
    const o = this.s(out, 'random', 'out');
    this.enqueue(() => random(this.ctx, o, params));
  }

  cast(x: Storage, out: Storage): void {
    const [a, o] = [this.s(x, 'cast', 'x'), this.s(out, 'cast', 'out')];
    this.enqueue(() => cast(this.ctx, a, o));
  }

  copy(src: Storage, srcView: View, dst: Storage, dstView: View): void {
    const [a, o] = [this.s(src, 'copy', 'src'), this.s(dst, 'copy', 'dst')];
    this.enqueue(() => copy(this.ctx, a, srcView, o, dstView));
  }

  // --- elementwise ---

  unary(op: UnaryOp, x: Storage, out: Storage): void {
    const [a, o] = [this.s(x, 'unary', 'x'), this.s(out, 'unary', 'out')];
    this.enqueue(() => unary(this.ctx, op, a, o));
  }

  binary(op: BinaryOp, a: Storage, b: Storage, out: Storage, layout: BroadcastLayout): void {
    const [x, y, o] = [this.s(a, 'binary', 'a'), this.s(b, 'binary', 'b'), this.s(out, 'binary', 'out')];
    this.enqueue(() => binary(this.ctx, op, x, y, o, layout));
  }

  where(cond: Storage, a: Storage, b: Storage, out: Storage, layout: BroadcastLayout): void {
    const c = this.s(cond, 'where', 'cond');
    const [x, y, o] = [this.s(a, 'where', 'a'), this.s(b, 'where', 'b'), this.s(out, 'where', 'out')];
    this.enqueue(() => where(this.ctx, c, x, y, o, layout));
  }

  // --- reductions ---

  reduce(op: ReduceOp, x: Storage, out: Storage, layout: ReduceLayout): void {
    const [a, o] = [this.s(x, 'reduce', 'x'), this.s(out, 'reduce', 'out')];
    this.enqueue(() => reduce(this.ctx, op, a, o, layout));
  }

  argmax(x: Storage, out: Storage, layout: ReduceLayout): void {
    const [a, o] = [this.s(x, 'argmax', 'x'), this.s(out, 'argmax', 'out')];
    this.enqueue(() => argmax(this.ctx, a, o, layout));
  }

  // --- linear algebra ---

  matmul(a: Storage, b: Storage, out: Storage, params: MatmulParams): void {
    const [x, y, o] = [this.s(a, 'matmul', 'a'), this.s(b, 'matmul', 'b'), this.s(out, 'matmul', 'out')];
    this.enqueue(() => matmul(this.ctx, x, y, o, params, this.tiling));
  }

  /** Host fallback: downloads `a`, runs the CPU backend's Jacobi SVD, uploads the factors. */
  svd(a: Storage, m: number, n: number, u: Storage, s: Storage, vt: Storage): void {
    const args = [
      this.s(a, 'svd', 'a'),
      this.s(u, 'svd', 'u'),
      this.s(s, 'svd', 's'),
      this.s(vt, 'svd', 'vt'),
    ] as const;
    this.live();
    hostSvd(this.executor, args[0], m, n, args[1], args[2], args[3]);
  }

  /** Host fallback: downloads `a`, runs the CPU backend's Householder QR, uploads q and r. */
  qr(a: Storage, m: number, n: number, q: Storage, r: Storage): void {
    const args = [this.s(a, 'qr', 'a'), this.s(q, 'qr', 'q'), this.s(r, 'qr', 'r')] as const;
    this.live();
    hostQr(this.executor, args[0], m, n, args[1], args[2]);
  }

  // --- indexing ---

  gatherRows(table: Storage, ids: Storage, out: Storage, dim: number): void {
    const t = this.s(table, 'gatherRows', 'table');
    const [i, o] = [this.s(ids, 'gatherRows', 'ids'), this.s(out, 'gatherRows', 'out')];
    this.enqueue(() => gatherRows(this.ctx, t, i, o, dim));
  }

  scatterAddRows(src: Storage, ids: Storage, out: Storage, dim: number): void {
    const x = this.s(src, 'scatterAddRows', 'src');
    const [i, o] = [this.s(ids, 'scatterAddRows', 'ids'), this.s(out, 'scatterAddRows', 'out')];
    this.enqueue(() => scatterAddRows(this.ctx, x, i, o, dim));
  }

  // --- fused kernels ---

  softmax(x: Storage, out: Storage, params: SoftmaxParams): void {
    const [a, o] = [this.s(x, 'softmax', 'x'), this.s(out, 'softmax', 'out')];
    this.enqueue(() => softmax(this.ctx, a, o, params));
  }

  logSoftmax(x: Storage, out: Storage, params: SoftmaxParams): void {
    const [a, o] = [this.s(x, 'logSoftmax', 'x'), this.s(out, 'logSoftmax', 'out')];
    this.enqueue(() => logSoftmax(this.ctx, a, o, params));
  }

  softmaxBackward(y: Storage, dy: Storage, dx: Storage, rows: number, cols: number): void {
    const a = [
      this.s(y, 'softmaxBackward', 'y'),
      this.s(dy, 'softmaxBackward', 'dy'),
      this.s(dx, 'softmaxBackward', 'dx'),
    ] as const;
    this.enqueue(() => softmaxBackward(this.ctx, a[0], a[1], a[2], rows, cols));
  }

  logSoftmaxBackward(y: Storage, dy: Storage, dx: Storage, rows: number, cols: number): void {
    const a = [
      this.s(y, 'logSoftmaxBackward', 'y'),
      this.s(dy, 'logSoftmaxBackward', 'dy'),
      this.s(dx, 'logSoftmaxBackward', 'dx'),
    ] as const;
    this.enqueue(() => logSoftmaxBackward(this.ctx, a[0], a[1], a[2], rows, cols));
  }

  crossEntropy(
    logits: Storage,
    targets: Storage,
    loss: Storage,
    rows: number,
    cols: number,
    ignoreIndex: number,
  ): void {
    const k = 'crossEntropy';
    const a = [this.s(logits, k, 'logits'), this.s(targets, k, 'targets'), this.s(loss, k, 'loss')] as const;
    this.enqueue(() => crossEntropy(this.ctx, a[0], a[1], a[2], rows, cols, ignoreIndex));
  }

  crossEntropyBackward(
    logits: Storage,
    targets: Storage,
    dloss: Storage,
    dx: Storage,
    rows: number,
    cols: number,
    ignoreIndex: number,
  ): void {
    const k = 'crossEntropyBackward';
    const a = [
      this.s(logits, k, 'logits'),
      this.s(targets, k, 'targets'),
      this.s(dloss, k, 'dloss'),
      this.s(dx, k, 'dx'),
    ] as const;
    this.enqueue(() => crossEntropyBackward(this.ctx, a[0], a[1], a[2], a[3], rows, cols, ignoreIndex));
  }

  rmsNorm(x: Storage, weight: Storage, out: Storage, rstd: Storage, rows: number, cols: number, eps: number): void {
    const k = 'rmsNorm';
    const a = [this.s(x, k, 'x'), this.s(weight, k, 'weight'), this.s(out, k, 'out'), this.s(rstd, k, 'rstd')] as const;
    this.enqueue(() => rmsNorm(this.ctx, a[0], a[1], a[2], a[3], rows, cols, eps));
  }

  rmsNormBackward(
    x: Storage,
    weight: Storage,
    rstd: Storage,
    dy: Storage,
    dx: Storage,
    dweight: Storage,
    rows: number,
    cols: number,
  ): void {
    const k = 'rmsNormBackward';
    const a = [
      this.s(x, k, 'x'),
      this.s(weight, k, 'weight'),
      this.s(rstd, k, 'rstd'),
      this.s(dy, k, 'dy'),
      this.s(dx, k, 'dx'),
      this.s(dweight, k, 'dweight'),
    ] as const;
    this.enqueue(() => rmsNormBackward(this.ctx, a[0], a[1], a[2], a[3], a[4], a[5], rows, cols));
  }

  rope(x: Storage, cos: Storage, sin: Storage, out: Storage, params: RopeParams): void {
    const a = [
      this.s(x, 'rope', 'x'),
      this.s(cos, 'rope', 'cos'),
      this.s(sin, 'rope', 'sin'),
      this.s(out, 'rope', 'out'),
    ] as const;
    this.enqueue(() => rope(this.ctx, a[0], a[1], a[2], a[3], params));
  }

  siluMul(gate: Storage, up: Storage, out: Storage): void {
    const a = [this.s(gate, 'siluMul', 'gate'), this.s(up, 'siluMul', 'up'), this.s(out, 'siluMul', 'out')] as const;
    this.enqueue(() => siluMul(this.ctx, a[0], a[1], a[2]));
  }

  siluMulBackward(gate: Storage, up: Storage, dy: Storage, dgate: Storage, dup: Storage): void {
    const k = 'siluMulBackward';
    const a = [
      this.s(gate, k, 'gate'),
      this.s(up, k, 'up'),
      this.s(dy, k, 'dy'),
      this.s(dgate, k, 'dgate'),
      this.s(dup, k, 'dup'),
    ] as const;
    this.enqueue(() => siluMulBackward(this.ctx, a[0], a[1], a[2], a[3], a[4]));
  }

  adamw(param: Storage, grad: Storage, m: Storage, v: Storage, params: AdamWParams): void {
    const a = [
      this.s(param, 'adamw', 'param'),
      this.s(grad, 'adamw', 'grad'),
      this.s(m, 'adamw', 'm'),
      this.s(v, 'adamw', 'v'),
    ] as const;
    this.enqueue(() => adamw(this.ctx, a[0], a[1], a[2], a[3], params));
  }

  quantizeBlockwise(x: Storage, codebook: Storage, codes: Storage, absmax: Storage, params: QuantizeParams): void {
    const k = 'quantizeBlockwise';
    const a = [
      this.s(x, k, 'x'),
      this.s(codebook, k, 'codebook'),
      this.s(codes, k, 'codes'),
      this.s(absmax, k, 'absmax'),
    ] as const;
    this.enqueue(() => quantizeBlockwise(this.ctx, a[0], a[1], a[2], a[3], params));
  }

  dequantizeBlockwise(codes: Storage, codebook: Storage, absmax: Storage, out: Storage, params: QuantizeParams): void {
    const k = 'dequantizeBlockwise';
    const a = [
      this.s(codes, k, 'codes'),
      this.s(codebook, k, 'codebook'),
      this.s(absmax, k, 'absmax'),
      this.s(out, k, 'out'),
    ] as const;
    this.enqueue(() => dequantizeBlockwise(this.ctx, a[0], a[1], a[2], a[3], params));
  }
}

export { alignUp };
