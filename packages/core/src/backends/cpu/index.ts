/**
 * The CPU backend: the reference implementation of the Backend contract. Every kernel runs
 * synchronously on host typed arrays; float64 storages compute in float64 (for gradient checks),
 * everything else in float32 semantics. Other backends are tested against this one.
 */
import type {
  AdamWParams,
  Backend,
  BinaryOp,
  BroadcastLayout,
  MatmulParams,
  QuantizeParams,
  RandomParams,
  ReduceLayout,
  ReduceOp,
  RopeParams,
  SoftmaxParams,
  Storage,
  UnaryOp,
  View,
} from '../../backend.js';
import { assertDType, type DType, type HostArray, hostArrayFor } from '../../dtype.js';
import { MEMORY_CATEGORIES, type MemoryCategory, MemoryTracker } from '../../memory.js';
import { expectCount } from '../kernel-checks.js';
import { adamw } from './adamw.js';
import { cpuStorage } from './checks.js';
import { cast, copy, fill, random } from './creation.js';
import { crossEntropy, crossEntropyBackward } from './cross-entropy.js';
import { binary, unary, where } from './elementwise.js';
import { type GemmChoice, type GemmPath, resolveGemmPath } from './gemm-path.js';
import { gatherRows, scatterAddRows } from './indexing.js';
import { matmul } from './matmul.js';
import { qr } from './qr.js';
import { dequantizeBlockwise, quantizeBlockwise } from './quantize.js';
import { argmax, reduce } from './reduce.js';
import { rmsNorm, rmsNormBackward } from './rmsnorm.js';
import { rope } from './rope.js';
import { siluMul, siluMulBackward } from './silu-mul.js';
import { logSoftmax, logSoftmaxBackward, softmax, softmaxBackward } from './softmax.js';
import { CpuStorage } from './storage.js';
import { svd } from './svd.js';

export { CpuStorage } from './storage.js';

export interface CpuBackendOptions {
  /** Tracker to report allocations to; a fresh one by default. */
  tracker?: MemoryTracker;
  /** Where matmuls run (gemm-path.ts): the machine's BLAS when found (`auto`, the default), or forced. */
  gemm?: GemmChoice;
}

function checkCategory(category: MemoryCategory, where: string): void {
  if (!MEMORY_CATEGORIES.includes(category)) {
    throw new TypeError(
      `${where}: unknown memory category ${JSON.stringify(category)}; expected one of ${MEMORY_CATEGORIES.join(', ')}`,
    );
  }
}

export class CpuBackend implements Backend {
  readonly name = 'cpu';
  readonly computes = true;
  readonly tracker: MemoryTracker;
  private destroyed = false;
  private readonly gemmChoice: GemmChoice;
  private resolvedGemm: GemmPath | undefined;

  constructor(options: CpuBackendOptions = {}) {
    this.tracker = options.tracker ?? new MemoryTracker();
    this.gemmChoice = options.gemm ?? 'auto';
    // A forced path is checked now; `auto` looks for a BLAS at the first matmul.
    if (this.gemmChoice !== 'auto') this.resolvedGemm = resolveGemmPath(this.gemmChoice);
  }

  /** What matmuls run on (the BLAS library, or the built-in kernels and why). */
  get gemm(): GemmPath {
    this.resolvedGemm ??= resolveGemmPath(this.gemmChoice);
    return this.resolvedGemm;
  }

  supportsDType(dtype: DType): boolean {
    assertDType(dtype, 'CpuBackend.supportsDType');
    return true;
  }

  // --- storage ---

  alloc(size: number, dtype: DType, category: MemoryCategory): CpuStorage {
    this.assertUsable('alloc');
    expectCount(size, 'CpuBackend.alloc', 'size');
    assertDType(dtype, 'CpuBackend.alloc');
    checkCategory(category, 'CpuBackend.alloc');
    const storage = new CpuStorage(this, size, dtype, category);
    this.tracker.allocated(storage.byteLength, category);
    return storage;
  }

  free(storage: Storage): void {
    const s = this.own(storage, 'free', 'storage');
    s.markFreed();
    this.tracker.freed(s.byteLength, s.category);
  }

  retag(storage: Storage, category: MemoryCategory): void {
    const s = this.own(storage, 'retag', 'storage');
    checkCategory(category, 'CpuBackend.retag');
    this.tracker.retagged(s.byteLength, s.category, category);
    s.setCategory(category);
  }

