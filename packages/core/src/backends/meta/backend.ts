/**
 * The meta backend: storages have a size and no data, kernels check their arguments and do
 * nothing else, and every allocation, free and retag reaches the memory tracker. Running a training
 * step on it gives that step's exact memory profile for any model size without touching memory.
 *
 * Meta tensors read as zeros (up to META_READ_LIMIT elements); nothing they "compute" is real.
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
import { assertDType, DTYPE_BYTES, type DType, type HostArray, hostArrayFor, isFloating } from '../../dtype.js';
import { MEMORY_CATEGORIES, type MemoryCategory, MemoryTracker } from '../../memory.js';
import {
  checkCount,
  checkDType,
  checkInteger,
  checkPositive,
  checkSameSize,
  checkSize,
  checkWindow,
  product,
} from './checks.js';
import { MetaStorage } from './storage.js';

/** The most elements `read` will materialise as zeros; larger reads are almost surely a mistake. */
export const META_READ_LIMIT = 2 ** 24;

export interface MetaBackendOptions {
  /** Tracker to report to; a fresh one by default. Pass one to share it with a planner. */
  tracker?: MemoryTracker;
}

// Records keyed by every op name, so a new op in the contract fails to compile here until listed.
const UNARY_OPS: Record<UnaryOp, true> = {
  neg: true,
  exp: true,
  log: true,
  sqrt: true,
  rsqrt: true,
  abs: true,
  sigmoid: true,
  silu: true,
  tanh: true,
  relu: true,
  sign: true,
  square: true,
  reciprocal: true,
  sin: true,
  cos: true,
};
const BINARY_OPS: Record<BinaryOp, 'arithmetic' | 'comparison'> = {
  add: 'arithmetic',
  sub: 'arithmetic',
  mul: 'arithmetic',
  div: 'arithmetic',
  pow: 'arithmetic',
  maximum: 'arithmetic',
  minimum: 'arithmetic',
  eq: 'comparison',
  ne: 'comparison',
  lt: 'comparison',
  le: 'comparison',
  gt: 'comparison',
  ge: 'comparison',
};
const REDUCE_OPS: Record<ReduceOp, true> = { sum: true, max: true, min: true };

function checkOp(where: string, op: unknown, known: object): void {
  if (typeof op !== 'string' || !Object.hasOwn(known, op)) {
    throw new TypeError(`${where}: unknown op ${JSON.stringify(op)}; expected one of ${Object.keys(known).join(', ')}`);
  }
}

function checkCategory(where: string, category: unknown): MemoryCategory {
  if (typeof category === 'string' && (MEMORY_CATEGORIES as readonly string[]).includes(category)) {
    return category as MemoryCategory;
  }
  throw new TypeError(
    `${where}: unknown memory category ${JSON.stringify(category)}; expected one of ${MEMORY_CATEGORIES.join(', ')}`,
  );
}

function checkFloating(where: string, name: string, storage: Storage): void {
  if (!isFloating(storage.dtype)) {
    throw new TypeError(`${where}: ${name} must have a floating dtype, got ${storage.dtype}`);
  }
}

function describe(storage: unknown): string {
  if (storage === null || typeof storage !== 'object') return String(storage);
  const s = storage as Partial<Storage>;
  return `storage #${s.id} (${s.dtype}[${s.size}]) of backend '${s.backend?.name ?? 'unknown'}'`;
}

export class MetaBackend implements Backend {
  readonly name = 'meta';
  readonly computes = false;
  readonly tracker: MemoryTracker;
  #nextId = 1;
  #destroyed = false;

  constructor(options: MetaBackendOptions = {}) {
    this.tracker = options.tracker ?? new MemoryTracker();
  }

  /** Meta storages have no data, so any dtype can be "stored". */
  supportsDType(_dtype: DType): boolean {
    return true;
  }

  // --- storage ---

