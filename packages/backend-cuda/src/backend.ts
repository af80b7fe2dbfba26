/**
 * The Backend interface on CUDA: every kernel is one call into the addon, which launches it on
 * the addon's single stream and returns at once. Reads and `sync` wait on a worker thread, so
 * the JavaScript thread never blocks on the GPU. Storage comes from the addon's caching
 * allocator; this class reports each allocation, free and re-tag to the memory tracker.
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
import { DTYPE_BYTES, MemoryTracker } from '@galore-ts/core';
import type { NativeBuffer, NativeCuda, NativeDeviceInfo, NativeMemoryStats } from './addon.js';
import { CudaStorage } from './storage.js';

/** gc_dtype codes (csrc/galore_cuda.h). float64 has no CUDA storage here. */
const DTYPE_CODES: Partial<Record<DType, number>> = { float32: 0, bfloat16: 1, float16: 2, int32: 3, uint8: 4 };
const SUPPORTED = Object.keys(DTYPE_CODES).join(', ');

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

const HOST_ARRAY_NAMES: Record<DType, string> = {
  float32: 'Float32Array',
  float64: 'Float64Array',
  bfloat16: 'Uint16Array (raw bfloat16 bits)',
  float16: 'Uint16Array (raw float16 bits)',
  int32: 'Int32Array',
  uint8: 'Uint8Array',
};

function hostArrayMatches(dtype: DType, data: HostArray): boolean {
  switch (dtype) {
    case 'float32':
      return data instanceof Float32Array;
    case 'bfloat16':
    case 'float16':
      return data instanceof Uint16Array;
    case 'int32':
      return data instanceof Int32Array;
    case 'uint8':
      return data instanceof Uint8Array;
    case 'float64':
      return data instanceof Float64Array;
  }
}

export class CudaBackend implements Backend {
  readonly name = 'cuda';
  readonly tracker = new MemoryTracker();
  readonly computes = true;
  private destroyed = false;

  constructor(
    private readonly native: NativeCuda,
    readonly device: CudaDeviceInfo,
    private readonly onDestroy: () => void = () => {},
  ) {}

  supportsDType(dtype: DType): boolean {
    return DTYPE_CODES[dtype] !== undefined;
  }

  /** The caching allocator's view: what tensors hold, what is cached, what CUDA reserved. */
  memoryStats(): NativeMemoryStats {
    this.alive('memoryStats');
    return this.native.memoryStats();
  }

  /** Returns cached blocks to the driver (live tensors are untouched). */
  emptyCache(): void {
    this.alive('emptyCache');
    this.native.emptyCache();
  }

  /** true (default): cuBLAS / cuSOLVER serve when loaded; false: our own kernels always. */
  useLibraries(enable: boolean): void {
    this.alive('useLibraries');
    this.native.useLibraries(enable);
  }

  // --- storage ---

  alloc(size: number, dtype: DType, category: MemoryCategory): Storage {
    this.alive('alloc');
    if (!Number.isSafeInteger(size) || size < 0) {
      throw new RangeError(`CudaBackend.alloc: size must be a non-negative integer; got ${size}`);
    }
    if (!this.supportsDType(dtype)) {
      throw new TypeError(`CudaBackend.alloc: dtype ${dtype} is not supported on CUDA; supported: ${SUPPORTED}`);
    }
    const bytes = size * DTYPE_BYTES[dtype];
    const handle = bytes === 0 ? 0 : this.native.alloc(bytes);
    const storage = new CudaStorage(this, size, dtype, category, handle);
    this.tracker.allocated(storage.byteLength, category);
    return storage;
  }

  free(storage: Storage): void {
    const s = this.own(storage, 'free', 'storage');
    if (s.handle !== 0) this.native.free(s.handle);
    s.markFreed();
    this.tracker.freed(s.byteLength, s.category);
  }

  retag(storage: Storage, category: MemoryCategory): void {
    const s = this.own(storage, 'retag', 'storage');
    this.tracker.retagged(s.byteLength, s.category, category);
    s.setCategory(category);
  }

  write(storage: Storage, data: HostArray): void {
    const s = this.own(storage, 'write', 'storage');
    if (!hostArrayMatches(s.dtype, data)) {
      throw new TypeError(
        `CudaBackend.write: a ${s.dtype} storage takes a ${HOST_ARRAY_NAMES[s.dtype]}; got ${data.constructor.name}`,
      );
    }
    if (data.length !== s.size) {
      throw new RangeError(`CudaBackend.write: storage holds ${s.size} elements; data has ${data.length}`);
    }
    if (s.size > 0) this.native.upload(...this.buf(s, 'write', 'storage'), data);
  }

