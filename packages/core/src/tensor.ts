/**
 * Tensor: a reference-counted storage handle plus shape and dtype. Storage is always contiguous;
 * reshape shares it, every other view is a copy kernel. Values are read asynchronously.
 */

import { type BackwardOptions, runBackward } from './autograd/backward.js';
import { GradNode } from './autograd/node.js';
import type { Backend, Storage } from './backend.js';
import { type DType, isFloating, toNumberArray } from './dtype.js';
import { currentCategory, isGradEnabled, keep, setTensorCheck, trackTensor } from './engine.js';
import { formatTensor } from './format.js';
import * as ops from './ops/index.js';
import { contiguousStrides, formatShape, type Shape, shapesEqual, sizeOf } from './shape.js';

export type NumberArray = Float32Array | Float64Array | Int32Array | Uint8Array;

/** Shared between tensors that view the same storage (reshape, retained autograd copies). */
class StorageRef {
  refs = 1;
  constructor(readonly storage: Storage) {}
}

let nextTensorId = 0;

export class Tensor {
  readonly id = nextTensorId++;
  readonly shape: readonly number[];
  readonly dtype: DType;
  /** Number of elements (the product of the shape). */
  readonly size: number;
  /** Set on leaves whose gradient should be accumulated in `grad`. */
  requiresGrad = false;
  /** Accumulated gradient of a leaf after `backward()`. */
  grad: Tensor | null = null;
  /** The op that produced this tensor, when it was recorded for autograd. */
  gradFn: GradNode | null = null;
  /** Optional name (parameters carry their Hugging Face name). */
  name?: string;
  private ref: StorageRef | null;
  /**
   * A lazy transpose of the last two axes of `source`: matmul reads it through its transpose flag;
   * any other use materialises it once with a copy kernel.
   */
  private lazySource: Tensor | null = null;
  private gradReadyHooks: ((t: Tensor) => void)[] | undefined;

  /** `tracked`: whether the innermost tidy scope disposes it (handles autograd keeps are not). */
  private constructor(ref: StorageRef | null, shape: Shape, dtype: DType, tracked = true) {
    this.ref = ref;
    this.shape = Object.freeze([...shape]);
    this.size = sizeOf(this.shape);
    this.dtype = dtype;
    if (tracked) trackTensor(this);
  }

  /** A tensor that reads as `source` with its last two axes swapped, copied only when needed. */
  static lazyTranspose(source: Tensor): Tensor {
    const shape = [...source.shape];
    const r = shape.length;
    [shape[r - 2], shape[r - 1]] = [shape[r - 1]!, shape[r - 2]!];
    const t = new Tensor(null, shape, source.dtype);
    t.lazySource = source.retain();
    return t;
  }

  /**
   * @internal How matmul reads this tensor: the storage, and whether it holds the transpose
   * (last two axes swapped) of this tensor's shape.
   */
  matmulOperand(): { storage: Storage; transposed: boolean } {
    if (this.lazySource) return { storage: this.lazySource.storage, transposed: true };
    return { storage: this.storage, transposed: false };
  }

  /** @internal The tensor a lazy transpose reads, if this is one. */
  get transposeOf(): Tensor | null {
    return this.lazySource;
  }

  private materialize(): StorageRef {
    const source = this.lazySource!;
    const backend = source.backend;
    const r = this.shape.length;
    const srcStrides = contiguousStrides(source.shape);
    [srcStrides[r - 2], srcStrides[r - 1]] = [srcStrides[r - 1]!, srcStrides[r - 2]!];
    const out = backend.alloc(this.size, this.dtype, currentCategory());
    backend.run(
      'copy',
      { src: source.storage, dst: out },
      {
        srcView: { shape: this.shape, strides: srcStrides, offset: 0 },
        dstView: {
          shape: this.shape,
          strides: contiguousStrides(this.shape),
          offset: 0,
        },
      },
    );
    source.dispose();
    this.lazySource = null;
    this.ref = new StorageRef(out);
    return this.ref;
  }