  alloc(size: number, dtype: DType, category: MemoryCategory): Storage {
    const where = 'meta.alloc';
    this.#checkUsable(where);
    checkCount(where, 'size', size);
    assertDType(dtype, where);
    checkCategory(where, category);
    const storage = new MetaStorage(this.#nextId++, this, size, dtype, size * DTYPE_BYTES[dtype], category);
    this.tracker.allocated(storage.byteLength, category);
    return storage;
  }

  free(storage: Storage): void {
    const s = this.#live('meta.free', 'storage', storage);
    s.markFreed();
    this.tracker.freed(s.byteLength, s.category);
  }

  retag(storage: Storage, category: MemoryCategory): void {
    const where = 'meta.retag';
    const s = this.#live(where, 'storage', storage);
    checkCategory(where, category);
    this.tracker.retagged(s.byteLength, s.category, category);
    s.setCategory(category);
  }

  /** Checks the data's type and length, then drops it: meta storages hold nothing. */
  write(storage: Storage, data: HostArray): void {
    const where = 'meta.write';
    const s = this.#live(where, 'storage', storage);
    const expected = hostArrayFor(s.dtype, 0).constructor;
    if (!(data instanceof expected)) {
      const got = (data as object | null | undefined)?.constructor?.name ?? String(data);
      throw new TypeError(`${where}: ${s.dtype} storage takes a ${expected.name}, got ${got}`);
    }
    if (data.length !== s.size) {
      throw new RangeError(`${where}: data has ${data.length} elements, expected the storage size ${s.size}`);
    }
  }

  /** Meta tensors read as zeros. Reads above META_READ_LIMIT elements throw instead of allocating. */
  async read(storage: Storage): Promise<HostArray> {
    const where = 'meta.read';
    const s = this.#live(where, 'storage', storage);
    if (s.size > META_READ_LIMIT) {
      throw new RangeError(
        `${where}: refusing to read ${s.size} elements (limit ${META_READ_LIMIT}); meta tensors hold no data and ` +
          'read as zeros, so read a small slice instead',
      );
    }
    return hostArrayFor(s.dtype, s.size);
  }

  async sync(): Promise<void> {
    this.#checkUsable('meta.sync');
  }

  /** Makes the backend unusable. Live storages stay counted in the tracker, so leaks remain visible. */
  destroy(): void {
    this.#destroyed = true;
  }

  // --- creation and conversion ---

  fill(out: Storage, value: number): void {
    const where = 'meta.fill';
    this.#live(where, 'out', out);
    if (typeof value !== 'number') throw new TypeError(`${where}: value must be a number, got ${typeof value}`);
  }

  random(out: Storage, params: RandomParams): void {
    const where = 'meta.random';
    checkFloating(where, 'out', this.#live(where, 'out', out));
    if (params.distribution !== 'uniform' && params.distribution !== 'normal') {
      throw new TypeError(
        `${where}: distribution must be 'uniform' or 'normal', got ${JSON.stringify(params.distribution)}`,
      );
    }
    const seed = params.seed as readonly unknown[];
    if (
      !Array.isArray(seed) ||
      seed.length !== 2 ||
      seed.some((w) => !Number.isInteger(w) || (w as number) < 0 || (w as number) > 0xffffffff)
    ) {
      throw new RangeError(`${where}: seed must be two unsigned 32-bit words [low, high], got ${JSON.stringify(seed)}`);
    }
    checkCount(where, 'offset', params.offset);
  }

  cast(x: Storage, out: Storage): void {
    const where = 'meta.cast';
    this.#lives(where, { x, out });
    checkSameSize(where, ['x', 'out'], [x, out]);
  }

  copy(src: Storage, srcView: View, dst: Storage, dstView: View): void {
    const where = 'meta.copy';
    this.#lives(where, { src, dst });
    checkWindow(where, 'srcView', src, srcView.shape, srcView.strides, srcView.offset);
    checkWindow(where, 'dstView', dst, dstView.shape, dstView.strides, dstView.offset);
    if (srcView.shape.length !== dstView.shape.length || srcView.shape.some((d, i) => d !== dstView.shape[i])) {
      throw new RangeError(
        `${where}: srcView shape [${srcView.shape.join(', ')}] differs from dstView shape [${dstView.shape.join(', ')}]`,
      );
    }
  }

  // --- elementwise ---

  unary(op: UnaryOp, x: Storage, out: Storage): void {
    const where = `meta.unary(${String(op)})`;
    checkOp(where, op, UNARY_OPS);
    this.#lives(where, { x, out });
    checkSameSize(where, ['x', 'out'], [x, out]);
  }

  binary(op: BinaryOp, a: Storage, b: Storage, out: Storage, layout: BroadcastLayout): void {
    const where = `meta.binary(${String(op)})`;
    checkOp(where, op, BINARY_OPS);
    this.#lives(where, { a, b, out });
    if (BINARY_OPS[op] === 'comparison') checkDType(where, 'out', out, 'uint8');
    this.#checkBroadcast(where, layout, { a, b, out });
  }

  where(cond: Storage, a: Storage, b: Storage, out: Storage, layout: BroadcastLayout): void {
    const where = 'meta.where';
    this.#lives(where, { cond, a, b, out });
    if (layout.condStrides === undefined) throw new TypeError(`${where}: layout.condStrides is required`);
    this.#checkBroadcast(where, layout, { a, b, out });
    checkWindow(where, 'cond', cond, layout.shape, layout.condStrides, 0);
  }

  // --- reductions ---

  reduce(op: ReduceOp, x: Storage, out: Storage, layout: ReduceLayout): void {
    const where = `meta.reduce(${String(op)})`;
    checkOp(where, op, REDUCE_OPS);
    this.#lives(where, { x, out });
    this.#checkReduce(where, x, out, layout);
  }

  argmax(x: Storage, out: Storage, layout: ReduceLayout): void {
    const where = 'meta.argmax';
    this.#lives(where, { x, out });
    checkDType(where, 'out', out, 'int32');
    this.#checkReduce(where, x, out, layout);
  }

  // --- linear algebra ---

  matmul(a: Storage, b: Storage, out: Storage, params: MatmulParams): void {
    const where = 'meta.matmul';
    this.#lives(where, { a, b, out });
    for (const [name, s] of [
      ['a', a],
      ['b', b],
      ['out', out],
    ] as const)
      checkFloating(where, name, s);
    const batch = checkPositive(where, 'batch', params.batch);
    const m = checkCount(where, 'm', params.m);
    const n = checkCount(where, 'n', params.n);
    const k = checkCount(where, 'k', params.k);
    const aStride = checkCount(where, 'aBatchStride', params.aBatchStride);
    const bStride = checkCount(where, 'bBatchStride', params.bBatchStride);
    // Each input must hold its last batch's matrix; batch strides may be 0 (broadcast).
    const aNeeded = (batch - 1) * aStride + m * k;
    const bNeeded = (batch - 1) * bStride + k * n;
    const aShape = params.transA ? `${k}x${m}` : `${m}x${k}`;
    const bShape = params.transB ? `${n}x${k}` : `${k}x${n}`;
    if (m * k > 0 && a.size < aNeeded) {
      throw new RangeError(
        `${where}: a has ${a.size} elements, but ${batch} batches of ${aShape} at stride ${aStride} need ${aNeeded}`,
      );
    }
    if (k * n > 0 && b.size < bNeeded) {
      throw new RangeError(
        `${where}: b has ${b.size} elements, but ${batch} batches of ${bShape} at stride ${bStride} need ${bNeeded}`,
      );
    }
    checkSize(where, 'out', out, batch * m * n, `batch*m*n (${batch}*${m}*${n})`);
  }

  svd(a: Storage, m: number, n: number, u: Storage, s: Storage, vt: Storage): void {
    const where = 'meta.svd';
    this.#lives(where, { a, u, s, vt });
    checkCount(where, 'm', m);
    checkCount(where, 'n', n);
    for (const [name, st] of [
      ['a', a],
      ['u', u],
      ['s', s],
      ['vt', vt],
    ] as const)
      checkFloating(where, name, st);
    const k = Math.min(m, n);
    checkSize(where, 'a', a, m * n, `m*n (${m}*${n})`);
    checkSize(where, 'u', u, m * k, `m*min(m,n) (${m}*${k})`);
    checkSize(where, 's', s, k, 'min(m,n)');
    checkSize(where, 'vt', vt, k * n, `min(m,n)*n (${k}*${n})`);
  }

  qr(a: Storage, m: number, n: number, q: Storage, r: Storage): void {
    const where = 'meta.qr';
    this.#lives(where, { a, q, r });
    checkCount(where, 'm', m);
    checkCount(where, 'n', n);
    if (m < n) throw new RangeError(`${where}: thin QR needs m >= n, got m=${m}, n=${n}`);
    for (const [name, st] of [
      ['a', a],
      ['q', q],
      ['r', r],
    ] as const)
      checkFloating(where, name, st);
    checkSize(where, 'a', a, m * n, `m*n (${m}*${n})`);
    checkSize(where, 'q', q, m * n, `m*n (${m}*${n})`);
    checkSize(where, 'r', r, n * n, `n*n (${n}*${n})`);
  }

  // --- indexing ---

  gatherRows(table: Storage, ids: Storage, out: Storage, dim: number): void {
    const where = 'meta.gatherRows';
    this.#lives(where, { table, ids, out });
    checkPositive(where, 'dim', dim);
    checkDType(where, 'ids', ids, 'int32');
    this.#checkRowMultiple(where, 'table', table, dim);
    checkSize(where, 'out', out, ids.size * dim, `ids.size*dim (${ids.size}*${dim})`);
  }

  scatterAddRows(src: Storage, ids: Storage, out: Storage, dim: number): void {
    const where = 'meta.scatterAddRows';
    this.#lives(where, { src, ids, out });
    checkPositive(where, 'dim', dim);
    checkDType(where, 'ids', ids, 'int32');
    checkSize(where, 'src', src, ids.size * dim, `ids.size*dim (${ids.size}*${dim})`);
    this.#checkRowMultiple(where, 'out', out, dim);
  }

  // --- fused kernels ---

  softmax(x: Storage, out: Storage, params: SoftmaxParams): void {
    this.#checkSoftmax('meta.softmax', x, out, params);
  }

  logSoftmax(x: Storage, out: Storage, params: SoftmaxParams): void {
    this.#checkSoftmax('meta.logSoftmax', x, out, params);
  }

  softmaxBackward(y: Storage, dy: Storage, dx: Storage, rows: number, cols: number): void {
    this.#checkRowwise('meta.softmaxBackward', { y, dy, dx }, rows, cols);
  }

  logSoftmaxBackward(y: Storage, dy: Storage, dx: Storage, rows: number, cols: number): void {
    this.#checkRowwise('meta.logSoftmaxBackward', { y, dy, dx }, rows, cols);
  }

  crossEntropy(
    logits: Storage,
    targets: Storage,
    loss: Storage,
    rows: number,
    cols: number,
    ignoreIndex: number,
  ): void {
    const where = 'meta.crossEntropy';
    this.#lives(where, { targets, loss });
    this.#checkRowwise(where, { logits }, rows, cols);
    this.#checkTargets(where, targets, rows, ignoreIndex);
    checkFloating(where, 'loss', loss);
    checkSize(where, 'loss', loss, rows, 'rows');
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
    const where = 'meta.crossEntropyBackward';
    this.#lives(where, { targets, dloss });
    this.#checkRowwise(where, { logits, dx }, rows, cols);
    this.#checkTargets(where, targets, rows, ignoreIndex);
    checkFloating(where, 'dloss', dloss);
    checkSize(where, 'dloss', dloss, rows, 'rows');
  }

  rmsNorm(x: Storage, weight: Storage, out: Storage, rstd: Storage, rows: number, cols: number, eps: number): void {
    const where = 'meta.rmsNorm';
    this.#lives(where, { weight, rstd });
    this.#checkRowwise(where, { x, out }, rows, cols);
    checkFloating(where, 'weight', weight);
    checkSize(where, 'weight', weight, cols, 'cols');
    checkFloating(where, 'rstd', rstd);
    checkSize(where, 'rstd', rstd, rows, 'rows');
    if (typeof eps !== 'number' || !(eps >= 0)) throw new RangeError(`${where}: eps must be >= 0, got ${eps}`);
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
    const where = 'meta.rmsNormBackward';
    this.#lives(where, { weight, rstd, dweight });
    this.#checkRowwise(where, { x, dy, dx }, rows, cols);
    checkSize(where, 'weight', weight, cols, 'cols');
    checkSize(where, 'dweight', dweight, cols, 'cols');
    checkSize(where, 'rstd', rstd, rows, 'rows');
  }

  rope(x: Storage, cos: Storage, sin: Storage, out: Storage, params: RopeParams): void {
    const where = 'meta.rope';
    this.#lives(where, { x, cos, sin, out });
    const batch = checkCount(where, 'batch', params.batch);
    const seq = checkCount(where, 'seq', params.seq);
    const heads = checkCount(where, 'heads', params.heads);
    const headDim = checkCount(where, 'headDim', params.headDim);
    if (headDim % 2 !== 0) throw new RangeError(`${where}: headDim must be even, got ${headDim}`);
    const total = batch * seq * heads * headDim;
    const formula = `batch*seq*heads*headDim (${batch}*${seq}*${heads}*${headDim})`;
    for (const [name, s] of [
      ['x', x],
      ['cos', cos],
      ['sin', sin],
      ['out', out],
    ] as const)
      checkFloating(where, name, s);
    checkSize(where, 'x', x, total, formula);
    checkSize(where, 'out', out, total, formula);
    const half = headDim / 2;
    checkSize(where, 'cos', cos, seq * half, `seq*headDim/2 (${seq}*${half})`);
    checkSize(where, 'sin', sin, seq * half, `seq*headDim/2 (${seq}*${half})`);
  }

  siluMul(gate: Storage, up: Storage, out: Storage): void {
    this.#checkElementwise('meta.siluMul', { gate, up, out });
  }

  siluMulBackward(gate: Storage, up: Storage, dy: Storage, dgate: Storage, dup: Storage): void {
    this.#checkElementwise('meta.siluMulBackward', {
      gate,
      up,
      dy,
      dgate,
      dup,
    });
  }

