/**
 * CPU storage: a Storage whose elements live in one host typed array. 16-bit floats are kept as
 * their raw Uint16 bit patterns, exactly as `HostArray` describes them.
 */
import type { Backend } from '../../backend.js';
import { type DType, type HostArray, hostArrayFor } from '../../dtype.js';
import type { MemoryCategory } from '../../memory.js';
import { StorageBase } from '../base.js';
import { giveArray, takeArray } from './buffer-pool.js';

/** The zero-length array a freed storage keeps, one per dtype (it holds nothing to share). */
const EMPTY: { [D in DType]?: HostArray } = {};

export class CpuStorage extends StorageBase {
  #raw: HostArray;

  /** With `uninitialized`, a recycled array keeps its old values (for outputs a kernel overwrites). */
  constructor(backend: Backend, size: number, dtype: DType, category: MemoryCategory, uninitialized = false) {
    super(backend, size, dtype, category);
    this.#raw = takeArray(dtype, size, !uninitialized);
  }

  /** The raw elements; kernels read and write them in place. Throws once the storage is freed. */
  get data(): HostArray {
    if (this.freed) throw new Error(`CPU ${this.describe()} was used after free`);
    return this.#raw;
  }

  /** Drops the elements so the host memory is reclaimable even while the handle is still referenced. */
  override markFreed(): void {
    super.markFreed();
    giveArray(this.dtype, this.#raw);
    this.#raw = EMPTY[this.dtype] ??= hostArrayFor(this.dtype, 0);
  }
}
