/**
 * The CPU backend: the reference implementation of every kernel. Kernels run synchronously on
 * host typed arrays; float64 storages compute in float64 (for gradient checks), everything else in
 * float32 semantics. Other backends are tested against this one. Arguments reach these kernels
 * already checked (backends/base.ts).
 */
import type { Storage } from '../../backend.js';
import type { DType, HostArray } from '../../dtype.js';
import type { MemoryCategory } from '../../memory.js';
import { normalizeOptions } from '../../optim/option-names.js';
import { BackendBase, type BackendBaseOptions, type KernelTable } from '../base.js';
import { adamw } from './adamw.js';
import { type AttentionOptions, causalAttention, causalAttentionBackward } from './attention.js';
import { cast, copy, fill, random } from './creation.js';
import { crossEntropy, crossEntropyBackward } from './cross-entropy.js';
import { binary, unary, where } from './elementwise.js';
import { gelu, geluBackward } from './gelu.js';
import { type GemmChoice, type GemmPath, resolveGemmPath } from './gemm-path.js';
import { gatherRows, scatterAddRows } from './indexing.js';
import { layerNorm, layerNormBackward } from './layernorm.js';
import { matmul } from './matmul.js';
import { qr } from './qr.js';
import { argmax, reduce } from './reduce.js';
import { rmsNorm, rmsNormBackward } from './rmsnorm.js';
import { rope } from './rope.js';
import { siluMul, siluMulBackward } from './silu-mul.js';
import { logSoftmax, logSoftmaxBackward, softmax, softmaxBackward } from './softmax.js';
import { CpuStorage } from './storage.js';
import { svd } from './svd.js';

export { CpuStorage } from './storage.js';

export interface CpuBackendOptions extends BackendBaseOptions {
  /** Where matmuls run (gemm-path.ts): the machine's BLAS when found (`auto`, the default), or forced. */
  gemm?: GemmChoice;
  /**
   * Whether the memory-bound kernels (float32 SiLU-gate, RMSNorm forward and backward, RoPE, AdamW,
   * softmax, log-softmax, cross-entropy and attention's row passes; float add/sub/mul/div; strided
   * copies) run on WebAssembly SIMD where
   * the engine has it (true, the default) or stay on their JS loops (false; tests run both and
   * compare). Matmuls follow `gemm` instead.
   */
  simd?: boolean;
}

const CPU_BACKEND_OPTIONS = ['tracker', 'gemm', 'simd'] as const satisfies readonly (keyof CpuBackendOptions)[];

const CPU_KERNELS: KernelTable<CpuStorage> = {
  fill: ({ out }, { value }) => fill(out, value),
  random: ({ out }, params) => random(out, params),
  cast: ({ x, out }) => cast(x, out),
  unary: ({ x, out }, { op }) => unary(op, x, out),
  where: ({ cond, a, b, out }, layout) => where(cond, a, b, out, layout),
  reduce: ({ x, out }, layout) => reduce(layout.op, x, out, layout),
  argmax: ({ x, out }, layout) => argmax(x, out, layout),
  svd: ({ a, u, s, vt }, { m, n }) => svd(a, m, n, u, s, vt),
  qr: ({ a, q, r }, { m, n }) => qr(a, m, n, q, r),
  gatherRows: ({ table, ids, out }, { dim }) => gatherRows(table, ids, out, dim),
  scatterAddRows: ({ src, ids, out }, { dim }) => scatterAddRows(src, ids, out, dim),
  layerNorm,
  layerNormBackward,
  gelu: ({ x, out }) => gelu(x, out),
  geluBackward: ({ x, dy, dx }) => geluBackward(x, dy, dx),
};