  async read(storage: Storage): Promise<HostArray> {
    const s = this.own(storage, 'read', 'storage');
    if (s.size === 0) {
      await this.native.synchronize();
      return hostViewOf(s.dtype, new ArrayBuffer(0));
    }
    return hostViewOf(s.dtype, await this.native.download(...this.buf(s, 'read', 'storage')));
  }

  async sync(): Promise<void> {
    this.alive('sync');
    await this.native.synchronize();
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.native.shutdown();
    this.onDestroy();
  }

  // --- creation and conversion ---

  fill(out: Storage, value: number): void {
    this.native.fill(...this.buf(out, 'fill', 'out'), value);
  }

  random(out: Storage, params: RandomParams): void {
    const [low, high] = params.seed;
    for (const [name, word] of [
      ['seed[0]', low],
      ['seed[1]', high],
    ] as const) {
      if (!Number.isInteger(word) || word < 0 || word > 0xffffffff) {
        throw new RangeError(`CudaBackend.random: ${name} must be an unsigned 32-bit integer; got ${word}`);
      }
    }
    if (!Number.isSafeInteger(params.offset) || params.offset < 0) {
      throw new RangeError(`CudaBackend.random: offset must be a non-negative safe integer; got ${params.offset}`);
    }
    if (params.distribution !== 'uniform' && params.distribution !== 'normal') {
      throw new RangeError(
        `CudaBackend.random: distribution must be 'uniform' or 'normal'; got ${String(params.distribution)}`,
      );
    }
    const distribution = params.distribution === 'normal' ? 1 : 0;
    this.native.random(...this.buf(out, 'random', 'out'), distribution, low, high, params.offset, params.a, params.b);
  }

  cast(x: Storage, out: Storage): void {
    this.native.cast(...this.buf(x, 'cast', 'x'), ...this.buf(out, 'cast', 'out'));
  }

  copy(src: Storage, srcView: View, dst: Storage, dstView: View): void {
    if (srcView.shape.length !== dstView.shape.length || srcView.shape.some((d, i) => d !== dstView.shape[i])) {
      throw new RangeError(
        `CudaBackend.copy: source view shape [${srcView.shape.join(', ')}] differs from destination [${dstView.shape.join(', ')}]`,
      );
    }
    this.native.copy(
      ...this.buf(src, 'copy', 'src'),
      [...srcView.shape],
      [...srcView.strides],
      srcView.offset,
      ...this.buf(dst, 'copy', 'dst'),
      [...dstView.strides],
      dstView.offset,
    );
  }

  // --- elementwise ---

  unary(op: UnaryOp, x: Storage, out: Storage): void {
    this.native.unary(
      this.code(UNARY_CODES, op, 'unary'),
      ...this.buf(x, 'unary', 'x'),
      ...this.buf(out, 'unary', 'out'),
    );
  }

  binary(op: BinaryOp, a: Storage, b: Storage, out: Storage, layout: BroadcastLayout): void {
    this.native.binary(
      this.code(BINARY_CODES, op, 'binary'),
      ...this.buf(a, 'binary', 'a'),
      ...this.buf(b, 'binary', 'b'),
      ...this.buf(out, 'binary', 'out'),
      [...layout.shape],
      [...layout.aStrides],
      [...layout.bStrides],
    );
  }

  where(cond: Storage, a: Storage, b: Storage, out: Storage, layout: BroadcastLayout): void {
    if (!layout.condStrides) throw new TypeError('CudaBackend.where: layout.condStrides is required');
    this.native.where(
      ...this.buf(cond, 'where', 'cond'),
      ...this.buf(a, 'where', 'a'),
      ...this.buf(b, 'where', 'b'),
      ...this.buf(out, 'where', 'out'),
      [...layout.shape],
      [...layout.aStrides],
      [...layout.bStrides],
      [...layout.condStrides],
    );
  }

  // --- reductions ---

  reduce(op: ReduceOp, x: Storage, out: Storage, layout: ReduceLayout): void {
    this.native.reduce(
      this.code(REDUCE_CODES, op, 'reduce'),
      ...this.buf(x, 'reduce', 'x'),
      ...this.buf(out, 'reduce', 'out'),
      layout.outer,
      layout.reduce,
      layout.inner,
    );
  }

  argmax(x: Storage, out: Storage, layout: ReduceLayout): void {
    this.native.argmax(
      ...this.buf(x, 'argmax', 'x'),
      ...this.buf(out, 'argmax', 'out'),
      layout.outer,
      layout.reduce,
      layout.inner,
    );
  }

  // --- linear algebra ---

  matmul(a: Storage, b: Storage, out: Storage, p: MatmulParams): void {
    this.native.matmul(
      ...this.buf(a, 'matmul', 'a'),
      ...this.buf(b, 'matmul', 'b'),
      ...this.buf(out, 'matmul', 'out'),
      p.batch,
      p.m,
      p.n,
      p.k,
      p.transA,
      p.transB,
      p.aBatchStride,
      p.bBatchStride,
      p.accumulate ?? false,
    );
  }