  /** Wraps a freshly allocated storage (the tensor takes ownership). */
  static fromStorage(storage: Storage, shape: Shape): Tensor {
    if (sizeOf(shape) !== storage.size) {
      throw new Error(`internal: storage of ${storage.size} elements cannot hold shape ${formatShape(shape)}`);
    }
    return new Tensor(new StorageRef(storage), shape, storage.dtype);
  }

  // --- storage and lifetime ---

  get storage(): Storage {
    if (this.ref) return this.ref.storage;
    if (this.lazySource) return this.materialize().storage;
    throw new Error(`Tensor ${formatShape(this.shape)} ${this.dtype} was used after dispose()`);
  }

  get backend(): Backend {
    if (this.lazySource) return this.lazySource.backend;
    return this.storage.backend;
  }

  get rank(): number {
    return this.shape.length;
  }

  get isDisposed(): boolean {
    return this.ref === null && this.lazySource === null;
  }

  get isLeaf(): boolean {
    return this.gradFn === null;
  }

  /**
   * @internal True when this handle is the only one on its storage (no reshape, detach or saved
   * copy shares it, and it is no lazy transpose): writing the storage in place changes no other
   * tensor. Autograd uses it to accumulate gradients it alone holds without a new tensor.
   */
  get ownsStorageAlone(): boolean {
    return this.ref !== null && this.ref.refs === 1 && this.lazySource === null;
  }

  /** A new tensor sharing this storage with another shape (no copy, no autograd). */
  shareAs(shape: Shape): Tensor {
    return this.share(shape, true);
  }

  private share(shape: Shape, tracked: boolean): Tensor {
    if (this.lazySource && !this.ref) this.materialize();
    const ref = this.ref;
    if (!ref) throw new Error(`Tensor ${formatShape(this.shape)} was used after dispose()`);
    ref.refs++;
    return new Tensor(ref, shape, this.dtype, tracked);
  }

  /** Another handle on the same storage, kept alive until it is disposed (used by autograd). */
  retain(): Tensor {
    if (this.lazySource && !this.ref) return keep(Tensor.lazyTranspose(this.lazySource));
    // Untracked from the start: no tidy scope adds it only for keep to take it out again.
    return this.share(this.shape, false);
  }

  /** Frees this handle; the storage is freed when its last handle goes. Idempotent. */
  dispose(): void {
    if (this.isDisposed) return;
    // The graph behind this output dies with its last handle (see GradNode.dropRef).
    this.gradFn?.dropRef();
    if (this.lazySource) {
      this.lazySource.dispose();
      this.lazySource = null;
    }
    const ref = this.ref;
    if (!ref) return;
    this.ref = null;
    if (--ref.refs === 0) ref.storage.backend.free(ref.storage);
  }

  // --- reading values ---

  /** Downloads the values (Float32Array for 16-bit floats). */
  async data(): Promise<NumberArray> {
    return toNumberArray(this.dtype, await this.backend.read(this.storage));
  }

  /** Synchronous read, on backends that compute on the host (CPU). */
  dataSync(): NumberArray {
    const b = this.backend;
    if (!b.readSync) throw new Error(`dataSync: the ${b.name} backend reads asynchronously; use await tensor.data()`);
    return toNumberArray(this.dtype, b.readSync(this.storage));
  }

  async item(): Promise<number> {
    this.assertScalar('item');
    return (await this.data())[0]!;
  }

  itemSync(): number {
    this.assertScalar('itemSync');
    return this.dataSync()[0]!;
  }

  /** Nested JavaScript arrays of the values, like torch's tolist(). */
  async tolist(): Promise<unknown> {
    return nest(await this.data(), this.shape);
  }

  toString(): string {
    const b = this.isDisposed ? undefined : this.backend;
    const values = b?.readSync && b.computes ? this.dataSync() : undefined;
    return formatTensor(this, values);
  }

  private assertScalar(where: string): void {
    if (this.size !== 1)
      throw new Error(`${where}: expected a tensor with one element, got shape ${formatShape(this.shape)}`);
  }

  // --- autograd ---