export class CpuBackend extends BackendBase<CpuStorage> {
  readonly name = 'cpu';
  private readonly gemmChoice: GemmChoice;
  private resolvedGemm: GemmPath | undefined;
  // The kernels that multiply matrices need the instance: they run on the GEMM path this backend chose.
  protected readonly kernels: KernelTable<CpuStorage> = {
    ...CPU_KERNELS,
    matmul: ({ a, b, out }, params) => matmul(a, b, out, params, this.gemm.library),
    causalAttention: ({ q, k, v, out }, params) => causalAttention(q, k, v, out, params, this.attentionOptions),
    causalAttentionBackward: (io, params) => causalAttentionBackward(io, params, this.attentionOptions),
    siluMul: ({ gate, up, out }) => siluMul(gate, up, out, this.simd),
    siluMulBackward: ({ gate, up, dy, dgate, dup }) => siluMulBackward(gate, up, dy, dgate, dup, this.simd),
    adamw: ({ param, grad, m, v }, params) => adamw(param, grad, m, v, params, this.simd),
    rmsNorm: (io, params) => rmsNorm(io, params, this.simd),
    rmsNormBackward: (io, params) => rmsNormBackward(io, params, this.simd),
    rope: ({ x, cos, sin, out }, params) => rope(x, cos, sin, out, params, this.simd),
    binary: ({ a, b, out }, layout) => binary(layout.op, a, b, out, layout, this.simd),
    copy: ({ src, dst }, { srcView, dstView }) => copy(src, srcView, dst, dstView, this.simd),
    softmax: ({ x, out }, params) => softmax(x, out, params, this.simd),
    logSoftmax: ({ x, out }, params) => logSoftmax(x, out, params, this.simd),
    softmaxBackward: ({ y, dy, dx }, { rows, cols }) => softmaxBackward(y, dy, dx, rows, cols, this.simd),
    logSoftmaxBackward: ({ y, dy, dx }, { rows, cols }) => logSoftmaxBackward(y, dy, dx, rows, cols, this.simd),
    crossEntropy: (io, params) => crossEntropy(io, params, this.simd),
    crossEntropyBackward: (io, params) => crossEntropyBackward(io, params, this.simd),
  };
  /** Whether the memory-bound kernels may use WebAssembly SIMD (the `simd` option). */
  readonly simd: boolean;

  private get attentionOptions(): AttentionOptions {
    return { blas: this.gemm.library, simd: this.simd };
  }

  constructor(options: CpuBackendOptions = {}) {
    // A misspelled option (`simdd`) is refused by name, not ignored.
    normalizeOptions('CpuBackend', options, CPU_BACKEND_OPTIONS);
    super(options);
    this.gemmChoice = options.gemm ?? 'auto';
    // A forced path is checked now; `auto` looks for a BLAS at the first matmul.
    if (this.gemmChoice !== 'auto') this.resolvedGemm = resolveGemmPath(this.gemmChoice);
    const simd = options.simd ?? true;
    if (typeof simd !== 'boolean')
      throw new TypeError(`CpuBackend: simd must be true or false; got ${JSON.stringify(simd)}`);
    this.simd = simd;
  }

  /** What matmuls run on (the BLAS library, or the built-in kernels and why). */
  get gemm(): GemmPath {
    this.resolvedGemm ??= resolveGemmPath(this.gemmChoice);
    return this.resolvedGemm;
  }

  protected createStorage(size: number, dtype: DType, category: MemoryCategory, uninitialized: boolean): CpuStorage {
    return new CpuStorage(this, size, dtype, category, uninitialized);
  }

  protected upload(storage: CpuStorage, data: HostArray): void {
    storage.data.set(data as never);
  }

  protected async download(storage: CpuStorage): Promise<HostArray> {
    return storage.data.slice();
  }

  /** A copy of the raw elements (16-bit floats as their bit patterns). */
  readSync(storage: Storage): HostArray {
    return this.viewSync(storage).slice();
  }

  viewSync(storage: Storage): HostArray {
    return this.own(storage, 'cpu.read', 'storage').data;
  }

  protected async waitIdle(): Promise<void> {}
}

export function createCpuBackend(options: CpuBackendOptions = {}): CpuBackend {
  return new CpuBackend(options);
}