  adamw(param: Storage, grad: Storage, m: Storage, v: Storage, params: AdamWParams): void {
    const where = 'meta.adamw';
    this.#checkElementwise(where, { param, grad, m, v });
    for (const key of ['lr', 'beta1', 'beta2', 'eps', 'weightDecay', 'biasCorrection1', 'biasCorrection2'] as const) {
      if (typeof params[key] !== 'number' || !Number.isFinite(params[key])) {
        throw new TypeError(`${where}: params.${key} must be a finite number, got ${String(params[key])}`);
      }
    }
  }

  quantizeBlockwise(x: Storage, codebook: Storage, codes: Storage, absmax: Storage, params: QuantizeParams): void {
    const where = 'meta.quantizeBlockwise';
    this.#lives(where, { x, codebook, codes, absmax });
    checkFloating(where, 'x', x);
    checkSize(where, 'codes', codes, x.size, 'x.size');
    this.#checkQuantized(where, codebook, codes, absmax, params);
  }

  dequantizeBlockwise(codes: Storage, codebook: Storage, absmax: Storage, out: Storage, params: QuantizeParams): void {
    const where = 'meta.dequantizeBlockwise';
    this.#lives(where, { codes, codebook, absmax, out });
    checkFloating(where, 'out', out);
    checkSize(where, 'out', out, codes.size, 'codes.size');
    this.#checkQuantized(where, codebook, codes, absmax, params);
  }

