/** A Storage whose elements live in one block of the addon's caching allocator. */
import type { Backend, DType, MemoryCategory, Storage } from '@galore-ts/core';
import { DTYPE_BYTES } from '@galore-ts/core';

let nextStorageId = 1;

export class CudaStorage implements Storage {
  readonly id = nextStorageId++;
  readonly byteLength: number;
  private currentCategory: MemoryCategory;
  private released = false;

  constructor(
    readonly backend: Backend,
    readonly size: number,
    readonly dtype: DType,
    category: MemoryCategory,
    /** The addon's handle for the device block; 0 for an empty storage, which owns no memory. */
    readonly handle: number,
  ) {
    this.byteLength = size * DTYPE_BYTES[dtype];
    this.currentCategory = category;
  }

  get category(): MemoryCategory {
    return this.currentCategory;
  }

  get freed(): boolean {
    return this.released;
  }

  /** Called by the backend only, which also tells the tracker. */
  setCategory(category: MemoryCategory): void {
    this.currentCategory = category;
  }

  markFreed(): void {
    this.released = true;
  }
}
