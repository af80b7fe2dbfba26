/**
 * The backend boundary. A backend owns storage (allocation, upload, download) and implements
 * kernels on contiguous storages. Each kernel is declared once (kernels/core-kernels.ts: its named
 * inputs and outputs, its params object and its argument check); `Backend.run` is the one entry
 * point, and the shared base class (backends/base.ts) checks ownership, liveness and arguments
 * before the backend's implementation sees them. Core composes every other op from these and
 * defines every gradient once.
 *
 * Conventions every kernel follows:
 * - Outputs are allocated by core (so the memory tracker can tag them) and passed in by name.
 * - Storages are contiguous, row-major. Views (transpose, slice, expand, cat) are `copy` calls
 *   with explicit strides.
 * - Floating kernels accept float32, float64 (CPU only), bfloat16 and float16 storages, compute in
 *   float32 (float64 when every input is float64) and round to the output's dtype.
 * - Kernels never allocate visible memory except `workspace`-style scratch they free themselves.
 * - Invalid data found on the device (an id or target out of range) is always reported: at the
 *   call on backends that compute on the host, at the next `read` or `sync` on asynchronous ones,
 *   with the same message.
 */
import type { DType, HostArray } from './dtype.js';
import type { MemoryCategory, MemoryTracker } from './memory.js';

/** A backend-owned buffer of `size` elements. Backends extend it with their own handle. */
export interface Storage {
  readonly id: number;
  readonly backend: Backend;
  readonly size: number;
  readonly dtype: DType;
  readonly byteLength: number;
  /** What the memory tracker counts it as. Changed through `Backend.retag`. */
  readonly category: MemoryCategory;
}

/** A strided window onto a storage, in elements. */
export interface View {
  shape: readonly number[];
  strides: readonly number[];
  offset: number;
}

export type UnaryOp =
  | 'neg'
  | 'exp'
  | 'log'
  | 'sqrt'
  | 'rsqrt'
  | 'abs'
  | 'sigmoid'
  | 'silu'
  | 'tanh'
  | 'relu'
  | 'sign'
  | 'square'
  | 'reciprocal'
  | 'sin'
  | 'cos';

/** Arithmetic ops write the output dtype; comparison ops write uint8 (0 or 1). */
export type BinaryOp =
  | 'add'
  | 'sub'
  | 'mul'
  | 'div'
  | 'pow'
  | 'maximum'
  | 'minimum'
  | 'eq'
  | 'ne'
  | 'lt'
  | 'le'
  | 'gt'
  | 'ge';

export type ReduceOp = 'sum' | 'max' | 'min';

/**
 * Broadcast layout for elementwise kernels: the output is contiguous with `shape`; each input is
 * read at `strides` (0 along broadcast dimensions) from its storage start.
 */
export interface BroadcastLayout {
  shape: readonly number[];
  aStrides: readonly number[];
  bStrides: readonly number[];
  /** Only for `where`: strides of the condition. */
  condStrides?: readonly number[];
}

/**
 * A reduction over the middle axis of a [outer, reduce, inner] view of a contiguous input; the
 * output is [outer, inner].
 */
export interface ReduceLayout {
  outer: number;
  reduce: number;
  inner: number;
}

/**
 * Batched matmul: for each batch b, out[b] (m x n) = op(a[b]) (m x k) @ op(b[b]) (k x n), where op
 * transposes when the flag is set (a stored as k x m, b stored as n x k). Batch strides are in
 * elements and may be 0 (broadcast). `out` is contiguous [batch, m, n]. With `accumulate`, the
 * product is added to what `out` holds (gradient accumulation without a temporary).
 */
export interface MatmulParams {
  batch: number;
  m: number;
  n: number;
  k: number;
  transA: boolean;
  transB: boolean;
  aBatchStride: number;
  bBatchStride: number;
  accumulate?: boolean;
}

/** Counter-based random numbers: Philox 4x32-10 keyed by `seed`, counters from `offset`. */
export interface RandomParams {
  distribution: 'uniform' | 'normal';
  /** 64-bit key as two unsigned 32-bit words [low, high]. */
  seed: readonly [number, number];
  /** Index of the first 128-bit Philox block this call consumes. */
  offset: number;
  /** uniform: [low, high); normal: mean, std. */
  a: number;
  b: number;
}

/** Softmax over the last axis of a contiguous [rows, cols] matrix. */
export interface SoftmaxParams {
  rows: number;
  cols: number;
  /**
   * Causal masking for attention scores laid out [..., queryLen, cols]: in row r, query position
   * q = r % queryLen sees columns j <= q + offset; the others get probability 0 (log-prob -inf).
   */
  causal?: { queryLen: number; offset: number };
}

/**
 * How contiguous attention tensors order their axes: 'sequence' is [batch, seq, heads, dim], the
 * order of the q/k/v projections' outputs (a head's rows lie heads * dim apart); 'heads' is
 * [batch, heads, seq, dim].
 */
export type AttentionLayout = 'sequence' | 'heads';