  // --- shared checks ---

  #checkUsable(where: string): void {
    if (this.#destroyed) throw new Error(`${where}: this meta backend was destroyed`);
  }

  /** The storage must be a live storage of this very backend. */
  #live(where: string, name: string, storage: Storage): MetaStorage {
    this.#checkUsable(where);
    if (!(storage instanceof MetaStorage) || storage.backend !== this) {
      throw new TypeError(`${where}: ${name} must be a storage of this meta backend, got ${describe(storage)}`);
    }
    if (storage.freed) throw new Error(`${where}: ${name} (${describe(storage)}) was already freed`);
    return storage;
  }

  #lives(where: string, storages: Record<string, Storage>): void {
    for (const [name, storage] of Object.entries(storages)) this.#live(where, name, storage);
  }

  #checkBroadcast(where: string, layout: BroadcastLayout, io: { a: Storage; b: Storage; out: Storage }): void {
    if (!Array.isArray(layout.shape)) throw new TypeError(`${where}: layout.shape must be an array`);
    const size = product(layout.shape.map((d, i) => checkCount(where, `layout.shape[${i}]`, d)));
    checkSize(where, 'out', io.out, size, `product of layout.shape [${layout.shape.join(', ')}]`);
    checkWindow(where, 'a', io.a, layout.shape, layout.aStrides, 0);
    checkWindow(where, 'b', io.b, layout.shape, layout.bStrides, 0);
  }

  #checkReduce(where: string, x: Storage, out: Storage, layout: ReduceLayout): void {
    const outer = checkCount(where, 'layout.outer', layout.outer);
    const reduce = checkCount(where, 'layout.reduce', layout.reduce);
    const inner = checkCount(where, 'layout.inner', layout.inner);
    checkSize(where, 'x', x, outer * reduce * inner, `outer*reduce*inner (${outer}*${reduce}*${inner})`);
    checkSize(where, 'out', out, outer * inner, `outer*inner (${outer}*${inner})`);
  }

  #checkRowMultiple(where: string, name: string, storage: Storage, dim: number): void {
    if (storage.size % dim !== 0) {
      throw new RangeError(`${where}: ${name} has ${storage.size} elements, not a whole number of rows of dim ${dim}`);
    }
  }

  /** Floating storages that each hold a contiguous [rows, cols] matrix. */
  #checkRowwise(where: string, storages: Record<string, Storage>, rows: number, cols: number): void {
    this.#lives(where, storages);
    checkCount(where, 'rows', rows);
    checkCount(where, 'cols', cols);
    for (const [name, storage] of Object.entries(storages)) {
      checkFloating(where, name, storage);
      checkSize(where, name, storage, rows * cols, `rows*cols (${rows}*${cols})`);
    }
  }

  #checkSoftmax(where: string, x: Storage, out: Storage, params: SoftmaxParams): void {
    this.#checkRowwise(where, { x, out }, params.rows, params.cols);
    if (params.causal !== undefined) {
      checkPositive(where, 'causal.queryLen', params.causal.queryLen);
      checkInteger(where, 'causal.offset', params.causal.offset);
    }
  }

  #checkTargets(where: string, targets: Storage, rows: number, ignoreIndex: number): void {
    checkDType(where, 'targets', targets, 'int32');
    checkSize(where, 'targets', targets, rows, 'rows');
    checkInteger(where, 'ignoreIndex', ignoreIndex);
  }

  /** Floating storages read and written element by element, all the same size. */
  #checkElementwise(where: string, storages: Record<string, Storage>): void {
    this.#lives(where, storages);
    for (const [name, storage] of Object.entries(storages)) checkFloating(where, name, storage);
    checkSameSize(where, Object.keys(storages), Object.values(storages));
  }

  #checkQuantized(where: string, codebook: Storage, codes: Storage, absmax: Storage, params: QuantizeParams): void {
    const blockSize = checkPositive(where, 'blockSize', params.blockSize);
    checkDType(where, 'codes', codes, 'uint8');
    checkSize(where, 'codebook', codebook, 256, 'one entry per 8-bit code');
    const blocks = Math.ceil(codes.size / blockSize);
    checkSize(where, 'absmax', absmax, blocks, `ceil(size/blockSize) (ceil(${codes.size}/${blockSize}))`);
  }
}

export function createMetaBackend(options: MetaBackendOptions = {}): MetaBackend {
  return new MetaBackend(options);
}