  write(storage: Storage, data: HostArray): void {
    const s = this.own(storage, 'write', 'storage');
    const expected = hostArrayFor(s.dtype, 0).constructor;
    if (!(data instanceof expected)) {
      const got = (data as object | null)?.constructor?.name ?? typeof data;
      throw new TypeError(`CpuBackend.write: a ${s.dtype} storage takes a ${expected.name}; got ${got}`);
    }
    if (data.length !== s.size) {
      throw new RangeError(`CpuBackend.write: data has ${data.length} elements; the storage holds ${s.size}`);
    }
    s.data.set(data as never);
  }

  async read(storage: Storage): Promise<HostArray> {
    return this.readSync(storage);
  }

  /** A copy of the raw elements (16-bit floats as their bit patterns). */
  readSync(storage: Storage): HostArray {
    return this.own(storage, 'read', 'storage').data.slice();
  }

  async sync(): Promise<void> {
    this.assertUsable('sync');
  }

  destroy(): void {
    this.destroyed = true;
  }

  // --- creation and conversion ---

  fill(out: Storage, value: number): void {
    fill(this.own(out, 'fill', 'out'), value);
  }

  random(out: Storage, params: RandomParams): void {
    random(this.own(out, 'random', 'out'), params);
  }

  cast(x: Storage, out: Storage): void {
    cast(this.own(x, 'cast', 'x'), this.own(out, 'cast', 'out'));
  }

  copy(src: Storage, srcView: View, dst: Storage, dstView: View): void {
    copy(this.own(src, 'copy', 'src'), srcView, this.own(dst, 'copy', 'dst'), dstView);
  }

  // --- elementwise ---

  unary(op: UnaryOp, x: Storage, out: Storage): void {
    unary(op, this.own(x, 'unary', 'x'), this.own(out, 'unary', 'out'));
  }

  binary(op: BinaryOp, a: Storage, b: Storage, out: Storage, layout: BroadcastLayout): void {
    binary(op, this.own(a, 'binary', 'a'), this.own(b, 'binary', 'b'), this.own(out, 'binary', 'out'), layout);
  }

  where(cond: Storage, a: Storage, b: Storage, out: Storage, layout: BroadcastLayout): void {
    where(
      this.own(cond, 'where', 'cond'),
      this.own(a, 'where', 'a'),
      this.own(b, 'where', 'b'),
      this.own(out, 'where', 'out'),
      layout,
    );
  }

  // --- reductions ---

  reduce(op: ReduceOp, x: Storage, out: Storage, layout: ReduceLayout): void {
    reduce(op, this.own(x, 'reduce', 'x'), this.own(out, 'reduce', 'out'), layout);
  }

  argmax(x: Storage, out: Storage, layout: ReduceLayout): void {
    argmax(this.own(x, 'argmax', 'x'), this.own(out, 'argmax', 'out'), layout);
  }

  // --- linear algebra ---

  matmul(a: Storage, b: Storage, out: Storage, params: MatmulParams): void {
    const blas = this.gemm.library;
    matmul(this.own(a, 'matmul', 'a'), this.own(b, 'matmul', 'b'), this.own(out, 'matmul', 'out'), params, blas);
  }

  svd(a: Storage, m: number, n: number, u: Storage, s: Storage, vt: Storage): void {
    svd(this.own(a, 'svd', 'a'), m, n, this.own(u, 'svd', 'u'), this.own(s, 'svd', 's'), this.own(vt, 'svd', 'vt'));
  }

  qr(a: Storage, m: number, n: number, q: Storage, r: Storage): void {
    qr(this.own(a, 'qr', 'a'), m, n, this.own(q, 'qr', 'q'), this.own(r, 'qr', 'r'));
  }

  // --- indexing ---

  gatherRows(table: Storage, ids: Storage, out: Storage, dim: number): void {
    gatherRows(
      this.own(table, 'gatherRows', 'table'),
      this.own(ids, 'gatherRows', 'ids'),
      this.own(out, 'gatherRows', 'out'),
      dim,
    );
  }

  scatterAddRows(src: Storage, ids: Storage, out: Storage, dim: number): void {
    scatterAddRows(
      this.own(src, 'scatterAddRows', 'src'),
      this.own(ids, 'scatterAddRows', 'ids'),
      this.own(out, 'scatterAddRows', 'out'),
      dim,
    );
  }

  // --- fused kernels ---

  softmax(x: Storage, out: Storage, params: SoftmaxParams): void {
    softmax(this.own(x, 'softmax', 'x'), this.own(out, 'softmax', 'out'), params);
  }

  logSoftmax(x: Storage, out: Storage, params: SoftmaxParams): void {
    logSoftmax(this.own(x, 'logSoftmax', 'x'), this.own(out, 'logSoftmax', 'out'), params);
  }