/**
 * Causal attention of `heads` query heads over `kvHeads` key/value heads (grouped-query attention:
 * query head h reads kv head floor(h / (heads / kvHeads))). q, out (and dq, dout) hold
 * batch * queryLen * heads * dim elements; k, v (and dk, dv) batch * keyLen * kvHeads * dim.
 */
export interface AttentionParams {
  batch: number;
  queryLen: number;
  keyLen: number;
  heads: number;
  /** Divides heads. */
  kvHeads: number;
  dim: number;
  /** Multiplies the scores before the softmax (1 / sqrt(dim) for standard attention); positive. */
  scale: number;
  layout: AttentionLayout;
}

export interface RopeParams {
  /** x is contiguous [batch, seq, heads, headDim]; cos and sin are [seq, headDim / 2]. */
  batch: number;
  seq: number;
  heads: number;
  headDim: number;
  /** Rotate by the negative angle: the backward pass of RoPE. */
  inverse: boolean;
}

/**
 * Hugging Face "rotate_half" RoPE: with h = headDim / 2, for i < h
 *   out[i]     = x[i] * cos[s, i] - x[i + h] * sin[s, i]
 *   out[i + h] = x[i + h] * cos[s, i] + x[i] * sin[s, i]
 */
export interface AdamWParams {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** 1 - beta1^t and 1 - beta2^t, precomputed by the optimizer for step t. */
  biasCorrection1: number;
  biasCorrection2: number;
}

/**
 * A kernel's signature: the names of the storages it reads (`inputs`) and writes (`outputs`, which
 * it may also read: in-place kernels list their updated storages here), and its params object.
 */
export interface KernelSignature<In extends string, Out extends string, P> {
  inputs: In;
  outputs: Out;
  params: P;
}

type Sig<In extends string, Out extends string, P = Record<string, never>> = KernelSignature<In, Out, P>;

/** Every kernel core declares, by name. */
export interface CoreKernels {
  fill: Sig<never, 'out', { value: number }>;
  random: Sig<never, 'out', RandomParams>;
  cast: Sig<'x', 'out'>;
  /** Copies the elements of `src` at `srcView` into `dst` at `dstView` (same shape). */
  copy: Sig<'src', 'dst', { srcView: View; dstView: View }>;
  unary: Sig<'x', 'out', { op: UnaryOp }>;
  binary: Sig<'a' | 'b', 'out', BroadcastLayout & { op: BinaryOp }>;
  /** out = cond != 0 ? a : b. */
  where: Sig<'cond' | 'a' | 'b', 'out', BroadcastLayout & { condStrides: readonly number[] }>;
  reduce: Sig<'x', 'out', ReduceLayout & { op: ReduceOp }>;
  /** Index of the first maximum along the reduced axis; out is int32. */
  argmax: Sig<'x', 'out', ReduceLayout>;
  matmul: Sig<'a' | 'b', 'out', MatmulParams>;
  /**
   * Thin SVD of a contiguous m x n matrix, k = min(m, n): u is m x k, s is k (descending), vt is
   * k x n. Computed in float32 or better; must not return NaN for finite input. Signs are fixed so
   * results compare across backends: the entry of largest magnitude in each column of u is
   * positive. For rank-deficient input the extra columns of u / rows of vt are still orthonormal.
   */
  svd: Sig<'a', 'u' | 's' | 'vt', { m: number; n: number }>;
  /** Thin QR of a contiguous m x n matrix with m >= n: q is m x n, r is n x n upper-triangular with a non-negative diagonal. */
  qr: Sig<'a', 'q' | 'r', { m: number; n: number }>;
  /** out[i, :] = table[ids[i], :] for a [rows, dim] table; ids is int32. */
  gatherRows: Sig<'table' | 'ids', 'out', { dim: number }>;
  /** out[ids[i], :] += src[i, :]; out is zero-filled by the caller when it should start at 0. */
  scatterAddRows: Sig<'src' | 'ids', 'out', { dim: number }>;
  softmax: Sig<'x', 'out', SoftmaxParams>;
  logSoftmax: Sig<'x', 'out', SoftmaxParams>;
  /** dx = y * (dy - sum(dy * y)) per row. */
  softmaxBackward: Sig<'y' | 'dy', 'dx', RowsParams>;
  /** dx = dy - exp(y) * sum(dy) per row, where y is the log-softmax output. */
  logSoftmaxBackward: Sig<'y' | 'dy', 'dx', RowsParams>;
  /**
   * Per-row cross-entropy of [rows, cols] logits against int32 targets: loss[r] = logsumexp(x[r]) -
   * x[r, t]; rows whose target equals `ignoreIndex` get 0.
   */
  crossEntropy: Sig<'logits' | 'targets', 'loss', CrossEntropyParams>;
  /** dx[r] = dloss[r] * (softmax(x[r]) - onehot(t)); 0 for ignored rows. */
  crossEntropyBackward: Sig<'logits' | 'targets' | 'dloss', 'dx', CrossEntropyParams>;
  /** out = x * rstd * weight over the last axis; rstd[r] = 1 / sqrt(mean(x[r]^2) + eps) (float32). */
  rmsNorm: Sig<'x' | 'weight', 'out' | 'rstd', RowsParams & { eps: number }>;
  /** dx for the input; dweight (cols) is overwritten with the sum over rows. */
  rmsNormBackward: Sig<'x' | 'weight' | 'rstd' | 'dy', 'dx' | 'dweight', RowsParams>;
  /**
   * out = (x - mean) * rstd * weight + bias over the last axis, with mean[r] the row's mean and
   * rstd[r] = 1 / sqrt(var(x[r]) + eps) (biased variance, as PyTorch); mean and rstd are saved for
   * backward (float32, or float64 when they are float64 storages).
   */
  layerNorm: Sig<'x' | 'weight' | 'bias', 'out' | 'mean' | 'rstd', RowsParams & { eps: number }>;
  /** dx for the input; dweight and dbias (cols) are overwritten with their sums over rows. */
  layerNormBackward: Sig<'x' | 'weight' | 'mean' | 'rstd' | 'dy', 'dx' | 'dweight' | 'dbias', RowsParams>;
  rope: Sig<'x' | 'cos' | 'sin', 'out', RopeParams>;
  /**
   * Causal attention per head: out = softmax(q k^T * scale) v, where query i sees keys
   * j <= i + keyLen - queryLen (a query that sees none gets 0). Backends may compute it in blocks
   * without holding the whole probability matrix.
   */
  causalAttention: Sig<'q' | 'k' | 'v', 'out', AttentionParams>;
  /** dq, dk and dv of causalAttention for the output gradient dout (all three are overwritten). */
  causalAttentionBackward: Sig<'q' | 'k' | 'v' | 'dout', 'dq' | 'dk' | 'dv', AttentionParams>;
  /** out = silu(gate) * up (the SwiGLU activation). */
  siluMul: Sig<'gate' | 'up', 'out'>;
  siluMulBackward: Sig<'gate' | 'up' | 'dy', 'dgate' | 'dup'>;
  /** out = x / 2 * (1 + erf(x / sqrt 2)), GELU in its exact erf form (PyTorch's default). */
  gelu: Sig<'x', 'out'>;
  /** dx = dy * (Phi(x) + x * phi(x)), Phi and phi the standard normal CDF and density. */
  geluBackward: Sig<'x' | 'dy', 'dx'>;
  /**
   * In-place AdamW as PyTorch defines it: p *= 1 - lr * wd; m = b1 m + (1 - b1) g;
   * v = b2 v + (1 - b2) g^2; p -= lr / bc1 * m / (sqrt(v / bc2) + eps).
   */
  adamw: Sig<'grad', 'param' | 'm' | 'v', AdamWParams>;
}