  svd(a: Storage, m: number, n: number, u: Storage, s: Storage, vt: Storage): void {
    this.native.svd(
      ...this.buf(a, 'svd', 'a'),
      m,
      n,
      ...this.buf(u, 'svd', 'u'),
      ...this.buf(s, 'svd', 's'),
      ...this.buf(vt, 'svd', 'vt'),
    );
  }

  qr(a: Storage, m: number, n: number, q: Storage, r: Storage): void {
    this.native.qr(...this.buf(a, 'qr', 'a'), m, n, ...this.buf(q, 'qr', 'q'), ...this.buf(r, 'qr', 'r'));
  }

  // --- indexing ---

  gatherRows(table: Storage, ids: Storage, out: Storage, dim: number): void {
    this.native.gatherRows(
      ...this.buf(table, 'gatherRows', 'table'),
      ...this.buf(ids, 'gatherRows', 'ids'),
      ...this.buf(out, 'gatherRows', 'out'),
      dim,
    );
  }

  scatterAddRows(src: Storage, ids: Storage, out: Storage, dim: number): void {
    this.native.scatterAddRows(
      ...this.buf(src, 'scatterAddRows', 'src'),
      ...this.buf(ids, 'scatterAddRows', 'ids'),
      ...this.buf(out, 'scatterAddRows', 'out'),
      dim,
    );
  }

  // --- fused kernels ---

  softmax(x: Storage, out: Storage, params: SoftmaxParams): void {
    this.runSoftmax('softmax', x, out, params, false);
  }

  logSoftmax(x: Storage, out: Storage, params: SoftmaxParams): void {
    this.runSoftmax('logSoftmax', x, out, params, true);
  }

  softmaxBackward(y: Storage, dy: Storage, dx: Storage, rows: number, cols: number): void {
    this.runSoftmaxBackward('softmaxBackward', y, dy, dx, rows, cols, false);
  }

  logSoftmaxBackward(y: Storage, dy: Storage, dx: Storage, rows: number, cols: number): void {
    this.runSoftmaxBackward('logSoftmaxBackward', y, dy, dx, rows, cols, true);
  }

  crossEntropy(
    logits: Storage,
    targets: Storage,
    loss: Storage,
    rows: number,
    cols: number,
    ignoreIndex: number,
  ): void {
    this.native.crossEntropy(
      ...this.buf(logits, 'crossEntropy', 'logits'),
      ...this.buf(targets, 'crossEntropy', 'targets'),
      ...this.buf(loss, 'crossEntropy', 'loss'),
      rows,
      cols,
      ignoreIndex,
    );
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
    this.native.crossEntropyBackward(
      ...this.buf(logits, 'crossEntropyBackward', 'logits'),
      ...this.buf(targets, 'crossEntropyBackward', 'targets'),
      ...this.buf(dloss, 'crossEntropyBackward', 'dloss'),
      ...this.buf(dx, 'crossEntropyBackward', 'dx'),
      rows,
      cols,
      ignoreIndex,
    );
  }

  rmsNorm(x: Storage, weight: Storage, out: Storage, rstd: Storage, rows: number, cols: number, eps: number): void {
    this.native.rmsNorm(
      ...this.buf(x, 'rmsNorm', 'x'),
      ...this.buf(weight, 'rmsNorm', 'weight'),
      ...this.buf(out, 'rmsNorm', 'out'),
      ...this.buf(rstd, 'rmsNorm', 'rstd'),
      rows,
      cols,
      eps,
    );
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
    this.native.rmsNormBackward(
      ...this.buf(x, 'rmsNormBackward', 'x'),
      ...this.buf(weight, 'rmsNormBackward', 'weight'),
      ...this.buf(rstd, 'rmsNormBackward', 'rstd'),
      ...this.buf(dy, 'rmsNormBackward', 'dy'),
      ...this.buf(dx, 'rmsNormBackward', 'dx'),
      ...this.buf(dweight, 'rmsNormBackward', 'dweight'),
      rows,
      cols,
    );
  }

  rope(x: Storage, cos: Storage, sin: Storage, out: Storage, p: RopeParams): void {
    this.native.rope(
      ...this.buf(x, 'rope', 'x'),
      ...this.buf(cos, 'rope', 'cos'),
      ...this.buf(sin, 'rope', 'sin'),
      ...this.buf(out, 'rope', 'out'),
      p.batch,
      p.seq,
      p.heads,
      p.headDim,
      p.inverse,
    );
  }

  siluMul(gate: Storage, up: Storage, out: Storage): void {
    this.native.siluMul(
      ...this.buf(gate, 'siluMul', 'gate'),
      ...this.buf(up, 'siluMul', 'up'),
      ...this.buf(out, 'siluMul', 'out'),
    );
  }