  softmaxBackward(y: Storage, dy: Storage, dx: Storage, rows: number, cols: number): void {
    const k = 'softmaxBackward';
    softmaxBackward(this.own(y, k, 'y'), this.own(dy, k, 'dy'), this.own(dx, k, 'dx'), rows, cols);
  }

  logSoftmaxBackward(y: Storage, dy: Storage, dx: Storage, rows: number, cols: number): void {
    const k = 'logSoftmaxBackward';
    logSoftmaxBackward(this.own(y, k, 'y'), this.own(dy, k, 'dy'), this.own(dx, k, 'dx'), rows, cols);
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
    crossEntropy(
      this.own(logits, k, 'logits'),
      this.own(targets, k, 'targets'),
      this.own(loss, k, 'loss'),
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
    const k = 'crossEntropyBackward';
    crossEntropyBackward(
      this.own(logits, k, 'logits'),
      this.own(targets, k, 'targets'),
      this.own(dloss, k, 'dloss'),
      this.own(dx, k, 'dx'),
      rows,
      cols,
      ignoreIndex,
    );
  }

  rmsNorm(x: Storage, weight: Storage, out: Storage, rstd: Storage, rows: number, cols: number, eps: number): void {
    const k = 'rmsNorm';
    rmsNorm(
      this.own(x, k, 'x'),
      this.own(weight, k, 'weight'),
      this.own(out, k, 'out'),
      this.own(rstd, k, 'rstd'),
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
    const k = 'rmsNormBackward';
    rmsNormBackward(
      this.own(x, k, 'x'),
      this.own(weight, k, 'weight'),
      this.own(rstd, k, 'rstd'),
      this.own(dy, k, 'dy'),
      this.own(dx, k, 'dx'),
      this.own(dweight, k, 'dweight'),
      rows,
      cols,
    );
  }

  rope(x: Storage, cos: Storage, sin: Storage, out: Storage, params: RopeParams): void {
    rope(
      this.own(x, 'rope', 'x'),
      this.own(cos, 'rope', 'cos'),
      this.own(sin, 'rope', 'sin'),
      this.own(out, 'rope', 'out'),
      params,
    );
  }

  siluMul(gate: Storage, up: Storage, out: Storage): void {
    siluMul(this.own(gate, 'siluMul', 'gate'), this.own(up, 'siluMul', 'up'), this.own(out, 'siluMul', 'out'));
  }

  siluMulBackward(gate: Storage, up: Storage, dy: Storage, dgate: Storage, dup: Storage): void {
    const k = 'siluMulBackward';
    siluMulBackward(
      this.own(gate, k, 'gate'),
      this.own(up, k, 'up'),
      this.own(dy, k, 'dy'),
      this.own(dgate, k, 'dgate'),
      this.own(dup, k, 'dup'),
    );
  }

  adamw(param: Storage, grad: Storage, m: Storage, v: Storage, params: AdamWParams): void {
    adamw(
      this.own(param, 'adamw', 'param'),
      this.own(grad, 'adamw', 'grad'),
      this.own(m, 'adamw', 'm'),
      this.own(v, 'adamw', 'v'),
      params,
    );
  }

  quantizeBlockwise(x: Storage, codebook: Storage, codes: Storage, absmax: Storage, params: QuantizeParams): void {
    const k = 'quantizeBlockwise';
    quantizeBlockwise(
      this.own(x, k, 'x'),
      this.own(codebook, k, 'codebook'),
      this.own(codes, k, 'codes'),
      this.own(absmax, k, 'absmax'),
      params,
    );
  }

  dequantizeBlockwise(codes: Storage, codebook: Storage, absmax: Storage, out: Storage, params: QuantizeParams): void {
    const k = 'dequantizeBlockwise';
    dequantizeBlockwise(
      this.own(codes, k, 'codes'),
      this.own(codebook, k, 'codebook'),
      this.own(absmax, k, 'absmax'),
      this.own(out, k, 'out'),
      params,
    );
  }

  private assertUsable(method: string): void {
    if (this.destroyed) throw new Error(`CpuBackend.${method}: the backend was destroyed`);
  }

  /** A live storage of this backend, or a clear error naming the method and argument. */
  private own(storage: Storage, method: string, role: string): CpuStorage {
    this.assertUsable(method);
    return cpuStorage(this, storage, `CpuBackend.${method}`, role);
  }
}

export function createCpuBackend(options: CpuBackendOptions = {}): CpuBackend {
  return new CpuBackend(options);
}
