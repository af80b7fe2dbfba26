/**
 * The Backend interface on CUDA: every kernel is one call into the addon, which launches it on
 * the addon's single stream and returns at once. Reads and `sync` wait on a worker thread, so
 * the JavaScript thread never blocks on the GPU. Storage comes from the addon's caching
 * allocator; core's BackendBase checks every call and reports to the memory tracker.
 */
import type { BinaryOp, DType, HostArray, KernelTable, MemoryCategory, ReduceOp, UnaryOp } from '@galore-ts/core';
import { BackendBase, DTYPE_BYTES } from '@galore-ts/core';
import type { NativeBuffer, NativeCuda, NativeDeviceInfo, NativeMemoryStats } from './addon.js';
import { CudaStorage } from './storage.js';

/** gc_dtype codes (csrc/galore_cuda.h). float64 has no CUDA storage here. */
const DTYPE_CODES: Partial<Record<DType, number>> = { float32: 0, bfloat16: 1, float16: 2, int32: 3, uint8: 4 };

/** Op codes in the order of gc_unary_op / gc_binary_op / gc_reduce_op. */
const UNARY_CODES: Record<UnaryOp, number> = {
  neg: 0,
  exp: 1,
  log: 2,
  sqrt: 3,
  rsqrt: 4,
  abs: 5,
  sigmoid: 6,
  silu: 7,
  tanh: 8,
  relu: 9,
  sign: 10,
  square: 11,
  reciprocal: 12,
  sin: 13,
  cos: 14,
};
const BINARY_CODES: Record<BinaryOp, number> = {
  add: 0,
  sub: 1,
  mul: 2,
  div: 3,
  pow: 4,
  maximum: 5,
  minimum: 6,
  eq: 7,
  ne: 8,
  lt: 9,
  le: 10,
  gt: 11,
  ge: 12,
};
const REDUCE_CODES: Record<ReduceOp, number> = { sum: 0, max: 1, min: 2 };

/** The device a backend runs on: its index, properties and the vendor libraries found. */
export type CudaDeviceInfo = NativeDeviceInfo & { index: number };

/** The host array type `write` expects and `read` returns for each dtype. */
function hostViewOf(dtype: DType, buffer: ArrayBuffer): HostArray {
  switch (dtype) {
    case 'float32':
      return new Float32Array(buffer);
    case 'bfloat16':
    case 'float16':
      return new Uint16Array(buffer);
    case 'int32':
      return new Int32Array(buffer);
    case 'uint8':
      return new Uint8Array(buffer);
    case 'float64':
      return new Float64Array(buffer);
  }
}

type Io = Record<string, CudaStorage>;

/** The addon's form of a storage: handle, dtype code, element count. */
function buf(s: CudaStorage): NativeBuffer {
  return [s.handle, DTYPE_CODES[s.dtype] as number, s.size];
}

export class CudaBackend extends BackendBase<CudaStorage> {
  readonly name = 'cuda';
  protected readonly kernels: KernelTable<CudaStorage>;

  constructor(
    private readonly native: NativeCuda,
    readonly device: CudaDeviceInfo,
    private readonly onDestroy: () => void = () => {},
  ) {
    super();
    this.kernels = kernelTable(native);
  }

  override supportsDType(dtype: DType): boolean {
    return super.supportsDType(dtype) && DTYPE_CODES[dtype] !== undefined;
  }

  /** The caching allocator's view: what tensors hold, what is cached, what CUDA reserved. */
  memoryStats(): NativeMemoryStats {
    this.assertUsable('cuda.memoryStats');
    return this.native.memoryStats();
  }

  /** Returns cached blocks to the driver (live tensors are untouched). */
  emptyCache(): void {
    this.assertUsable('cuda.emptyCache');
    this.native.emptyCache();
  }

  /** true (default): cuBLAS / cuSOLVER serve when loaded; false: our own kernels always. */
  useLibraries(enable: boolean): void {
    this.assertUsable('cuda.useLibraries');
    this.native.useLibraries(enable);
  }

  // --- the device side of storage ---

  protected createStorage(size: number, dtype: DType, category: MemoryCategory): CudaStorage {
    const bytes = size * DTYPE_BYTES[dtype];
    return new CudaStorage(this, size, dtype, category, bytes === 0 ? 0 : this.native.alloc(bytes));
  }

  protected override releaseStorage(s: CudaStorage): void {
    if (s.handle !== 0) this.native.free(s.handle);
  }

  protected upload(s: CudaStorage, data: HostArray): void {
    if (s.size > 0) this.native.upload(...buf(s), data);
  }

  protected async download(s: CudaStorage): Promise<HostArray> {
    if (s.size === 0) {
      await this.native.synchronize();
      return hostViewOf(s.dtype, new ArrayBuffer(0));
    }
    return hostViewOf(s.dtype, await this.native.download(...buf(s)));
  }

  protected async waitIdle(): Promise<void> {
    await this.native.synchronize();
  }

  protected override shutdown(): void {
    this.native.shutdown();
    this.onDestroy();
  }
}