export interface RowsParams {
  rows: number;
  cols: number;
}

export interface CrossEntropyParams extends RowsParams {
  ignoreIndex: number;
}

export type CoreKernelName = keyof CoreKernels;

/** The storages a kernel takes, by name (typed for core kernels, any names for added ones). */
export type KernelIO<K extends string, S = Storage> = K extends CoreKernelName
  ? { [R in CoreKernels[K]['inputs'] | CoreKernels[K]['outputs']]: S }
  : Record<string, S>;

/** A kernel's params object (typed for core kernels). */
export type KernelParams<K extends string> = K extends CoreKernelName ? CoreKernels[K]['params'] : object;

export interface Backend {
  readonly name: string;
  readonly tracker: MemoryTracker;
  /** Whether kernels compute values (false for the meta backend). */
  readonly computes: boolean;
  /** Dtypes this backend can store. */
  supportsDType(dtype: DType): boolean;

  // --- storage ---
  /**
   * A storage of `size` elements. Its elements read as zeros unless `uninitialized` is true: then
   * they may hold anything (a recycled buffer's old values), for an output that the kernel about
   * to run writes in full; a backend may skip clearing the memory.
   */
  alloc(size: number, dtype: DType, category: MemoryCategory, uninitialized?: boolean): Storage;
  free(storage: Storage): void;
  retag(storage: Storage, category: MemoryCategory): void;
  /** Uploads raw host elements (length must equal storage.size). */
  write(storage: Storage, data: HostArray): void;
  /** Downloads raw elements; waits for pending work. */
  read(storage: Storage): Promise<HostArray>;
  /** Synchronous download; only backends that compute on the host provide it. */
  readSync?(storage: Storage): HostArray;
  /**
   * The raw elements themselves, without a copy, for a read that ends before the next kernel runs
   * (the optimizer's finite check over every gradient); only backends that compute on the host.
   */
  viewSync?(storage: Storage): HostArray;
  /** Waits until every enqueued kernel has finished; rejects with any error the device reported. */
  sync(): Promise<void>;
  /** Releases device resources; the backend is unusable afterwards. */
  destroy?(): Promise<void> | void;

  /**
   * Runs the kernel declared under `name` (core's, or one a package added with `defineKernel`) on
   * storages of this backend, after its argument check. A backend without an implementation runs
   * the kernel's composed fallback; a kernel without either throws naming both.
   */
  run<K extends string>(name: K, io: KernelIO<K>, params: KernelParams<K>): void;
  /** Whether this backend has its own implementation of `name` (otherwise a fallback runs). */
  implements(name: string): boolean;
}
