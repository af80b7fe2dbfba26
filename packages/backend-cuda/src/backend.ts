/**
 * The Backend interface on CUDA: every kernel is one call into the addon, which launches it on
 * the addon's single stream and returns at once. Reads and `sync` wait on a worker thread, so
 * the JavaScript thread never blocks on the GPU. Storage comes from the addon's caching
 * allocator; core's BackendBase checks every call and reports to the memory tracker.
 */
import type {
  BinaryOp,
  DType,
  HostArray,
  KernelTable,
  MemoryCategory,
  ReduceOp,
  RowsParams,
  SoftmaxParams,
  UnaryOp,
} from '@galore-ts/core';
import { BackendBase, DTYPE_BYTES, hostArrayFor, kernelDeclaration } from '@galore-ts/core';
import type {
  NativeArg,
  NativeBuffer,
  NativeCuda,
  NativeDeviceInfo,
  NativeKernelName,
  NativeMemoryStats,
} from './addon.js';
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

/** The bytes the addon downloaded, as the host array of `dtype`. */
function hostViewOf(dtype: DType, buffer: ArrayBuffer): HostArray {
  const HostArrayOf = hostArrayFor(dtype, 0).constructor as new (buffer: ArrayBuffer) => HostArray;
  return new HostArrayOf(buffer);
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

/**
 * Every kernel is one addon call. Most take their storages in the kernel's declared order (inputs,
 * then outputs) followed by named params; the rest say how they differ.
 */
function kernelTable(native: NativeCuda): KernelTable<CudaStorage> {
  /** The kernel's storages as the addon takes them, in `order` or the declaration's order. */
  const buffers = (name: string, io: Io, order?: readonly string[]): number[] => {
    const d = kernelDeclaration(name);
    return (order ?? [...d.inputs, ...d.outputs]).flatMap((role) => buf(io[role]!));
  };
  /** A kernel whose addon export takes its storages, then `keys` of its params. */
  const plain =
    (name: NativeKernelName, keys: readonly string[] = [], order?: readonly string[]) =>
    (io: Io, p: object) =>
      native[name](...buffers(name, io, order), ...keys.map((k) => (p as Record<string, NativeArg>)[k] ?? false));
  const softmax = (name: string, log: boolean) => (io: Io, p: SoftmaxParams) =>
    native.softmax(...buffers(name, io), p.rows, p.cols, p.causal?.queryLen ?? 0, p.causal?.offset ?? 0, log);
  const softmaxBackward = (name: string, log: boolean) => (io: Io, p: RowsParams) =>
    native.softmaxBackward(...buffers(name, io), p.rows, p.cols, log);
  const rows = ['rows', 'cols'];
  const matmul = ['batch', 'm', 'n', 'k', 'transA', 'transB', 'aBatchStride', 'bBatchStride', 'accumulate'];
  return {
    fill: plain('fill', ['value']),
    random: ({ out }, p) =>
      native.random(...buf(out), p.distribution === 'normal' ? 1 : 0, p.seed[0], p.seed[1], p.offset, p.a, p.b),
    cast: plain('cast'),
    copy: ({ src, dst }, { srcView, dstView }) =>
      native.copy(
        ...buf(src),
        srcView.shape,
        srcView.strides,
        srcView.offset,
        ...buf(dst),
        dstView.strides,
        dstView.offset,
      ),
    unary: (io, p) => native.unary(UNARY_CODES[p.op], ...buffers('unary', io)),
    binary: (io, p) => native.binary(BINARY_CODES[p.op], ...buffers('binary', io), p.shape, p.aStrides, p.bStrides),
    where: plain('where', ['shape', 'aStrides', 'bStrides', 'condStrides']),
    reduce: (io, p) => native.reduce(REDUCE_CODES[p.op], ...buffers('reduce', io), p.outer, p.reduce, p.inner),
    argmax: plain('argmax', ['outer', 'reduce', 'inner']),
    matmul: plain('matmul', matmul),
    svd: ({ a, u, s, vt }, { m, n }) => native.svd(...buf(a), m, n, ...buf(u), ...buf(s), ...buf(vt)),
    qr: ({ a, q, r }, { m, n }) => native.qr(...buf(a), m, n, ...buf(q), ...buf(r)),
    gatherRows: plain('gatherRows', ['dim']),
    scatterAddRows: plain('scatterAddRows', ['dim']),
    softmax: softmax('softmax', false),
    logSoftmax: softmax('logSoftmax', true),
    softmaxBackward: softmaxBackward('softmaxBackward', false),
    logSoftmaxBackward: softmaxBackward('logSoftmaxBackward', true),
    crossEntropy: plain('crossEntropy', [...rows, 'ignoreIndex']),
    crossEntropyBackward: plain('crossEntropyBackward', [...rows, 'ignoreIndex']),
    rmsNorm: plain('rmsNorm', [...rows, 'eps']),
    rmsNormBackward: plain('rmsNormBackward', rows),
    layerNorm: plain('layerNorm', [...rows, 'eps']),
    layerNormBackward: plain('layerNormBackward', rows),
    rope: plain('rope', ['batch', 'seq', 'heads', 'headDim', 'inverse']),
    siluMul: plain('siluMul'),
    siluMulBackward: plain('siluMulBackward'),
    gelu: plain('gelu'),
    geluBackward: plain('geluBackward'),
    adamw: plain(
      'adamw',
      ['lr', 'beta1', 'beta2', 'eps', 'weightDecay', 'biasCorrection1', 'biasCorrection2'],
      ['param', 'grad', 'm', 'v'],
    ),
    // GaLore's 8-bit codec (declared by @galore-ts/galore), implemented under its kernel names.
    quantizeBlockwise: plain('quantizeBlockwise', ['blockSize']),
    dequantizeBlockwise: plain('dequantizeBlockwise', ['blockSize']),
  };
}