/** Every kernel is one addon call with the storages and params in the C ABI's order. */
function kernelTable(native: NativeCuda): KernelTable<CudaStorage> {
  const softmax =
    (log: boolean) => (io: Io, p: { rows: number; cols: number; causal?: { queryLen: number; offset: number } }) =>
      native.softmax(
        ...buf(io.x!),
        ...buf(io.out!),
        p.rows,
        p.cols,
        p.causal?.queryLen ?? 0,
        p.causal?.offset ?? 0,
        log,
      );
  const softmaxBackward = (log: boolean) => (io: Io, p: { rows: number; cols: number }) =>
    native.softmaxBackward(...buf(io.y!), ...buf(io.dy!), ...buf(io.dx!), p.rows, p.cols, log);
  return {
    fill: ({ out }, { value }) => native.fill(...buf(out), value),
    random: ({ out }, p) =>
      native.random(...buf(out), p.distribution === 'normal' ? 1 : 0, p.seed[0], p.seed[1], p.offset, p.a, p.b),
    cast: ({ x, out }) => native.cast(...buf(x), ...buf(out)),
    copy: ({ src, dst }, { srcView, dstView }) =>
      native.copy(
        ...buf(src),
        [...srcView.shape],
        [...srcView.strides],
        srcView.offset,
        ...buf(dst),
        [...dstView.strides],
        dstView.offset,
      ),
    unary: ({ x, out }, { op }) => native.unary(UNARY_CODES[op], ...buf(x), ...buf(out)),
    binary: ({ a, b, out }, p) =>
      native.binary(
        BINARY_CODES[p.op],
        ...buf(a),
        ...buf(b),
        ...buf(out),
        [...p.shape],
        [...p.aStrides],
        [...p.bStrides],
      ),
    where: ({ cond, a, b, out }, p) =>
      native.where(
        ...buf(cond),
        ...buf(a),
        ...buf(b),
        ...buf(out),
        [...p.shape],
        [...p.aStrides],
        [...p.bStrides],
        [...p.condStrides],
      ),
    reduce: ({ x, out }, p) => native.reduce(REDUCE_CODES[p.op], ...buf(x), ...buf(out), p.outer, p.reduce, p.inner),
    argmax: ({ x, out }, p) => native.argmax(...buf(x), ...buf(out), p.outer, p.reduce, p.inner),
    matmul: ({ a, b, out }, p) =>
      native.matmul(
        ...buf(a),
        ...buf(b),
        ...buf(out),
        p.batch,
        p.m,
        p.n,
        p.k,
        p.transA,
        p.transB,
        p.aBatchStride,
        p.bBatchStride,
        p.accumulate ?? false,
      ),
    svd: ({ a, u, s, vt }, { m, n }) => native.svd(...buf(a), m, n, ...buf(u), ...buf(s), ...buf(vt)),
    qr: ({ a, q, r }, { m, n }) => native.qr(...buf(a), m, n, ...buf(q), ...buf(r)),
    gatherRows: ({ table, ids, out }, { dim }) => native.gatherRows(...buf(table), ...buf(ids), ...buf(out), dim),
    scatterAddRows: ({ src, ids, out }, { dim }) => native.scatterAddRows(...buf(src), ...buf(ids), ...buf(out), dim),
    softmax: softmax(false),
    logSoftmax: softmax(true),
    softmaxBackward: softmaxBackward(false),
    logSoftmaxBackward: softmaxBackward(true),
    crossEntropy: ({ logits, targets, loss }, p) =>
      native.crossEntropy(...buf(logits), ...buf(targets), ...buf(loss), p.rows, p.cols, p.ignoreIndex),
    crossEntropyBackward: ({ logits, targets, dloss, dx }, p) =>
      native.crossEntropyBackward(
        ...buf(logits),
        ...buf(targets),
        ...buf(dloss),
        ...buf(dx),
        p.rows,
        p.cols,
        p.ignoreIndex,
      ),
    rmsNorm: ({ x, weight, out, rstd }, p) =>
      native.rmsNorm(...buf(x), ...buf(weight), ...buf(out), ...buf(rstd), p.rows, p.cols, p.eps),
    rmsNormBackward: ({ x, weight, rstd, dy, dx, dweight }, p) =>
      native.rmsNormBackward(
        ...buf(x),
        ...buf(weight),
        ...buf(rstd),
        ...buf(dy),
        ...buf(dx),
        ...buf(dweight),
        p.rows,
        p.cols,
      ),
    rope: ({ x, cos, sin, out }, p) =>
      native.rope(...buf(x), ...buf(cos), ...buf(sin), ...buf(out), p.batch, p.seq, p.heads, p.headDim, p.inverse),
    siluMul: ({ gate, up, out }) => native.siluMul(...buf(gate), ...buf(up), ...buf(out)),
    siluMulBackward: ({ gate, up, dy, dgate, dup }) =>
      native.siluMulBackward(...buf(gate), ...buf(up), ...buf(dy), ...buf(dgate), ...buf(dup)),
    adamw: ({ param, grad, m, v }, p) =>
      native.adamw(
        ...buf(param),
        ...buf(grad),
        ...buf(m),
        ...buf(v),
        p.lr,
        p.beta1,
        p.beta2,
        p.eps,
        p.weightDecay,
        p.biasCorrection1,
        p.biasCorrection2,
      ),
    // GaLore's 8-bit codec (declared by @galore-ts/galore), implemented under its kernel names.
    quantizeBlockwise: (io: Io, p: { blockSize: number }) =>
      native.quantizeBlockwise(...buf(io.x!), ...buf(io.codebook!), ...buf(io.codes!), ...buf(io.absmax!), p.blockSize),
    dequantizeBlockwise: (io: Io, p: { blockSize: number }) =>
      native.dequantizeBlockwise(
        ...buf(io.codes!),
        ...buf(io.codebook!),
        ...buf(io.absmax!),
        ...buf(io.out!),
        p.blockSize,
      ),
  };
}