  /** Marks a leaf as requiring gradients (in place, returns this). */
  requiresGrad_(flag = true): this {
    if (!this.isLeaf) throw new Error('requiresGrad_: only leaf tensors can change requiresGrad; use detach() first');
    if (flag && !isFloating(this.dtype))
      throw new Error(`requiresGrad_: only floating tensors can require grad, got ${this.dtype}`);
    this.requiresGrad = flag;
    return this;
  }

  /** Runs backpropagation from this tensor; `grad` defaults to 1 for a one-element tensor. */
  backward(grad?: Tensor, options?: BackwardOptions): void {
    if (!this.requiresGrad) {
      throw new Error('backward: this tensor does not require grad (no input of the graph had requiresGrad set)');
    }
    let seed: Tensor;
    if (grad) {
      if (!shapesEqual(grad.shape, this.shape)) {
        throw new Error(`backward: grad has shape ${formatShape(grad.shape)}, expected ${formatShape(this.shape)}`);
      }
      seed = grad.retain();
    } else {
      if (this.size !== 1) {
        throw new Error(
          `backward: grad can be implicit only for a one-element tensor, got shape ${formatShape(this.shape)}`,
        );
      }
      seed = keep(ops.onesLike(this));
    }
    runBackward(this, seed, options);
  }

  /** Drops the accumulated gradient. */
  zeroGrad(): void {
    this.grad?.dispose();
    this.grad = null;
  }

  /** A tensor sharing storage with this one, cut from the graph. */
  detach(): Tensor {
    return this.shareAs(this.shape);
  }

  /**
   * Registers `hook`, called once per backward pass as soon as this leaf's gradient is complete
   * (every path into it has contributed). Per-layer optimizer updates step the parameter here.
   * Returns a function that removes the hook.
   */
  onGradReady(hook: (t: Tensor) => void): () => void {
    if (!this.isLeaf) throw new Error('onGradReady: hooks are for leaf tensors (parameters)');
    this.gradReadyHooks ??= [];
    this.gradReadyHooks.push(hook);
    return () => {
      this.gradReadyHooks = this.gradReadyHooks?.filter((h) => h !== hook);
    };
  }

  /** @internal Called by the backward pass. */
  fireGradReady(): void {
    if (!this.grad) return;
    for (const hook of this.gradReadyHooks ?? []) hook(this);
  }

  /** @internal Attaches the op that produced this tensor. */
  setGradFn(node: GradNode): void {
    if (this.gradFn) throw new Error('internal: a tensor can be the output of one recorded op only');
    node.addRef();
    this.gradFn = node;
    this.requiresGrad = true;
  }

  // --- method forms of the ops (PyTorch names) ---

