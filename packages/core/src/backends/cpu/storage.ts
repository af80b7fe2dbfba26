/**
 * CPU storage: a Storage whose elements live in one host typed array. 16-bit floats are kept as
 * their raw Uint16 bit patterns, exactly as `HostArray` describes them.
 */
import type { Backend, Storage } from '../../backend.js';
import { DTYPE_BYTES, type DType, type HostArray, hostArrayFor } from '../../dtype.js';
import type { MemoryCategory } from '../../memory.js';
import { giveArray, takeArray } from './buffer-pool.js';

let nextStorageId = 1;

export class CpuStorage implements Storage {
  readonly id = nextStorageId++;
  readonly byteLength: number;
  private raw: HostArray;
  private currentCategory: MemoryCategory;
  private isFreed = false;

  constructor(
    readonly backend: Backend,
    readonly size: number,
    readonly dtype: DType,
    category: MemoryCategory,
  ) {
    this.byteLength = size * DTYPE_BYTES[dtype];
    this.raw = takeArray(dtype, size);
    this.currentCategory = category;
  }

  /** The raw elements; kernels read and write them in place. Throws once the storage is freed. */
  get data(): HostArray {
    if (this.isFreed) throw new Error(`CpuStorage #${this.id} (${this.dtype}[${this.size}]) was used after free`);
    return this.raw;
  }

  get category(): MemoryCategory {
    return this.currentCategory;
  }

  get freed(): boolean {
    return this.isFreed;
  }

  /** Called by the backend only, which also tells the tracker. */
  setCategory(category: MemoryCategory): void {
    this.currentCategory = category;
  }

  /** Drops the elements so the host memory is reclaimable even while the handle is still referenced. */
  markFreed(): void {
    this.isFreed = true;
    giveArray(this.dtype, this.raw);
    this.raw = hostArrayFor(this.dtype, 0);
  }
}
