/**
 * The backend boundary. A backend owns storage (allocation, upload, download) and runs about forty
 * kernels on contiguous storages. Core composes every other op from these and defines every
 * gradient once, so a new accelerator implements this interface and nothing else.
 *
 * Conventions every kernel follows:
 * - Outputs are allocated by core (so the memory tracker can tag them) and passed in as `out`.
 * - Storages are contiguous, row-major. Views (transpose, slice, expand, cat) are `copy` calls
 *   with explicit strides.
 * - Floating kernels accept float32, float64 (CPU only), bfloat16 and float16 storages, compute in
 *   float32 (float64 when every input is float64) and round to the output's dtype.
 * - Kernels never allocate visible memory except `workspace`-style scratch they free themselves.
 * - Invalid data found on the device (an id or target out of range) may be reported at the next
 *   `read` or `sync` instead of at the call, on backends that run asynchronously.
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

export interface QuantizeParams {
  blockSize: number;
}

export interface Backend {
  readonly name: string;
  readonly tracker: MemoryTracker;
  /** Whether kernels compute values (false for the meta backend). */
  readonly computes: boolean;
  /** Dtypes this backend can store. */
  supportsDType(dtype: DType): boolean;

  // --- storage ---
  alloc(size: number, dtype: DType, category: MemoryCategory): Storage;
  free(storage: Storage): void;
  retag(storage: Storage, category: MemoryCategory): void;
  /** Uploads raw host elements (length must equal storage.size). */
  write(storage: Storage, data: HostArray): void;
  /** Downloads raw elements; waits for pending work. */
  read(storage: Storage): Promise<HostArray>;
  /** Synchronous download; only backends that compute on the host provide it. */
  readSync?(storage: Storage): HostArray;
  /** Waits until every enqueued kernel has finished. */
  sync(): Promise<void>;
  /** Releases device resources; the backend is unusable afterwards. */
  destroy?(): Promise<void> | void;

  // --- creation and conversion ---
  fill(out: Storage, value: number): void;
  random(out: Storage, params: RandomParams): void;
  cast(x: Storage, out: Storage): void;
  /** Copies the elements of `src` at `srcView` into `dst` at `dstView` (same shape). */
  copy(src: Storage, srcView: View, dst: Storage, dstView: View): void;

  // --- elementwise ---
  unary(op: UnaryOp, x: Storage, out: Storage): void;
  binary(op: BinaryOp, a: Storage, b: Storage, out: Storage, layout: BroadcastLayout): void;
  /** out = cond != 0 ? a : b, with `layout.condStrides` set. */
  where(cond: Storage, a: Storage, b: Storage, out: Storage, layout: BroadcastLayout): void;

  // --- reductions ---
  reduce(op: ReduceOp, x: Storage, out: Storage, layout: ReduceLayout): void;
  /** Index of the first maximum along the reduced axis; out is int32. */
  argmax(x: Storage, out: Storage, layout: ReduceLayout): void;

  // --- linear algebra ---
  matmul(a: Storage, b: Storage, out: Storage, params: MatmulParams): void;
  /**
   * Thin SVD of a contiguous m x n matrix, k = min(m, n): u is m x k, s is k (descending), vt is
   * k x n. Computed in float32 or better; must not return NaN for finite input. Signs are fixed so
   * results compare across backends: the entry of largest magnitude in each column of u is
   * positive. For rank-deficient input the extra columns of u / rows of vt are still orthonormal.
   */
  svd(a: Storage, m: number, n: number, u: Storage, s: Storage, vt: Storage): void;
  /** Thin QR of a contiguous m x n matrix with m >= n: q is m x n, r is n x n upper-triangular with a non-negative diagonal. */
  qr(a: Storage, m: number, n: number, q: Storage, r: Storage): void;

  // --- indexing ---
  /** out[i, :] = table[ids[i], :] for a [rows, dim] table; ids is int32. */
  gatherRows(table: Storage, ids: Storage, out: Storage, dim: number): void;
  /** out[ids[i], :] += src[i, :]; out is zero-filled by the caller when it should start at 0. */
  scatterAddRows(src: Storage, ids: Storage, out: Storage, dim: number): void;

  // --- fused kernels ---
  softmax(x: Storage, out: Storage, params: SoftmaxParams): void;
  logSoftmax(x: Storage, out: Storage, params: SoftmaxParams): void;
  /** dx = y * (dy - sum(dy * y)) per row. */
  softmaxBackward(y: Storage, dy: Storage, dx: Storage, rows: number, cols: number): void;
  /** dx = dy - exp(y) * sum(dy) per row, where y is the log-softmax output. */
  logSoftmaxBackward(y: Storage, dy: Storage, dx: Storage, rows: number, cols: number): void;
  /**
   * Per-row cross-entropy of [rows, cols] logits against int32 targets: loss[r] = logsumexp(x[r]) -
   * x[r, t]; rows whose target equals `ignoreIndex` get 0.
   */
  crossEntropy(logits: Storage, targets: Storage, loss: Storage, rows: number, cols: number, ignoreIndex: number): void;
  /** dx[r] = dloss[r] * (softmax(x[r]) - onehot(t)); 0 for ignored rows. */
  crossEntropyBackward(
    logits: Storage,
    targets: Storage,
    dloss: Storage,
    dx: Storage,
    rows: number,
    cols: number,
    ignoreIndex: number,
  ): void;
  /** out = x * rstd * weight over the last axis; rstd[r] = 1 / sqrt(mean(x[r]^2) + eps) (float32). */
  rmsNorm(x: Storage, weight: Storage, out: Storage, rstd: Storage, rows: number, cols: number, eps: number): void;
  /** dx for the input; dweight (cols) is overwritten with the sum over rows. */
  rmsNormBackward(
    x: Storage,
    weight: Storage,
    rstd: Storage,
    dy: Storage,
    dx: Storage,
    dweight: Storage,
    rows: number,
    cols: number,
  ): void;
  rope(x: Storage, cos: Storage, sin: Storage, out: Storage, params: RopeParams): void;
  /** out = silu(gate) * up (the SwiGLU activation). */
  siluMul(gate: Storage, up: Storage, out: Storage): void;
  siluMulBackward(gate: Storage, up: Storage, dy: Storage, dgate: Storage, dup: Storage): void;
  /**
   * In-place AdamW as PyTorch defines it: p *= 1 - lr * wd; m = b1 m + (1 - b1) g;
   * v = b2 v + (1 - b2) g^2; p -= lr / bc1 * m / (sqrt(v / bc2) + eps).
   */
  adamw(param: Storage, grad: Storage, m: Storage, v: Storage, params: AdamWParams): void;
  /**
   * Blockwise 8-bit quantisation: per block of `blockSize` elements, absmax[b] = max |x|, and
   * codes[i] = index of the nearest entry of the sorted 256-entry `codebook` to x[i] / absmax[b].
   */
  quantizeBlockwise(x: Storage, codebook: Storage, codes: Storage, absmax: Storage, params: QuantizeParams): void;
  /** out[i] = codebook[codes[i]] * absmax[block(i)]. */
  dequantizeBlockwise(codes: Storage, codebook: Storage, absmax: Storage, out: Storage, params: QuantizeParams): void;
}