  add(other: Tensor | number): Tensor {
    return ops.add(this, other);
  }
  sub(other: Tensor | number): Tensor {
    return ops.sub(this, other);
  }
  mul(other: Tensor | number): Tensor {
    return ops.mul(this, other);
  }
  div(other: Tensor | number): Tensor {
    return ops.div(this, other);
  }
  pow(other: Tensor | number): Tensor {
    return ops.pow(this, other);
  }
  maximum(other: Tensor | number): Tensor {
    return ops.maximum(this, other);
  }
  minimum(other: Tensor | number): Tensor {
    return ops.minimum(this, other);
  }
  eq(other: Tensor | number): Tensor {
    return ops.eq(this, other);
  }
  ne(other: Tensor | number): Tensor {
    return ops.ne(this, other);
  }
  lt(other: Tensor | number): Tensor {
    return ops.lt(this, other);
  }
  le(other: Tensor | number): Tensor {
    return ops.le(this, other);
  }
  gt(other: Tensor | number): Tensor {
    return ops.gt(this, other);
  }
  ge(other: Tensor | number): Tensor {
    return ops.ge(this, other);
  }
  neg(): Tensor {
    return ops.neg(this);
  }
  exp(): Tensor {
    return ops.exp(this);
  }
  log(): Tensor {
    return ops.log(this);
  }
  sqrt(): Tensor {
    return ops.sqrt(this);
  }
  rsqrt(): Tensor {
    return ops.rsqrt(this);
  }
  abs(): Tensor {
    return ops.abs(this);
  }
  sigmoid(): Tensor {
    return ops.sigmoid(this);
  }
  silu(): Tensor {
    return ops.silu(this);
  }
  tanh(): Tensor {
    return ops.tanh(this);
  }
  relu(): Tensor {
    return ops.relu(this);
  }
  square(): Tensor {
    return ops.square(this);
  }
  sum(axis?: number | readonly number[], keepdim = false): Tensor {
    return ops.sum(this, axis, keepdim);
  }
  mean(axis?: number | readonly number[], keepdim = false): Tensor {
    return ops.mean(this, axis, keepdim);
  }
  max(axis?: number | readonly number[], keepdim = false): Tensor {
    return ops.max(this, axis, keepdim);
  }
  min(axis?: number | readonly number[], keepdim = false): Tensor {
    return ops.min(this, axis, keepdim);
  }
  argmax(axis?: number, keepdim = false): Tensor {
    return ops.argmax(this, axis, keepdim);
  }
  norm(p: 'fro' | 2 = 'fro', axis?: number | readonly number[], keepdim = false): Tensor {
    return ops.norm(this, p, axis, keepdim);
  }
  reshape(...shape: number[] | [readonly number[]]): Tensor {
    return ops.reshape(this, flatArgs(shape));
  }
  view(...shape: number[] | [readonly number[]]): Tensor {
    return ops.reshape(this, flatArgs(shape));
  }
  flatten(): Tensor {
    return ops.reshape(this, [this.size]);
  }
  unsqueeze(axis: number): Tensor {
    return ops.unsqueeze(this, axis);
  }
  squeeze(axis?: number): Tensor {
    return ops.squeeze(this, axis);
  }
  transpose(dim0 = -2, dim1 = -1): Tensor {
    return ops.transpose(this, dim0, dim1);
  }
  /** Transpose of the last two axes. */
  get T(): Tensor {
    return ops.transpose(this, -2, -1);
  }
  permute(...axes: number[] | [readonly number[]]): Tensor {
    return ops.permute(this, flatArgs(axes));
  }
  narrow(axis: number, start: number, length: number): Tensor {
    return ops.narrow(this, axis, start, length);
  }
  slice(axis: number, start: number, end?: number): Tensor {
    return ops.slice(this, axis, start, end);
  }
  expand(...shape: number[] | [readonly number[]]): Tensor {
    return ops.expand(this, flatArgs(shape));
  }
  contiguous(): Tensor {
    return ops.clone(this);
  }
  clone(): Tensor {
    return ops.clone(this);
  }
  matmul(other: Tensor): Tensor {
    return ops.matmul(this, other);
  }
  to(dtype: DType): Tensor {
    return ops.cast(this, dtype);
  }
  float(): Tensor {
    return ops.cast(this, 'float32');
  }
  double(): Tensor {
    return ops.cast(this, 'float64');
  }
  softmax(axis = -1): Tensor {
    return ops.softmax(this, axis);
  }
  logSoftmax(axis = -1): Tensor {
    return ops.logSoftmax(this, axis);
  }
}

function flatArgs(args: number[] | [readonly number[]]): number[] {
  return Array.isArray(args[0]) ? [...(args[0] as readonly number[])] : (args as number[]);
}

function nest(values: ArrayLike<number>, shape: Shape): unknown {
  if (shape.length === 0) return values[0];
  const [first, ...rest] = shape;
  const stride = sizeOf(rest);
  const out: unknown[] = [];
  for (let i = 0; i < first!; i++) {
    out.push(nest(Array.prototype.slice.call(values, i * stride, (i + 1) * stride) as number[], rest));
  }
  return out;
}

export function isTensor(v: unknown): v is Tensor {
  return v instanceof Tensor;
}

setTensorCheck(isTensor);

/** Records `out` as produced by an op, when grad mode is on and any input requires grad. */
export function recordOp(
  name: string,
  out: Tensor,
  inputs: readonly Tensor[],
  saved: readonly Tensor[],
  backward: ConstructorParameters<typeof GradNode>[3],
): Tensor {
  if (isGradEnabled() && inputs.some((t) => t.requiresGrad)) {
    out.setGradFn(new GradNode(name, inputs, saved, backward));
  }
  return out;
}