  siluMulBackward(gate: Storage, up: Storage, dy: Storage, dgate: Storage, dup: Storage): void {
    this.native.siluMulBackward(
      ...this.buf(gate, 'siluMulBackward', 'gate'),
      ...this.buf(up, 'siluMulBackward', 'up'),
      ...this.buf(dy, 'siluMulBackward', 'dy'),
      ...this.buf(dgate, 'siluMulBackward', 'dgate'),
      ...this.buf(dup, 'siluMulBackward', 'dup'),
    );
  }

  adamw(param: Storage, grad: Storage, m: Storage, v: Storage, p: AdamWParams): void {
    this.native.adamw(
      ...this.buf(param, 'adamw', 'param'),
      ...this.buf(grad, 'adamw', 'grad'),
      ...this.buf(m, 'adamw', 'm'),
      ...this.buf(v, 'adamw', 'v'),
      p.lr,
      p.beta1,
      p.beta2,
      p.eps,
      p.weightDecay,
      p.biasCorrection1,
      p.biasCorrection2,
    );
  }

  quantizeBlockwise(x: Storage, codebook: Storage, codes: Storage, absmax: Storage, p: QuantizeParams): void {
    this.native.quantizeBlockwise(
      ...this.buf(x, 'quantizeBlockwise', 'x'),
      ...this.buf(codebook, 'quantizeBlockwise', 'codebook'),
      ...this.buf(codes, 'quantizeBlockwise', 'codes'),
      ...this.buf(absmax, 'quantizeBlockwise', 'absmax'),
      p.blockSize,
    );
  }

  dequantizeBlockwise(codes: Storage, codebook: Storage, absmax: Storage, out: Storage, p: QuantizeParams): void {
    this.native.dequantizeBlockwise(
      ...this.buf(codes, 'dequantizeBlockwise', 'codes'),
      ...this.buf(codebook, 'dequantizeBlockwise', 'codebook'),
      ...this.buf(absmax, 'dequantizeBlockwise', 'absmax'),
      ...this.buf(out, 'dequantizeBlockwise', 'out'),
      p.blockSize,
    );
  }

  // --- helpers ---

  private runSoftmax(kernel: string, x: Storage, out: Storage, p: SoftmaxParams, log: boolean): void {
    const causal = p.causal;
    if (causal && (!Number.isInteger(causal.queryLen) || causal.queryLen <= 0)) {
      throw new RangeError(`CudaBackend.${kernel}: causal.queryLen must be a positive integer; got ${causal.queryLen}`);
    }
    if (causal && !Number.isInteger(causal.offset)) {
      throw new RangeError(`CudaBackend.${kernel}: causal.offset must be an integer; got ${causal.offset}`);
    }
    this.native.softmax(
      ...this.buf(x, kernel, 'x'),
      ...this.buf(out, kernel, 'out'),
      p.rows,
      p.cols,
      causal?.queryLen ?? 0,
      causal?.offset ?? 0,
      log,
    );
  }

  private runSoftmaxBackward(
    kernel: string,
    y: Storage,
    dy: Storage,
    dx: Storage,
    rows: number,
    cols: number,
    log: boolean,
  ): void {
    this.native.softmaxBackward(
      ...this.buf(y, kernel, 'y'),
      ...this.buf(dy, kernel, 'dy'),
      ...this.buf(dx, kernel, 'dx'),
      rows,
      cols,
      log,
    );
  }

  private alive(kernel: string): void {
    if (this.destroyed) throw new Error(`CudaBackend.${kernel}: the backend was destroyed`);
  }

  /** Checks that a storage is a live one of this backend. */
  private own(storage: Storage, kernel: string, name: string): CudaStorage {
    this.alive(kernel);
    if (!(storage instanceof CudaStorage) || storage.backend !== this) {
      throw new TypeError(
        `CudaBackend.${kernel}: ${name} belongs to the ${storage.backend?.name ?? 'unknown'} backend, not this CUDA backend`,
      );
    }
    if (storage.freed) {
      throw new Error(
        `CudaBackend.${kernel}: ${name} (storage #${storage.id}, ${storage.dtype}[${storage.size}]) was used after free`,
      );
    }
    return storage;
  }

  private buf(storage: Storage, kernel: string, name: string): NativeBuffer {
    const s = this.own(storage, kernel, name);
    return [s.handle, DTYPE_CODES[s.dtype] as number, s.size];
  }

  private code<K extends string>(codes: Record<K, number>, op: K, kernel: string): number {
    const code = codes[op];
    if (code === undefined) {
      throw new RangeError(
        `CudaBackend.${kernel}: unknown op ${JSON.stringify(op)}; expected one of ${Object.keys(codes).join(', ')}`,
      );
    }
    return code;
  }
}
